//! The JSON Schema walk that checks one value against the spec's definitions.

use super::*;

// ---------------------------------------------------------------- validator

/// Which way a value travels: deviations for answers do not excuse
/// requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Side {
    Request,
    Response,
}

/// One walk of values against schemas, gathering "json.path: what" for
/// each problem and the deviations it needed.
pub(super) struct Walk<'a> {
    pub(super) defs: &'a Map<String, Value>,
    pub(super) problems: Vec<String>,
    pub(super) used: BTreeSet<&'static str>,
}

/// Checks a response value `v` against a Swagger 2.0 schema, as much of
/// it as the Palette spec uses, pushing "json.path: what" for each problem.
pub fn validate(
    defs: &Map<String, Value>,
    schema: &Value,
    v: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    let mut walk = Walk::new(defs);
    walk.value(schema, v, at, Side::Response);
    problems.extend(walk.problems);
}

impl<'a> Walk<'a> {
    pub(super) fn new(defs: &'a Map<String, Value>) -> Walk<'a> {
        Walk {
            defs,
            problems: Vec::new(),
            used: BTreeSet::new(),
        }
    }

    pub(super) fn value(&mut self, schema: &Value, v: &Value, at: &str, side: Side) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/definitions/").unwrap_or_default();
            let defs = self.defs;
            match defs.get(name) {
                Some(def) => match self.relaxed(name, def, v, side) {
                    Some(relaxed) => self.value(&relaxed, v, at, side),
                    None => self.value(def, v, at, side),
                },
                None => self
                    .problems
                    .push(format!("{at}: the spec's {r} cannot be resolved")),
            }
            return;
        }
        if v.is_null() {
            // go-swagger writes nil for these rather than leaving them out.
            let nullable = schema["x-nullable"] == true || schema["x-omitempty"] == false;
            if !nullable {
                self.problems
                    .push(format!("{at}: null where the spec does not allow it"));
            }
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(v) {
                self.problems.push(format!(
                    "{at}: {v} is not one of {}",
                    Value::from(allowed.clone())
                ));
            }
        }
        let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
            (schema.get("properties").is_some() || schema.get("additionalProperties").is_some())
                .then_some("object")
        });
        match ty {
            Some("object") => self.object(schema, v, at, side),
            Some("array") => {
                let Some(items) = v.as_array() else {
                    return self
                        .problems
                        .push(format!("{at}: {} where the spec has an array", kind(v)));
                };
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item_schema, item, &format!("{at}[{i}]"), side);
                    }
                }
                if schema["uniqueItems"] == true {
                    for (i, item) in items.iter().enumerate() {
                        if items[..i].contains(item) {
                            self.problems
                                .push(format!("{at}[{i}]: a repeated item where items are unique"));
                        }
                    }
                }
            }
            Some("string") => match v.as_str() {
                None => self
                    .problems
                    .push(format!("{at}: {} where the spec has a string", kind(v))),
                Some(s) => {
                    if schema["format"] == "date-time" && !is_rfc3339(s) {
                        self.problems
                            .push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
                    }
                }
            },
            Some("integer") => {
                let Some(n) = v.as_number() else {
                    return self
                        .problems
                        .push(format!("{at}: {} where the spec has an integer", kind(v)));
                };
                let text = n.to_string();
                let Ok(i) = text.parse::<i128>() else {
                    return self
                        .problems
                        .push(format!("{at}: {text} is not an integer"));
                };
                let range = match schema["format"].as_str() {
                    Some("int8") => Some((i8::MIN as i128, i8::MAX as i128)),
                    Some("int32") => Some((i32::MIN as i128, i32::MAX as i128)),
                    Some("int64") => Some((i64::MIN as i128, i64::MAX as i128)),
                    _ => None,
                };
                if let Some((lo, hi)) = range {
                    if i < lo || i > hi {
                        self.problems
                            .push(format!("{at}: {i} is out of {} range", schema["format"]));
                    }
                }
                self.bounds(schema, v, at);
            }
            Some("number") => {
                if v.is_number() {
                    self.bounds(schema, v, at);
                } else {
                    self.problems
                        .push(format!("{at}: {} where the spec has a number", kind(v)));
                }
            }
            Some("boolean") if !v.is_boolean() => self
                .problems
                .push(format!("{at}: {} where the spec has a boolean", kind(v))),
            Some("boolean") => {}
            Some(other) => self
                .problems
                .push(format!("{at}: the spec's type {other:?} is not understood")),
            // No type and no structure: any value.
            None => {}
        }
    }

    /// `def` as the deviations for it have an answer need it, noting the
    /// ones that `v` needs; `None` when none applies.
    pub(super) fn relaxed(
        &mut self,
        name: &str,
        def: &Value,
        v: &Value,
        side: Side,
    ) -> Option<Value> {
        if side != Side::Response {
            return None;
        }
        let mut relaxed: Option<Value> = None;
        for d in DEVIATIONS {
            let Departure::WriteOnly {
                definition,
                property,
            } = d.what
            else {
                continue;
            };
            let absent = v.as_object().is_some_and(|o| !o.contains_key(property));
            let required = def["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == property));
            if definition == name && absent && required {
                self.used.insert(d.name);
                let def = relaxed.get_or_insert_with(|| def.clone());
                if let Some(req) = def.get_mut("required").and_then(Value::as_array_mut) {
                    req.retain(|f| f != property);
                }
            }
        }
        relaxed
    }

    pub(super) fn object(&mut self, schema: &Value, v: &Value, at: &str, side: Side) {
        let Some(obj) = v.as_object() else {
            return self
                .problems
                .push(format!("{at}: {} where the spec has an object", kind(v)));
        };
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    self.problems
                        .push(format!("{at}.{name}: required, and missing"));
                }
            }
        }
        let extra = schema.get("additionalProperties");
        for (key, value) in obj {
            let here = format!("{at}.{key}");
            match (props.and_then(|p| p.get(key)), extra) {
                (Some(s), _) => self.value(s, value, &here, side),
                (None, Some(Value::Bool(false))) => self
                    .problems
                    .push(format!("{here}: not a property of this object in the spec")),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(s)) => self.value(s, value, &here, side),
                // Without properties an object is free-form.
                (None, None) if props.is_none() => {}
                (None, None) => self
                    .problems
                    .push(format!("{here}: not a property of this object in the spec")),
            }
        }
    }

    /// `minimum` and `maximum`, with Swagger 2.0's boolean exclusive flags.
    pub(super) fn bounds(&mut self, schema: &Value, v: &Value, at: &str) {
        let Some(x) = v.as_f64() else {
            return;
        };
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if schema["exclusiveMinimum"] == true && x <= min {
                self.problems
                    .push(format!("{at}: {x} is not above the minimum {min}"));
            } else if x < min {
                self.problems
                    .push(format!("{at}: {x} is below the minimum {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if schema["exclusiveMaximum"] == true && x >= max {
                self.problems
                    .push(format!("{at}: {x} is not below the maximum {max}"));
            } else if x > max {
                self.problems
                    .push(format!("{at}: {x} is above the maximum {max}"));
            }
        }
    }

    /// A path or query parameter given as `raw` (more than one value only
    /// for a `multi` array), typed as the spec declares it, then checked
    /// like any value.
    pub(super) fn param(&mut self, param: &Value, raw: &[&str], at: &str) {
        let is_array = param["type"] == "array";
        let format = param["collectionFormat"].as_str().unwrap_or("csv");
        if raw.len() > 1 && !(is_array && format == "multi") {
            return self.problems.push(format!(
                "{at}: given {} times where the spec takes one value",
                raw.len()
            ));
        }
        let typed = if is_array {
            let sep = match format {
                "ssv" => Some(' '),
                "tsv" => Some('\t'),
                "pipes" => Some('|'),
                "multi" => None,
                _ => Some(','),
            };
            let parts: Vec<&str> = match sep {
                Some(sep) => raw.iter().flat_map(|r| r.split(sep)).collect(),
                None => raw.to_vec(),
            };
            parts
                .iter()
                .map(|p| typed_param(&param["items"], p))
                .collect::<Result<Vec<Value>, String>>()
                .map(Value::from)
        } else {
            typed_param(param, raw.first().copied().unwrap_or_default())
        };
        match typed {
            Ok(v) => self.value(param, &v, at, Side::Request),
            Err(e) => self.problems.push(format!("{at}: {e}")),
        }
    }
}

/// A parameter's text as the JSON value of its declared type.
pub(super) fn typed_param(schema: &Value, raw: &str) -> Result<Value, String> {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{raw:?} where the spec has an integer")),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{raw:?} where the spec has a number")),
        Some("boolean") => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{raw:?} where the spec has a boolean")),
        },
        _ => Ok(Value::String(raw.to_string())),
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `2024-05-01T10:00:00Z`, with optional fraction and a `Z` or `±hh:mm`.
pub(super) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] => {
            b.len() == i + 6
                && digits(i + 1..i + 3)
                && b[i + 3] == b':'
                && digits(i + 4..i + 6)
                && num(i + 1..i + 3) <= 23
                && num(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}
