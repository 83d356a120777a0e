//! Wire encodings of values: msgpack (DynamicValue) and JSON (raw state).
//!
//! Both are type-directed, as in Terraform: the same bytes mean different
//! things for different schema types (a msgpack array is a list, a set or a
//! tuple), so every call takes the type it decodes to or encodes from.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use crate::value::{Number, Type, Value};

/// msgpack extension code Terraform uses for a plain unknown value. Refined
/// unknowns use other codes; any extension decodes as unknown.
const UNKNOWN_EXT: i8 = 0;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("msgpack: {0}")]
    Msgpack(String),
    #[error("json: {0}")]
    Json(String),
    #[error("at {path}: expected {expected}, found {found}")]
    Mismatch {
        path: String,
        expected: String,
        found: String,
    },
}

/// How much of an offending value an error quotes, in characters.
const FOUND_CHARS: usize = 80;

fn mismatch(path: &str, expected: &Type, found: impl std::fmt::Debug) -> CodecError {
    let found = debug_prefix(&found, FOUND_CHARS);
    CodecError::Mismatch {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.into()
        },
        expected: expected.to_string(),
        found,
    }
}

/// The first `max` characters of `value`'s Debug text. Cut on a character
/// boundary (a byte cut panics inside a multi-byte character), and the
/// formatting stops there, so a huge bad value costs no huge allocation.
fn debug_prefix(value: &impl std::fmt::Debug, max: usize) -> String {
    struct Bounded {
        out: String,
        left: usize,
    }
    impl std::fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if self.left == 0 {
                    // Ends the formatting early; the error is dropped below.
                    return Err(std::fmt::Error);
                }
                self.out.push(c);
                self.left -= 1;
            }
            Ok(())
        }
    }
    let mut w = Bounded {
        out: String::new(),
        left: max,
    };
    let _ = std::fmt::write(&mut w, format_args!("{value:?}"));
    w.out
}

// ---------------------------------------------------------------- msgpack

pub fn to_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mp = encode_mp(v, ty, "")?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| CodecError::Msgpack(e.to_string()))?;
    Ok(out)
}

pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut rd = bytes;
    let mp = rmpv::decode::read_value(&mut rd).map_err(|e| CodecError::Msgpack(e.to_string()))?;
    if !rd.is_empty() {
        return Err(CodecError::Msgpack(format!("{} trailing bytes", rd.len())));
    }
    decode_mp(&mp, ty, "")
}

fn number_to_mp(n: &Number) -> Mp {
    if let Some(i) = n.as_i64() {
        return Mp::from(i);
    }
    if let Some(u) = n.as_u64() {
        return Mp::from(u);
    }
    if let Some(f) = n.as_f64() {
        if Number::try_from(f).ok().as_ref() == Some(n) {
            return Mp::F64(f);
        }
    }
    // Beyond what int64 or float64 can hold exactly: Terraform accepts the
    // decimal text, which keeps every digit.
    Mp::from(n.as_str())
}

fn encode_mp(v: &Value, ty: &Type, path: &str) -> Result<Mp, CodecError> {
    match v {
        Value::Null => return Ok(Mp::Nil),
        Value::Unknown => return Ok(Mp::Ext(UNKNOWN_EXT, vec![0])),
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, Value::Dynamic(t, inner)) => Ok(Mp::Array(vec![
            Mp::Binary(t.to_json_bytes()),
            encode_mp(inner, t, path)?,
        ])),
        (Type::Dynamic, other) => {
            let t = other.infer_type();
            Ok(Mp::Array(vec![
                Mp::Binary(t.to_json_bytes()),
                encode_mp(other, &t, path)?,
            ]))
        }
        (t, Value::Dynamic(_, inner)) => encode_mp(inner, t, path),
        (Type::String, Value::String(s)) => Ok(Mp::from(s.as_str())),
        (Type::Number, Value::Number(n)) => Ok(number_to_mp(n)),
        (Type::Bool, Value::Bool(b)) => Ok(Mp::Boolean(*b)),
        (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => Ok(Mp::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| encode_mp(x, et, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Tuple(ets), Value::Tuple(items)) if ets.len() == items.len() => Ok(Mp::Array(
            items
                .iter()
                .zip(ets)
                .enumerate()
                .map(|(i, (x, t))| encode_mp(x, t, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Map(et), Value::Map(m)) => Ok(Mp::Map(
            m.iter()
                .map(|(k, x)| {
                    Ok((
                        Mp::from(k.as_str()),
                        encode_mp(x, et, &format!("{path}[{k:?}]"))?,
                    ))
                })
                .collect::<Result<_, CodecError>>()?,
        )),
        (Type::Object(attrs), Value::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(mismatch(
                    &format!("{path}.{extra}"),
                    ty,
                    "attribute not in schema",
                ));
            }
            Ok(Mp::Map(
                attrs
                    .iter()
                    .map(|(k, t)| {
                        let x = m.get(k).unwrap_or(&Value::Null);
                        Ok((Mp::from(k.as_str()), encode_mp(x, t, &join(path, k))?))
                    })
                    .collect::<Result<_, CodecError>>()?,
            ))
        }
        _ => Err(mismatch(path, ty, v)),
    }
}

/// Wraps decoded elements as the list or set `ty` says they are.
fn list_or_set(ty: &Type, vals: Vec<Value>) -> Value {
    if matches!(ty, Type::List(_)) {
        Value::List(vals)
    } else {
        Value::Set(vals)
    }
}

fn join(path: &str, attr: &str) -> String {
    if path.is_empty() {
        attr.to_string()
    } else {
        format!("{path}.{attr}")
    }
}

fn mp_str(mp: &Mp) -> Option<&str> {
    match mp {
        Mp::String(s) => s.as_str(),
        Mp::Binary(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

fn decode_mp(mp: &Mp, ty: &Type, path: &str) -> Result<Value, CodecError> {
    match mp {
        Mp::Nil => return Ok(Value::Null),
        Mp::Ext(_, _) => return Ok(Value::Unknown),
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let parts = match mp {
                Mp::Array(a) if a.len() == 2 => a,
                other => return Err(mismatch(path, ty, other)),
            };
            let tjson = match &parts[0] {
                Mp::Binary(b) => b.as_slice(),
                Mp::String(s) => s.as_bytes(),
                other => return Err(mismatch(path, ty, other)),
            };
            let t = Type::from_json_bytes(tjson).map_err(CodecError::Msgpack)?;
            let inner = decode_mp(&parts[1], &t, path)?;
            Ok(match inner {
                Value::Null | Value::Unknown => inner,
                v => Value::Dynamic(t, Box::new(v)),
            })
        }
        Type::String => match mp_str(mp) {
            Some(s) => Ok(Value::String(s.to_string())),
            None => Err(mismatch(path, ty, mp)),
        },
        Type::Bool => mp
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| mismatch(path, ty, mp)),
        Type::Number => {
            let n = match mp {
                Mp::Integer(i) => {
                    if let Some(x) = i.as_i64() {
                        Some(Number::from(x))
                    } else {
                        i.as_u64().map(Number::from)
                    }
                }
                Mp::F64(f) => Number::try_from(*f).ok(),
                Mp::F32(f) => Number::try_from(*f as f64).ok(),
                other => mp_str(other).and_then(Number::parse),
            };
            n.map(Value::Number).ok_or_else(|| mismatch(path, ty, mp))
        }
        Type::List(et) | Type::Set(et) => {
            let items = mp.as_array().ok_or_else(|| mismatch(path, ty, mp))?;
            let vals = items
                .iter()
                .enumerate()
                .map(|(i, x)| decode_mp(x, et, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(list_or_set(ty, vals))
        }
        Type::Tuple(ets) => {
            let items = mp
                .as_array()
                .filter(|a| a.len() == ets.len())
                .ok_or_else(|| mismatch(path, ty, mp))?;
            Ok(Value::Tuple(
                items
                    .iter()
                    .zip(ets)
                    .enumerate()
                    .map(|(i, (x, t))| decode_mp(x, t, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Type::Map(et) => {
            let entries = mp.as_map().ok_or_else(|| mismatch(path, ty, mp))?;
            let mut m = BTreeMap::new();
            for (k, x) in entries {
                let k = mp_str(k).ok_or_else(|| mismatch(path, ty, k))?;
                m.insert(k.to_string(), decode_mp(x, et, &format!("{path}[{k:?}]"))?);
            }
            Ok(Value::Map(m))
        }
        Type::Object(attrs) => {
            let entries = mp.as_map().ok_or_else(|| mismatch(path, ty, mp))?;
            let mut m: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, x) in entries {
                let k = mp_str(k).ok_or_else(|| mismatch(path, ty, k))?;
                let t = attrs
                    .get(k)
                    .ok_or_else(|| mismatch(&join(path, k), ty, "unexpected attribute"))?;
                m.insert(k.to_string(), decode_mp(x, t, &join(path, k))?);
            }
            Ok(Value::Object(m))
        }
    }
}

// ---------------------------------------------------------------- JSON

pub fn to_json(v: &Value, ty: &Type) -> Result<serde_json::Value, CodecError> {
    use serde_json::Value as J;
    Ok(match (ty, v) {
        (_, Value::Null) => J::Null,
        (_, Value::Unknown) => {
            return Err(CodecError::Json(
                "unknown values cannot be stored as JSON".into(),
            ))
        }
        (Type::Dynamic, other) => {
            let (t, inner) = match other {
                Value::Dynamic(t, inner) => (t.clone(), inner.as_ref()),
                x => (x.infer_type(), x),
            };
            serde_json::json!({ "value": to_json(inner, &t)?, "type": t.to_json() })
        }
        (t, Value::Dynamic(_, inner)) => to_json(inner, t)?,
        (Type::String, Value::String(s)) => J::String(s.clone()),
        (Type::Bool, Value::Bool(b)) => J::Bool(*b),
        (Type::Number, Value::Number(n)) => J::Number(
            n.as_str()
                .parse::<serde_json::Number>()
                .map_err(|e| CodecError::Json(e.to_string()))?,
        ),
        (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => J::Array(
            items
                .iter()
                .map(|x| to_json(x, et))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Tuple(ets), Value::Tuple(items)) if ets.len() == items.len() => J::Array(
            items
                .iter()
                .zip(ets)
                .map(|(x, t)| to_json(x, t))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Map(et), Value::Map(m)) => J::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), to_json(x, et)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Type::Object(attrs), Value::Object(m)) => J::Object(
            attrs
                .iter()
                .map(|(k, t)| Ok((k.clone(), to_json(m.get(k).unwrap_or(&Value::Null), t)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        _ => return Err(mismatch("", ty, v)),
    })
}

/// Options for reading JSON state written by an older schema.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonOptions {
    /// Drop object attributes the type does not have (attributes removed
    /// from the schema since the state was written) instead of failing.
    pub ignore_undefined_attributes: bool,
}

pub fn from_json(j: &serde_json::Value, ty: &Type, opts: JsonOptions) -> Result<Value, CodecError> {
    from_json_at(j, ty, opts, "")
}

fn from_json_at(
    j: &serde_json::Value,
    ty: &Type,
    opts: JsonOptions,
    path: &str,
) -> Result<Value, CodecError> {
    use serde_json::Value as J;
    if j.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Dynamic => {
            let o = j.as_object().ok_or_else(|| mismatch(path, ty, j))?;
            let t = Type::from_json(
                o.get("type")
                    .ok_or_else(|| mismatch(path, ty, "missing type"))?,
            )
            .map_err(CodecError::Json)?;
            let inner = from_json_at(o.get("value").unwrap_or(&J::Null), &t, opts, path)?;
            Ok(if inner.is_null() {
                inner
            } else {
                Value::Dynamic(t, Box::new(inner))
            })
        }
        // Terraform itself is lenient here (state written by hand, or by an
        // older SDK, sometimes quotes numbers and booleans).
        Type::String => match j {
            J::String(s) => Ok(Value::String(s.clone())),
            J::Number(n) => Ok(Value::String(n.to_string())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch(path, ty, j)),
        },
        Type::Number => {
            let text = match j {
                J::Number(n) => n.to_string(),
                J::String(s) => s.clone(),
                _ => return Err(mismatch(path, ty, j)),
            };
            Number::parse(&text)
                .map(Value::Number)
                .ok_or_else(|| mismatch(path, ty, j))
        }
        Type::Bool => match j {
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::String(s) if s == "true" => Ok(Value::Bool(true)),
            J::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(mismatch(path, ty, j)),
        },
        Type::List(et) | Type::Set(et) => {
            let a = j.as_array().ok_or_else(|| mismatch(path, ty, j))?;
            let vals = a
                .iter()
                .enumerate()
                .map(|(i, x)| from_json_at(x, et, opts, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(list_or_set(ty, vals))
        }
        Type::Tuple(ets) => {
            let a = j
                .as_array()
                .filter(|a| a.len() == ets.len())
                .ok_or_else(|| mismatch(path, ty, j))?;
            Ok(Value::Tuple(
                a.iter()
                    .zip(ets)
                    .enumerate()
                    .map(|(i, (x, t))| from_json_at(x, t, opts, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Type::Map(et) => {
            let o = j.as_object().ok_or_else(|| mismatch(path, ty, j))?;
            Ok(Value::Map(
                o.iter()
                    .map(|(k, x)| {
                        Ok((
                            k.clone(),
                            from_json_at(x, et, opts, &format!("{path}[{k:?}]"))?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            ))
        }
        Type::Object(attrs) => {
            let o = j.as_object().ok_or_else(|| mismatch(path, ty, j))?;
            let mut m: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, x) in o {
                match attrs.get(k) {
                    Some(t) => {
                        m.insert(k.clone(), from_json_at(x, t, opts, &join(path, k))?);
                    }
                    None if opts.ignore_undefined_attributes => {}
                    None => return Err(mismatch(&join(path, k), ty, "unsupported attribute")),
                }
            }
            Ok(Value::Object(m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unknown_is_fixext1_zero() {
        assert_eq!(
            to_msgpack(&Value::Unknown, &Type::String).unwrap(),
            vec![0xd4, 0, 0]
        );
        // Terraform's refined unknowns (other extension codes, payloads) are unknown too.
        assert_eq!(
            from_msgpack(&[0xd5, 12, 0x81, 0x01], &Type::String).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn big_numbers_keep_every_digit() {
        let n = Value::Number(
            Number::parse("123456789012345678901234567890.000000000000000001").unwrap(),
        );
        let b = to_msgpack(&n, &Type::Number).unwrap();
        assert_eq!(from_msgpack(&b, &Type::Number).unwrap(), n);
        let j = to_json(&n, &Type::Number).unwrap();
        assert_eq!(
            j.to_string(),
            "123456789012345678901234567890.000000000000000001"
        );
        assert_eq!(
            from_json(&j, &Type::Number, JsonOptions::default()).unwrap(),
            n
        );
    }

    #[test]
    fn numbers_use_compact_forms_when_exact() {
        assert_eq!(to_msgpack(&Value::int(5), &Type::Number).unwrap(), vec![5]);
        let half = Value::Number(Number::parse("0.5").unwrap());
        assert_eq!(to_msgpack(&half, &Type::Number).unwrap()[0], 0xcb);
    }

    #[test]
    fn object_missing_attributes_decode_as_null_and_extra_fail() {
        let ty = Type::object([("a", Type::String), ("b", Type::Bool)]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::Map(vec![(Mp::from("a"), Mp::from("x"))]))
            .unwrap();
        let v = from_msgpack(&buf, &ty).unwrap();
        assert_eq!(
            v,
            Value::object([("a", Value::from("x")), ("b", Value::Null)])
        );
        let j = serde_json::json!({"a": "x", "gone": 1});
        assert!(from_json(&j, &ty, JsonOptions::default()).is_err());
        let v2 = from_json(
            &j,
            &ty,
            JsonOptions {
                ignore_undefined_attributes: true,
            },
        )
        .unwrap();
        assert_eq!(v2, v);
    }

    #[test]
    fn dynamic_carries_its_type() {
        let v = Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::List(vec!["a".into()])),
        );
        let b = to_msgpack(&v, &Type::Dynamic).unwrap();
        assert_eq!(from_msgpack(&b, &Type::Dynamic).unwrap(), v);
        let j = to_json(&v, &Type::Dynamic).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"value": ["a"], "type": ["list", "string"]})
        );
    }

    fn msgpack_string(text: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::from(text)).unwrap();
        bytes
    }

    #[test]
    fn a_mismatch_quoting_multibyte_text_is_an_error_not_a_panic() {
        // Three-byte characters after 0, 1 or 2 ASCII ones: whatever the
        // Debug text's prefix, one of them straddles byte 80.
        for pad in 0..3 {
            let text = format!("{}{}", "a".repeat(pad), "\u{20ac}".repeat(60));
            let e = from_msgpack(&msgpack_string(&text), &Type::Bool).unwrap_err();
            let CodecError::Mismatch { found, .. } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(found.chars().count(), FOUND_CHARS, "{found}");
            let j = serde_json::Value::String(text);
            assert!(from_json(&j, &Type::Number, JsonOptions::default()).is_err());
        }
    }

    #[test]
    fn numbers_with_huge_exponents_are_errors_not_panics() {
        for text in [
            "1e999999999",
            "1e-9223372036854775808",
            "-1e-9223372036854775808",
            "1e9223372036854775807",
            "1e99999999999999999999999",
        ] {
            assert!(
                from_msgpack(&msgpack_string(text), &Type::Number).is_err(),
                "{text}"
            );
            let j: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(
                from_json(&j, &Type::Number, JsonOptions::default()).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn type_mismatch_names_the_path() {
        let ty = Type::object([("a", Type::list(Type::Number))]);
        let v = Value::object([("a", Value::List(vec![Value::from("x")]))]);
        let e = to_msgpack(&v, &ty).unwrap_err();
        assert!(e.to_string().contains("a[0]"), "{e}");
    }

    fn arb_type() -> impl Strategy<Value = Type> {
        let leaf = prop_oneof![
            Just(Type::String),
            Just(Type::Number),
            Just(Type::Bool),
            Just(Type::Dynamic)
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                prop::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4)
                    .prop_map(Type::Object),
                prop::collection::vec(inner, 0..4).prop_map(Type::Tuple),
            ]
        })
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<u64>().prop_map(Number::from),
            any::<f64>().prop_filter_map("finite", |f| Number::try_from(f).ok()),
            "-?[0-9]{1,40}(\\.[0-9]{1,30})?".prop_filter_map("parse", |s| Number::parse(&s)),
        ]
    }

    /// A value of the given type; `wrap_dynamic` marks values at dynamic
    /// positions with a concrete type, as the decoder does.
    fn arb_value(ty: Type) -> BoxedStrategy<Value> {
        let special = prop_oneof![Just(Value::Null), Just(Value::Unknown)];
        let body: BoxedStrategy<Value> = match ty.clone() {
            Type::String => ".{0,12}".prop_map(Value::String).boxed(),
            Type::Number => arb_number().prop_map(Value::Number).boxed(),
            Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Type::Dynamic => prop_oneof![
                Just(Type::String),
                Just(Type::Number),
                Just(Type::list(Type::Bool))
            ]
            .prop_flat_map(|t| {
                arb_value(t.clone()).prop_map(move |v| match v {
                    Value::Null | Value::Unknown => v,
                    v => Value::Dynamic(t.clone(), Box::new(v)),
                })
            })
            .boxed(),
            Type::List(et) => prop::collection::vec(arb_value(*et), 0..4)
                .prop_map(Value::List)
                .boxed(),
            Type::Set(et) => prop::collection::vec(arb_value(*et), 0..4)
                .prop_map(Value::Set)
                .boxed(),
            Type::Map(et) => prop::collection::btree_map(".{0,5}", arb_value(*et), 0..4)
                .prop_map(Value::Map)
                .boxed(),
            Type::Object(attrs) => {
                let strategies: Vec<_> = attrs
                    .iter()
                    .map(|(k, t)| (Just(k.clone()), arb_value(t.clone())))
                    .collect();
                strategies
                    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
                    .boxed()
            }
            Type::Tuple(ts) => {
                let strategies: Vec<_> = ts.into_iter().map(arb_value).collect();
                strategies.prop_map(Value::Tuple).boxed()
            }
        };
        prop_oneof![1 => special, 6 => body].boxed()
    }

    fn arb_typed_value() -> impl Strategy<Value = (Type, Value)> {
        arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t)))
    }

    fn strip_unknowns(v: &Value) -> Value {
        match v {
            Value::Unknown => Value::Null,
            Value::List(x) => Value::List(x.iter().map(strip_unknowns).collect()),
            Value::Set(x) => Value::Set(x.iter().map(strip_unknowns).collect()),
            Value::Tuple(x) => Value::Tuple(x.iter().map(strip_unknowns).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, x)| (k.clone(), strip_unknowns(x)))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), strip_unknowns(x)))
                    .collect(),
            ),
            Value::Dynamic(t, x) => match strip_unknowns(x) {
                Value::Null => Value::Null,
                y => Value::Dynamic(t.clone(), Box::new(y)),
            },
            other => other.clone(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn msgpack_round_trip((ty, v) in arb_typed_value()) {
            let bytes = to_msgpack(&v, &ty).unwrap();
            prop_assert_eq!(from_msgpack(&bytes, &ty).unwrap(), v);
        }

        #[test]
        fn json_round_trip((ty, v) in arb_typed_value()) {
            let v = strip_unknowns(&v);
            let j = to_json(&v, &ty).unwrap();
            let text = serde_json::to_string(&j).unwrap();
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(from_json(&back, &ty, JsonOptions::default()).unwrap(), v);
        }

        #[test]
        fn mismatch_never_panics_on_any_text(text in "\\PC{0,120}") {
            let e = mismatch("a", &Type::Bool, &text);
            let CodecError::Mismatch { found, .. } = e else { unreachable!() };
            prop_assert!(found.chars().count() <= FOUND_CHARS);
            let j = serde_json::Value::String(text);
            let _ = from_json(&j, &Type::Bool, JsonOptions::default());
        }

        #[test]
        fn number_decoding_never_panics(
            mantissa in "[-+]?[0-9]{0,30}(\\.[0-9]{0,30})?",
            exp in any::<i64>(),
        ) {
            let text = format!("{mantissa}e{exp}");
            let _ = from_msgpack(&msgpack_string(&text), &Type::Number);
            let j = serde_json::Value::String(text);
            let _ = from_json(&j, &Type::Number, JsonOptions::default());
        }

        #[test]
        fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), ty in arb_type()) {
            let _ = from_msgpack(&bytes, &ty);
        }
    }
}
