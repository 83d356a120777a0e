//! Call counting for tests: every request is counted by `METHOD /path`
//! (the `count_calls` middleware in lib.rs), and `GET /lab/calls?match=`
//! sums the counts a pattern fits.
//!
//! A pattern is `METHOD /path`: METHOD is a method name or `*` (any), and in
//! the path a `*` segment stands for any one segment and a final `**` for
//! whatever follows (nothing included). `PATCH /v1/spectroclusters/*/profiles`
//! counts the pack-value changes of every cluster; `PUT /v1/**` every PUT.
//!
//! A pattern that no route the lab serves fits is refused (400) rather than
//! counted as 0: a test asserting "0 calls" to a path the lab has not got
//! would pass whatever the client does. The routes come from the same table
//! that builds the router ([`routes!`]), so the two cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::Lab;

/// Builds a router from lines `path => get(handler).post(other);` and lists
/// the `(METHOD, path template)` pairs it serves.
macro_rules! routes {
    ($($path:expr => $($method:ident($handler:expr)).+;)+) => {{
        let router = ::axum::Router::new()
            $(.route($path, ::axum::routing::MethodRouter::new()$(.$method($handler))+))+;
        let served: Vec<(String, String)> = vec![
            $($((stringify!($method).to_ascii_uppercase(), String::from($path))),+),+
        ];
        (router, served)
    }};
}
pub(crate) use routes;

/// The routes a pattern is checked against, as [`routes!`] listed them.
#[derive(Clone, Debug)]
pub struct Served(pub Arc<[(String, String)]>);

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Literal(String),
    /// `*`: any one segment.
    One,
    /// `**`, last only: the rest of the path.
    Rest,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// None for `*`.
    method: Option<String>,
    segments: Vec<Segment>,
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let (method, path) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{text:?} is not `METHOD /path`"))?;
        if !path.starts_with('/') || path.contains(['?', ' ']) {
            return Err(format!(
                "{text:?}: the path must start with / and hold no query or space"
            ));
        }
        let method = match method {
            "*" => None,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => Some(m.to_string()),
            m => {
                return Err(format!(
                    "{text:?}: {m:?} is neither `*` nor an upper-case method"
                ))
            }
        };
        let raw = segments(path);
        let mut segs = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            segs.push(match *s {
                "*" => Segment::One,
                "**" if i + 1 == raw.len() => Segment::Rest,
                "**" => return Err(format!("{text:?}: `**` may only end the path")),
                s if s.contains('*') => {
                    return Err(format!(
                        "{text:?}: `*` stands for a whole segment, not part of one"
                    ))
                }
                s => Segment::Literal(s.to_string()),
            });
        }
        Ok(Pattern {
            method,
            segments: segs,
        })
    }

    fn method_fits(&self, method: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
    }

    /// Whether some request this pattern fits would reach `template`
    /// (`{name}` segments take any value).
    fn fits_route(&self, method: &str, template: &str) -> bool {
        self.method_fits(method)
            && self.fits_segments(&segments(template), |t, s| {
                t == s || (t.starts_with('{') && t.ends_with('}'))
            })
    }

    /// Whether this pattern fits a request to `path`.
    fn fits_call(&self, method: &str, path: &str) -> bool {
        self.method_fits(method) && self.fits_segments(&segments(path), |p, s| p == s)
    }

    fn fits_segments(&self, path: &[&str], literal: impl Fn(&str, &str) -> bool) -> bool {
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Rest => return true,
                Segment::One if i < path.len() && !path[i].is_empty() => {}
                Segment::Literal(l) if i < path.len() && literal(path[i], l) => {}
                _ => return false,
            }
        }
        path.len() == self.segments.len()
    }
}

/// The calls `pattern` fits, or why the pattern is refused.
pub fn count(
    pattern: &str,
    served: &[(String, String)],
    calls: &BTreeMap<String, u64>,
) -> Result<u64, String> {
    let p = Pattern::parse(pattern)?;
    if !served.iter().any(|(m, t)| p.fits_route(m, t)) {
        let mut near: Vec<String> = served
            .iter()
            .filter(|(m, _)| p.method_fits(m))
            .map(|(m, t)| format!("{m} {t}"))
            .collect();
        near.sort();
        return Err(format!(
            "{pattern:?} fits no route the lab serves, so it would count 0 whatever happens; \
             routes for that method:\n  {}",
            near.join("\n  ")
        ));
    }
    Ok(calls
        .iter()
        .filter(|(key, _)| {
            key.split_once(' ')
                .is_some_and(|(m, path)| p.fits_call(m, path))
        })
        .map(|(_, n)| n)
        .sum())
}

#[derive(Deserialize)]
pub struct CallsQuery {
    #[serde(rename = "match")]
    pattern: Option<String>,
}

/// Without `match`: every count by `METHOD /path`. With it: `{"count": n}`.
pub async fn admin_calls(
    State(lab): State<Lab>,
    Extension(served): Extension<Served>,
    Query(q): Query<CallsQuery>,
) -> Response {
    let calls = lab.calls.lock().expect("calls lock").clone();
    match q.pattern {
        None => Json(json!(calls)).into_response(),
        Some(p) => match count(&p, &served.0, &calls) {
            Ok(n) => Json(json!({ "match": p, "count": n })).into_response(),
            Err(e) => ApiError::bad_request(e).into_response(),
        },
    }
}

pub async fn admin_reset_calls(State(lab): State<Lab>) -> StatusCode {
    lab.calls.lock().expect("calls lock").clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<(String, String)> {
        [
            ("GET", "/v1/spectroclusters/{uid}"),
            ("DELETE", "/v1/spectroclusters/{uid}"),
            ("PATCH", "/v1/spectroclusters/{uid}/profiles"),
            ("POST", "/v1/spectroclusters/vsphere"),
            ("POST", "/v1/spectroclusters/vsphere/validate"),
        ]
        .iter()
        .map(|(m, t)| (m.to_string(), t.to_string()))
        .collect()
    }

    fn calls() -> BTreeMap<String, u64> {
        [
            ("GET /v1/spectroclusters/a", 2),
            ("GET /v1/spectroclusters/b", 3),
            ("PATCH /v1/spectroclusters/a/profiles", 1),
            ("POST /v1/spectroclusters/vsphere", 1),
            ("POST /v1/spectroclusters/vsphere/validate", 4),
        ]
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect()
    }

    fn n(p: &str) -> Result<u64, String> {
        count(p, &served(), &calls())
    }

    #[test]
    fn a_pattern_sums_the_calls_it_fits() {
        assert_eq!(n("GET /v1/spectroclusters/*"), Ok(5));
        assert_eq!(n("GET /v1/spectroclusters/a"), Ok(2));
        assert_eq!(n("POST /v1/spectroclusters/vsphere"), Ok(1));
        assert_eq!(n("POST /v1/spectroclusters/**"), Ok(5));
        assert_eq!(n("* /v1/spectroclusters/*/profiles"), Ok(1));
        assert_eq!(n("* /v1/**"), Ok(11));
        assert_eq!(n("DELETE /v1/spectroclusters/*"), Ok(0));
    }

    #[test]
    fn a_pattern_no_route_fits_is_refused() {
        for p in [
            "PATCH /v1/spectroclusters",
            "PATCH /v1/spectroclusters/*",
            "GET /v1/spectroclusters",
            "GET /v1/clusters/**",
            "PUT /v1/**",
            "GET /v1/spectroclusters/*/profiles",
        ] {
            let e = n(p).expect_err(p);
            assert!(e.contains("fits no route"), "{p}: {e}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for p in [
            "/v1/spectroclusters",
            "get /v1/spectroclusters/*",
            "GET v1/spectroclusters",
            "GET /v1/spectro*",
            "GET /v1/**/profiles",
            "GET /v1/spectroclusters/a?x=1",
        ] {
            assert!(n(p).is_err(), "{p}");
        }
    }
}
