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
