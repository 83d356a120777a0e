//! Fault injection: rules, switched on and off at run time through the
//! admin API, that make matching requests fail the ways real networks and
//! real Palette do.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status instead of running the handler; with 429 or
    /// 503, `retry_after_secs` sets the Retry-After header.
    Status {
        status: u16,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Run the handler after this delay.
    Latency { millis: u64 },
    /// Close the connection without a complete response.
    Drop,
    /// Run the handler (the change happens) but never answer.
    NoAnswer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Matches this HTTP method only, when set.
    #[serde(default)]
    pub method: Option<String>,
    /// Matches request paths starting with this prefix.
    pub path_prefix: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Applies to this many matching requests, then expires; forever when unset.
    #[serde(default)]
    pub count: Option<u32>,
    /// Applies to each matching request with this probability (0..=1),
    /// drawn from a generator seeded with `seed`, so runs are repeatable.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug)]
struct Active {
    id: u64,
    rule: FaultRule,
    rng: u64,
}

/// The active rules, in the order they were added; the first that matches
/// and fires wins.
#[derive(Debug, Default)]
pub struct Faults {
    next_id: u64,
    rules: Vec<Active>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) -> u64 {
        self.next_id += 1;
        let rng = rule.seed ^ 0x9e37_79b9_7f4a_7c15;
        self.rules.push(Active {
            id: self.next_id,
            rule,
            rng,
        });
        self.next_id
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|a| a.id != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<(u64, FaultRule)> {
        self.rules.iter().map(|a| (a.id, a.rule.clone())).collect()
    }

    /// The fault to apply to a request, if any, consuming one use of it.
    pub fn pick(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let mut fired = None;
        for (i, a) in self.rules.iter_mut().enumerate() {
            let r = &a.rule;
            if !path.starts_with(&r.path_prefix)
                || r.method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                continue;
            }
            if let Some(p) = r.probability {
                a.rng = splitmix(a.rng);
                let draw = (a.rng >> 11) as f64 / (1u64 << 53) as f64;
                if draw >= p {
                    continue;
                }
            }
            fired = Some(i);
            break;
        }
        let i = fired?;
        let kind = self.rules[i].rule.kind.clone();
        if let Some(n) = self.rules[i].rule.count.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(kind)
    }
}

/// One step of SplitMix64: a small, well-distributed, seedable generator.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How long a NoAnswer request is held: far beyond any client timeout.
pub const NO_ANSWER_HOLD: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, kind: FaultKind) -> FaultRule {
        FaultRule {
            method: None,
            path_prefix: prefix.into(),
            kind,
            count: None,
            probability: None,
            seed: 0,
        }
    }

    #[test]
    fn counted_rules_expire() {
        let mut f = Faults::default();
        f.add(FaultRule {
            count: Some(2),
            ..rule("/v1/overlords", FaultKind::Drop)
        });
        assert_eq!(f.pick("GET", "/v1/overlords/x"), Some(FaultKind::Drop));
        assert_eq!(f.pick("GET", "/v1/users/info"), None);
        assert_eq!(f.pick("GET", "/v1/overlords"), Some(FaultKind::Drop));
        assert_eq!(f.pick("GET", "/v1/overlords"), None);
        assert!(f.list().is_empty());
    }

    #[test]
    fn method_filter_and_order() {
        let mut f = Faults::default();
        let first = f.add(FaultRule {
            method: Some("POST".into()),
            ..rule("/v1", FaultKind::NoAnswer)
        });
        f.add(rule("/v1", FaultKind::Latency { millis: 5 }));
        assert_eq!(f.pick("POST", "/v1/x"), Some(FaultKind::NoAnswer));
        assert_eq!(
            f.pick("GET", "/v1/x"),
            Some(FaultKind::Latency { millis: 5 })
        );
        assert!(f.remove(first));
        assert_eq!(
            f.pick("POST", "/v1/x"),
            Some(FaultKind::Latency { millis: 5 })
        );
    }

    #[test]
    fn seeded_probability_is_repeatable_and_roughly_right() {
        let draw = |seed| {
            let mut f = Faults::default();
            f.add(FaultRule {
                probability: Some(0.3),
                seed,
                ..rule("/", FaultKind::Drop)
            });
            (0..1000)
                .map(|_| f.pick("GET", "/a").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let hits = draw(7).iter().filter(|h| **h).count();
        assert!((230..370).contains(&hits), "{hits}");
    }

    #[test]
    fn rules_read_from_json() {
        let r: FaultRule = serde_json::from_str(
            r#"{"path_prefix":"/v1/overlords","kind":"status","status":429,"retry_after_secs":2,"count":3}"#,
        )
        .unwrap();
        assert_eq!(
            r.kind,
            FaultKind::Status {
                status: 429,
                retry_after_secs: Some(2)
            }
        );
        assert_eq!(r.count, Some(3));
    }
}
