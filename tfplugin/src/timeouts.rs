//! The conventional `timeouts { create = "40m" ... }` block.

use std::time::Duration;

use crate::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::validate::check;
use crate::value::Value;

/// A `timeouts` block with one optional duration per operation, each
/// documented with its default.
pub fn block(ops: &[(&str, Duration)]) -> NestedBlock {
    let mut b = Block::new().description("Time limits of the resource's operations.");
    for (op, default) in ops {
        b = b.attr(
            Attribute::string(op)
                .optional()
                .description(format!(
                    "How long {op} may take, as a duration such as `30m` or `1h30m`. Defaults to `{}`.",
                    show(*default)
                ))
                .validator(check("must be a duration such as `30m`", |v: &Value| {
                    crate::duration::parse(v.as_str().unwrap_or_default()).map(|_| ())
                })),
        );
    }
    NestedBlock::new("timeouts", Nesting::Single, b)
}

/// The configured limit for `op` from the resource's object, or `default`.
pub fn get(resource: &Value, op: &str, default: Duration) -> Duration {
    resource
        .get("timeouts")
        .get(op)
        .as_str()
        .and_then(|s| crate::duration::parse(s).ok())
        .unwrap_or(default)
}

fn show(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_value_wins_over_default() {
        let r = Value::object([(
            "timeouts",
            Value::object([("create", Value::from("45m")), ("delete", Value::Null)]),
        )]);
        assert_eq!(
            get(&r, "create", Duration::from_secs(60)),
            Duration::from_secs(2700)
        );
        assert_eq!(
            get(&r, "delete", Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        assert_eq!(
            get(&Value::Null, "create", Duration::from_secs(5)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn defaults_read_naturally() {
        assert_eq!(show(Duration::from_secs(2400)), "40m");
        assert_eq!(show(Duration::from_secs(5400)), "1h30m");
        let b = block(&[("create", Duration::from_secs(2400))]);
        assert!(b.block.attributes[0]
            .description
            .contains("Defaults to `40m`"));
    }
}
