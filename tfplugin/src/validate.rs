//! Common validators and the walk that runs them over a configuration.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::diag::{AttrPath, Diagnostic, Diagnostics};
use crate::schema::{Attribute, Block, Nesting, Validator};
use crate::value::Value;

/// The value must be one of the given strings.
pub struct OneOf(pub Vec<String>);

pub fn one_of<I, S>(values: I) -> OneOf
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    OneOf(values.into_iter().map(Into::into).collect())
}

impl Validator for OneOf {
    fn description(&self) -> String {
        format!("must be one of {}", list(&self.0))
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.0.iter().any(|x| x == s) {
                diags.error_at(
                    path.clone(),
                    "Invalid value",
                    format!("{s:?} is not valid here: {}.", self.description()),
                );
            }
        }
    }
}

/// The value must be one of the given integers.
pub struct IntOneOf(pub Vec<i64>);

impl Validator for IntOneOf {
    fn description(&self) -> String {
        format!("must be one of {}", list(&self.0))
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        match value.as_i64() {
            Some(n) if self.0.contains(&n) => {}
            _ => diags.error_at(
                path.clone(),
                "Invalid value",
                format!("{} is not valid here: {}.", show(value), self.description()),
            ),
        }
    }
}

/// An integer in an inclusive range.
pub struct IntBetween(pub i64, pub i64);

impl Validator for IntBetween {
    fn description(&self) -> String {
        format!("must be a whole number from {} to {}", self.0, self.1)
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        match value.as_i64() {
            Some(n) if (self.0..=self.1).contains(&n) => {}
            _ => diags.error_at(
                path.clone(),
                "Value out of range",
                format!("{} is not valid here: {}.", show(value), self.description()),
            ),
        }
    }
}

/// A string that must not be empty or only white space.
pub struct NotBlank;

impl Validator for NotBlank {
    fn description(&self) -> String {
        "must not be empty".into()
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if value.as_str().is_some_and(|s| s.trim().is_empty()) {
            diags.error_at(
                path.clone(),
                "Empty value",
                "This attribute must not be empty.",
            );
        }
    }
}

/// Where a URL, or a bare `host[:port]`, carries a `user[:password]@` part:
/// the byte range of that part (without the `@`). Found by hand rather than
/// by a URL parser so that values no parser accepts (`user:pw@vc:443`) are
/// caught too; the last `@` before the path ends it, as in URL parsers.
pub fn userinfo(s: &str) -> Option<std::ops::Range<usize>> {
    let start = match s.find("://") {
        Some(i) if !s[..i].contains(['/', '?', '#', '@']) => i + 3,
        _ => 0,
    };
    let authority = &s[start..];
    let end = authority
        .find(['/', '?', '#', '\\'])
        .unwrap_or(authority.len());
    authority[..end].rfind('@').map(|at| start..start + at)
}

/// `s` up to the end of its host and port, with any `user[:password]`
/// replaced by `***`: what an error may show of a value that carried
/// credentials. Nothing after the host is shown, as a path or query may
/// carry a token too.
pub fn redact_userinfo(s: &str) -> String {
    let Some(range) = userinfo(s) else {
        return s.to_string();
    };
    let rest = &s[range.end..];
    let host_end = rest[1..]
        .find(['/', '?', '#', '\\'])
        .map_or(rest.len(), |i| i + 1);
    format!("{}***{}", &s[..range.start], &rest[..host_end])
}

/// A URL (or `host[:port]`) without `user[:password]@`: credentials there
/// would be kept in the plan, the state and error text, none of which is
/// treated as secret. The error names the attribute and an example of a
/// valid value, and shows the value with its credentials masked.
pub struct NoUserinfo {
    pub example: String,
}

pub fn no_userinfo(example: impl Into<String>) -> NoUserinfo {
    NoUserinfo {
        example: example.into(),
    }
}

impl NoUserinfo {
    /// The detail of the error for `s`, or `None` when it has no userinfo.
    pub fn check(&self, s: &str) -> Result<(), String> {
        match userinfo(s) {
            None => Ok(()),
            Some(_) => Err(format!(
                "The value carries a user name or password before `@` ({}). Credentials in an address \
                 would be kept in the plan, the state and error messages; write the address alone, for \
                 example `{}`, and give credentials only in attributes meant for them.",
                redact_userinfo(s),
                self.example
            )),
        }
    }
}

impl Validator for NoUserinfo {
    fn description(&self) -> String {
        format!(
            "must be an address without `user:password@`, such as `{}`",
            self.example
        )
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if let Some(Err(detail)) = value.as_str().map(|s| self.check(s)) {
            diags.error_at(path.clone(), "Credentials in an address", detail);
        }
    }
}

/// Every element of a list or set must pass `inner`; each bad element is
/// reported at its own index (`nameservers[1]`), so the user sees which one.
/// Unknown and null elements wait for apply, as whole values do.
pub struct Each<V>(pub V);

pub fn each<V: Validator>(inner: V) -> Each<V> {
    Each(inner)
}

impl<V: Validator> Validator for Each<V> {
    fn description(&self) -> String {
        format!("each element {}", self.0.description())
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        for (i, v) in value.as_elements().into_iter().flatten().enumerate() {
            if v.is_known() && !v.is_null() {
                self.0.validate(v, &path.then_index(i), diags);
            }
        }
    }
}

/// A validator from a closure returning `Err(detail)` for a bad value.
pub struct FnValidator<F> {
    description: String,
    check: F,
}

pub fn check<F>(description: impl Into<String>, check: F) -> FnValidator<F>
where
    F: Fn(&Value) -> Result<(), String> + Send + Sync,
{
    FnValidator {
        description: description.into(),
        check,
    }
}

impl<F> Validator for FnValidator<F>
where
    F: Fn(&Value) -> Result<(), String> + Send + Sync,
{
    fn description(&self) -> String {
        self.description.clone()
    }
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics) {
        if let Err(detail) = (self.check)(value) {
            diags.error_at(path.clone(), "Invalid value", detail);
        }
    }
}

fn list<T: Display>(xs: &[T]) -> String {
    xs.iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Runs every attribute's validators over a configuration, and warns where a
/// deprecated attribute is set. Unknown values are skipped: Terraform calls
/// validation again once they are known.
pub fn validate_config(block: &Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    walk_block(block, config, &AttrPath::root(), &mut diags);
    diags
}

fn walk_block(block: &Block, obj: &Value, path: &AttrPath, diags: &mut Diagnostics) {
    let Some(map) = obj.as_map() else { return };
    walk_attrs(&block.attributes, map, path, diags);
    for nb in &block.blocks {
        let v = map.get(&nb.name).unwrap_or(&Value::Null);
        let p = path.then_attr(&nb.name);
        for_each_element(nb.nesting, v, &p, |elem, ep| {
            walk_block(&nb.block, elem, ep, diags)
        });
    }
}

fn walk_attrs(
    attrs: &[Attribute],
    map: &BTreeMap<String, Value>,
    path: &AttrPath,
    diags: &mut Diagnostics,
) {
    for a in attrs {
        let v = map.get(&a.name).unwrap_or(&Value::Null);
        let p = path.then_attr(&a.name);
        if v.is_null() || v.is_unknown() {
            continue;
        }
        if let Some(why) = &a.deprecated {
            diags.push(Diagnostic::warning("Deprecated attribute", why.clone()).at(p.clone()));
        }
        for val in &a.validators {
            val.validate(v, &p, diags);
        }
        if let Some(n) = &a.nested {
            for_each_element(n.nesting, v, &p, |elem, ep| {
                if let Some(m) = elem.as_map() {
                    walk_attrs(&n.attributes, m, ep, diags)
                }
            });
        }
    }
}

/// Calls `f` for each known object of a nested block or nested attribute.
pub(crate) fn for_each_element(
    nesting: Nesting,
    v: &Value,
    path: &AttrPath,
    mut f: impl FnMut(&Value, &AttrPath),
) {
    match (nesting, v) {
        (_, Value::Null | Value::Unknown) => {}
        (Nesting::Single | Nesting::Group, obj) => f(obj, path),
        (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
            for (i, item) in items.iter().enumerate() {
                f(item, &path.then_index(i));
            }
        }
        (Nesting::Map, Value::Map(m)) => {
            for (k, item) in m {
                f(item, &path.then_key(k));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};

    #[test]
    fn each_reports_the_bad_elements_at_their_index() {
        let v = each(OneOf(vec!["a".into(), "b".into()]));
        assert_eq!(v.description(), "each element must be one of `a`, `b`");
        let mut d = Diagnostics::new();
        let list = Value::List(vec![
            Value::from("a"),
            Value::from("x"),
            Value::Unknown,
            Value::Null,
            Value::from("y"),
        ]);
        v.validate(&list, &AttrPath::attr("names"), &mut d);
        let paths: Vec<_> = d.iter().map(|x| x.attribute.clone()).collect();
        assert_eq!(
            paths,
            vec![
                Some(AttrPath::attr("names").then_index(1)),
                Some(AttrPath::attr("names").then_index(4))
            ]
        );
        let mut none = Diagnostics::new();
        v.validate(&Value::Unknown, &AttrPath::attr("names"), &mut none);
        v.validate(&Value::Null, &AttrPath::attr("names"), &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn userinfo_is_found_with_or_without_a_scheme() {
        for (s, want) in [
            ("https://user:pw@vc.example.com/sdk", Some("user:pw")),
            ("user:pw@vc.example.com:443", Some("user:pw")),
            ("http://u@proxy:3128", Some("u")),
            ("https://a@b:p@c@host", Some("a@b:p@c")),
            ("https://vc.example.com/path@x", None),
            ("https://vc.example.com?q=a@b", None),
            ("vc.example.com", None),
            ("http://proxy.example.com:3128", None),
            ("https://user:pw@host\\@evil", Some("user:pw")),
        ] {
            assert_eq!(userinfo(s).map(|r| &s[r]), want, "{s}");
        }
    }

    #[test]
    fn the_error_shows_no_credentials() {
        let v = no_userinfo("vcenter.example.com");
        for s in [
            "https://admin:hunter2@vc.example.com/sdk?token=t0k",
            "admin:hunter2@vc.example.com",
            "https://hunter2@vc.example.com",
        ] {
            let e = v.check(s).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(!e.contains("admin"), "{e}");
            assert!(!e.contains("t0k"), "{e}");
            assert!(e.contains("***@vc.example.com"), "{e}");
            assert!(e.contains("`vcenter.example.com`"), "{e}");
        }
        assert!(v.check("https://vc.example.com").is_ok());
        let mut d = Diagnostics::new();
        v.validate(
            &Value::String("u:p@h".into()),
            &AttrPath::attr("server"),
            &mut d,
        );
        assert_eq!(d.0[0].attribute.as_ref().unwrap().to_string(), "server");
    }

    #[test]
    fn validators_report_paths_inside_blocks() {
        let block = Block::new().block(NestedBlock::new(
            "pool",
            Nesting::List,
            Block::new().attr(
                Attribute::number("count")
                    .optional()
                    .validator(IntOneOf(vec![1, 3, 5])),
            ),
        ));
        let cfg = Value::object([(
            "pool",
            Value::List(vec![
                Value::object([("count", Value::int(3))]),
                Value::object([("count", Value::int(2))]),
                Value::object([("count", Value::Unknown)]),
            ]),
        )]);
        let d = validate_config(&block, &cfg);
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(
            d.0[0].attribute.as_ref().unwrap().to_string(),
            "pool[1].count"
        );
        assert!(d.0[0].detail.contains("`1`, `3`, `5`"));
    }
}
