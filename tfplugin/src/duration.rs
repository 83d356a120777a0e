//! Durations written the way Terraform users write them ("90s", "1h30m",
//! "500ms"), as in `timeouts` blocks.

use std::time::Duration;

/// Parses a Go-style duration: a sequence of number+unit pairs, units
/// `ms`, `s`, `m`, `h`. A bare `0` is zero.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(
            "a duration must not be empty; write for example \"30s\", \"10m\" or \"1h30m\"".into(),
        );
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad(s));
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| bad(s))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad(s)),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(number * secs_per_unit).map_err(|_| bad(s))?;
    }
    Ok(total)
}

fn bad(s: &str) -> String {
    format!("{s:?} is not a duration; write a number and a unit (ms, s, m, h), for example \"30s\", \"10m\" or \"1h30m\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terraform_style_durations() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        for bad in ["", "10", "m", "10 minutes", "-5s", "5d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
