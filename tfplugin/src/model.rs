//! Typed models: one Rust struct per resource (nested structs for its
//! blocks) that planning, CRUD, read and import code share, instead of
//! looking attributes up by name in a [`Value`].
//!
//! A model derives serde's `Serialize` and `Deserialize` with
//! `#[serde(deny_unknown_fields)]`, and names its fields after the schema's
//! attributes and blocks. Values cross through JSON: [`from_value`] turns a
//! [`Value`] into JSON and lets serde build the struct; [`to_value`] does
//! the reverse and then conforms the JSON to the schema's [`Type`], which
//! says what JSON cannot (list or set, map or object, which number).
//!
//! A scalar attribute is an [`Attr<T>`]: null, unknown or known, as in
//! terraform-plugin-framework's `types.String`. Nested blocks are `Vec`s,
//! which Terraform never sends null. [`check_model`] is the test that ties a
//! model to its schema: every attribute has a field, every field an
//! attribute, and a full value survives the round trip.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::schema::{Block, Nesting};
use crate::value::{Number, Type, Value};

/// The JSON stand-in for an unknown value: an object with this one key.
/// JSON has no unknown, and no attribute is ever named like this.
const UNKNOWN: &str = "$tfplugin:unknown";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the value does not fit the model: {0}")]
    Shape(String),
    #[error("{path}: {detail}")]
    Type { path: String, detail: String },
}

/// A scalar (or list/map) attribute: null, not known until apply, or known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Attr<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Attr<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn into_known(self) -> Option<T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Attr::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown)
    }
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }
    pub fn as_ref(&self) -> Attr<&T> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(v),
        }
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attr<U> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(f(v)),
        }
    }
    /// This value, or `other` where this one is unknown.
    pub fn or_if_unknown(self, other: Attr<T>) -> Attr<T> {
        match self {
            Attr::Unknown => other,
            v => v,
        }
    }
}

impl<T: Clone> Attr<T> {
    /// The known value, cloned.
    pub fn get(&self) -> Option<T> {
        self.known().cloned()
    }
}

impl<T: Default + Clone> Attr<T> {
    /// The known value, or the type's default where null or unknown.
    pub fn or_default(&self) -> T {
        self.known().cloned().unwrap_or_default()
    }
}

impl Attr<String> {
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
    /// The known string, or "" where null or unknown.
    pub fn str(&self) -> &str {
        self.as_str().unwrap_or_default()
    }
}

impl Attr<bool> {
    /// True only when known and true.
    pub fn is_true(&self) -> bool {
        self.known() == Some(&true)
    }
}

impl<T> From<Option<T>> for Attr<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Attr::Null, Attr::Known)
    }
}

impl<T> From<T> for Attr<T> {
    fn from(v: T) -> Self {
        Attr::Known(v)
    }
}

impl From<&str> for Attr<String> {
    fn from(v: &str) -> Self {
        Attr::Known(v.to_string())
    }
}

impl From<Option<&str>> for Attr<String> {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Attr::Null, |s| Attr::Known(s.to_string()))
    }
}

impl<T: Serialize> Serialize for Attr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Attr::Null => s.serialize_none(),
            Attr::Unknown => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(UNKNOWN, &true)?;
                m.end()
            }
            Attr::Known(v) => v.serialize(s),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Attr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = Json::deserialize(d)?;
        if j.is_null() {
            return Ok(Attr::Null);
        }
        if is_unknown_marker(&j) {
            return Ok(Attr::Unknown);
        }
        T::deserialize(j)
            .map(Attr::Known)
            .map_err(serde::de::Error::custom)
    }
}

/// A list or set of strings whose elements may each be unknown at plan
/// time (`ssh_keys = [tls_private_key.k.public_key_openssh]`), which a plain
/// `Vec<String>` could not hold.
pub type Strings = Attr<Vec<Attr<String>>>;
/// A map of strings whose values may each be unknown at plan time.
pub type StringMap = Attr<BTreeMap<String, Attr<String>>>;

/// The known strings of a list or set: none where it is null or unknown.
pub fn known_strings(v: &Strings) -> Vec<String> {
    v.known()
        .map(|items| items.iter().filter_map(Attr::get).collect())
        .unwrap_or_default()
}

/// A list of known strings.
pub fn strings_of(items: &[String]) -> Strings {
    Attr::Known(items.iter().map(|s| Attr::Known(s.clone())).collect())
}

/// The known entries of a map: none where it is null or unknown.
pub fn known_map(v: &StringMap) -> BTreeMap<String, String> {
    v.known()
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| x.get().map(|s| (k.clone(), s)))
                .collect()
        })
        .unwrap_or_default()
}

/// For a nested block list field: `#[serde(deserialize_with =
/// "tfplugin::model::blocks")]`. Terraform sends a block list as a list,
/// empty when no block is written, but a value built from
/// [`Value::null_object`] has null there; both read as no blocks.
pub fn blocks<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn is_unknown_marker(j: &Json) -> bool {
    j.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(UNKNOWN))
}

/// Builds a model from a value. Unknown values fit only [`Attr`] fields.
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ModelError> {
    serde_json::from_value(to_json(v)).map_err(|e| ModelError::Shape(e.to_string()))
}

/// Turns a model into a value of the schema's type.
pub fn to_value<T: Serialize>(m: &T, ty: &Type) -> Result<Value, ModelError> {
    let j = serde_json::to_value(m).map_err(|e| ModelError::Shape(e.to_string()))?;
    conform(&j, ty, &mut String::new())
}

/// A model of a resource, data source or nested object.
pub trait Model: Serialize + DeserializeOwned {
    /// The type the model encodes to: its schema block's type.
    fn ty() -> Type;

    fn from_value(v: &Value) -> Result<Self, ModelError> {
        from_value(v)
    }

    /// The model as a value. A model and its schema are tied by
    /// [`check_model`] in each model's tests, so a mismatch is a bug that
    /// the tests catch, never a user's input.
    fn to_value(&self) -> Value {
        to_value(self, &Self::ty()).unwrap_or_else(|e| panic!("model does not fit its schema: {e}"))
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Unknown => {
            let mut m = serde_json::Map::new();
            m.insert(UNKNOWN.to_string(), Json::Bool(true));
            Json::Object(m)
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => n
            .as_str()
            .parse::<serde_json::Number>()
            .map(Json::Number)
            .unwrap_or_else(|_| Json::String(n.to_string())),
        Value::Bool(b) => Json::Bool(*b),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Value::Map(m) | Value::Object(m) => {
            Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Dynamic(_, v) => to_json(v),
    }
}

fn type_error(path: &str, detail: impl Into<String>) -> ModelError {
    ModelError::Type {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        detail: detail.into(),
    }
}

fn conform(j: &Json, ty: &Type, path: &mut String) -> Result<Value, ModelError> {
    if j.is_null() {
        return Ok(Value::Null);
    }
    if is_unknown_marker(j) {
        return Ok(Value::Unknown);
    }
    let here = path.clone();
    let mismatch = || type_error(&here, format!("{j} is not a {ty}"));
    Ok(match ty {
        Type::String => Value::String(j.as_str().ok_or_else(mismatch)?.to_string()),
        Type::Bool => Value::Bool(j.as_bool().ok_or_else(mismatch)?),
        Type::Number => match j {
            Json::Number(n) => Value::Number(Number::parse(&n.to_string()).ok_or_else(mismatch)?),
            _ => return Err(mismatch()),
        },
        Type::Dynamic => return Err(type_error(&here, "dynamic attributes have no model")),
        Type::List(t) | Type::Set(t) => {
            let items = j.as_array().ok_or_else(mismatch)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(conform(item, t, path)?);
                path.truncate(len);
            }
            if matches!(ty, Type::List(_)) {
                Value::List(out)
            } else {
                Value::Set(out)
            }
        }
        Type::Tuple(ts) => {
            let items = j.as_array().ok_or_else(mismatch)?;
            if items.len() != ts.len() {
                return Err(mismatch());
            }
            let mut out = Vec::new();
            for (item, t) in items.iter().zip(ts) {
                out.push(conform(item, t, path)?);
            }
            Value::Tuple(out)
        }
        Type::Map(t) => {
            let m = j.as_object().ok_or_else(mismatch)?;
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let len = path.len();
                path.push_str(&format!("[{k:?}]"));
                out.insert(k.clone(), conform(v, t, path)?);
                path.truncate(len);
            }
            Value::Map(out)
        }
        Type::Object(attrs) => {
            let m = j.as_object().ok_or_else(mismatch)?;
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(type_error(
                    &here,
                    format!("the model's field {extra:?} is not in the schema"),
                ));
            }
            let mut out = BTreeMap::new();
            for (k, t) in attrs {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let v = match m.get(k) {
                    Some(v) => conform(v, t, path)?,
                    None => {
                        return Err(type_error(
                            path,
                            "the schema's attribute has no field in the model",
                        ))
                    }
                };
                path.truncate(len);
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
    })
}

/// A value of the block's type with every attribute set (one element in
/// each collection and nested block), or with every attribute null.
pub fn sample(block: &Block, full: bool) -> Value {
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        out.insert(
            a.name.clone(),
            if full {
                sample_of(&a.ty())
            } else {
                Value::Null
            },
        );
    }
    for b in &block.blocks {
        let one = sample(&b.block, full);
        let v = match b.nesting {
            // A group block reads as an object of nulls when absent.
            Nesting::Single if !full => Value::Null,
            Nesting::Single | Nesting::Group => one,
            Nesting::List => Value::List(if full { vec![one] } else { Vec::new() }),
            Nesting::Set => Value::Set(if full { vec![one] } else { Vec::new() }),
            Nesting::Map => Value::Map(if full {
                BTreeMap::from([("k".to_string(), one)])
            } else {
                BTreeMap::new()
            }),
        };
        out.insert(b.name.clone(), v);
    }
    Value::Object(out)
}

fn sample_of(ty: &Type) -> Value {
    match ty {
        Type::String => Value::String("s".into()),
        Type::Number => Value::int(7),
        Type::Bool => Value::Bool(true),
        Type::Dynamic => Value::Dynamic(Type::String, Box::new(Value::String("d".into()))),
        Type::List(t) => Value::List(vec![sample_of(t)]),
        Type::Set(t) => Value::Set(vec![sample_of(t)]),
        Type::Map(t) => Value::Map(BTreeMap::from([("k".to_string(), sample_of(t))])),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), sample_of(t)))
                .collect(),
        ),
        Type::Tuple(ts) => Value::Tuple(ts.iter().map(sample_of).collect()),
    }
}

/// The test that ties a model to its schema: a value with every attribute
/// set, one with every attribute null and one with every attribute unknown
/// each decode into the model and encode back unchanged. A schema attribute
/// without a field, a field without an attribute, or a field of the wrong
/// type fails it, naming the attribute.
pub fn check_model<T: Model>(block: &Block) -> Result<(), String> {
    if T::ty() != block.ty() {
        return Err(format!(
            "the model's type is not its schema's type:\n  model:  {}\n  schema: {}",
            T::ty(),
            block.ty()
        ));
    }
    let unknown = match sample(block, false) {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let is_attr = block.attribute(&k).is_some();
                    (k, if is_attr { Value::Unknown } else { v })
                })
                .collect(),
        ),
        v => v,
    };
    for (what, v) in [
        ("every attribute set", sample(block, true)),
        ("every attribute null", sample(block, false)),
        ("every attribute unknown", unknown),
    ] {
        let m: T = T::from_value(&v).map_err(|e| format!("{what}: decoding: {e}"))?;
        let back = to_value(&m, &block.ty()).map_err(|e| format!("{what}: encoding: {e}"))?;
        if back != v {
            return Err(format!(
                "{what}: the round trip changed the value:\n  in:  {v:?}\n  out: {back:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pool {
        name: Attr<String>,
        count: Attr<i64>,
        tags: Attr<Vec<String>>,
        labels: Attr<BTreeMap<String, String>>,
        #[serde(deserialize_with = "blocks")]
        placement: Vec<Placement>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Placement {
        cluster: Attr<String>,
        on: Attr<bool>,
    }

    fn block(extra: Option<&str>) -> Block {
        let mut b = Block::new()
            .attr(Attribute::string("name").required())
            .attr(Attribute::number("count").optional())
            .attr(Attribute::new("tags", Type::set(Type::String)).optional())
            .attr(Attribute::new("labels", Type::map(Type::String)).optional())
            .block(NestedBlock::new(
                "placement",
                Nesting::List,
                Block::new()
                    .attr(Attribute::string("cluster").optional())
                    .attr(Attribute::bool("on").optional()),
            ));
        if let Some(name) = extra {
            b = b.attr(Attribute::string(name).optional());
        }
        b
    }

    impl Model for Pool {
        fn ty() -> Type {
            block(None).ty()
        }
    }

    #[test]
    fn values_decode_and_encode_with_their_collection_kinds() {
        let v = Value::object([
            ("name", Value::from("a")),
            ("count", Value::int(3)),
            ("tags", Value::Set(vec!["x".into()])),
            ("labels", Value::Null),
            (
                "placement",
                Value::List(vec![Value::object([
                    ("cluster", Value::Unknown),
                    ("on", Value::Bool(true)),
                ])]),
            ),
        ]);
        let m = Pool::from_value(&v).unwrap();
        assert_eq!(m.name.as_str(), Some("a"));
        assert_eq!(m.count.get(), Some(3));
        assert!(m.labels.is_null());
        assert!(m.placement[0].cluster.is_unknown());
        assert_eq!(m.to_value(), v);
    }

    #[test]
    fn a_null_block_list_reads_as_no_blocks() {
        let v = Value::null_object(&block(None).ty());
        let m = Pool::from_value(&v).unwrap();
        assert!(m.placement.is_empty());
        // A block list the value lacks altogether is still refused.
        let mut partial = v.clone();
        partial.as_map_mut().unwrap().remove("placement");
        assert!(Pool::from_value(&partial).is_err());
    }

    #[test]
    fn the_tie_test_passes_for_a_matching_model() {
        check_model::<Pool>(&block(None)).unwrap();
    }

    #[test]
    fn the_tie_test_names_an_attribute_the_model_lacks() {
        // The schema grew an attribute the model has no field for.
        #[derive(Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Short {
            name: Attr<String>,
        }
        impl Model for Short {
            fn ty() -> Type {
                Block::new().attr(Attribute::string("name").required()).ty()
            }
        }
        let wider = Block::new()
            .attr(Attribute::string("name").required())
            .attr(Attribute::string("gateway").optional());
        let e = check_model::<Short>(&wider).unwrap_err();
        assert!(e.contains("gateway"), "{e}");
        let e = from_value::<Short>(&sample(&wider, true))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("gateway"), "{e}");
    }

    #[test]
    fn the_tie_test_names_a_field_the_schema_lacks() {
        let e = check_model::<Pool>(&block(Some("subnet"))).unwrap_err();
        assert!(e.contains("subnet"), "{e}");
        // Encoding alone also refuses a field the type lacks.
        let m = Pool::from_value(&sample(&block(None), true)).unwrap();
        let narrower = Block::new().attr(Attribute::string("name").required()).ty();
        let e = to_value(&m, &narrower).unwrap_err().to_string();
        assert!(e.contains("count"), "{e}");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        let mut v = sample(&block(None), true);
        v.set_attr("count", Value::from("three"));
        let e = Pool::from_value(&v).err().unwrap().to_string();
        assert!(e.contains("three"), "{e}");
    }

    #[test]
    fn large_and_fractional_numbers_keep_their_digits() {
        #[derive(Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct N {
            n: Attr<f64>,
            big: Attr<u64>,
        }
        let b = Block::new()
            .attr(Attribute::number("n").optional())
            .attr(Attribute::number("big").optional());
        let v = Value::object([
            ("n", Value::Number(Number::parse("0.5").unwrap())),
            (
                "big",
                Value::Number(Number::parse("18446744073709551615").unwrap()),
            ),
        ]);
        let m: N = from_value(&v).unwrap();
        assert_eq!(m.n.get(), Some(0.5));
        assert_eq!(m.big.get(), Some(u64::MAX));
        assert_eq!(to_value(&m, &b.ty()).unwrap(), v);
    }
}
