//! Declarative schemas: what Terraform sees (attributes, blocks, flags,
//! descriptions) plus what the generic planner and validator act on
//! (defaults, plan modifiers, validators).

use std::fmt;
use std::sync::Arc;

use crate::diag::{AttrPath, Diagnostics};
use crate::value::{Type, Value};

#[derive(Clone, Debug)]
pub struct Schema {
    /// State schema version; bump it and handle the old version in
    /// `Resource::upgrade_state` when stored state changes shape.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(block: Block) -> Self {
        Schema { version: 0, block }
    }
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    pub fn ty(&self) -> Type {
        self.block.ty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    pub fn ty(&self) -> Type {
        let mut attrs: Vec<(String, Type)> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty()))
            .collect();
        attrs.extend(self.blocks.iter().map(|b| (b.name.clone(), b.ty())));
        Type::object(attrs)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    /// A single block whose absence reads as an object of nulls, never null.
    Group,
    List,
    Set,
    Map,
}

impl Nesting {
    fn wrap(self, t: Type) -> Type {
        match self {
            Nesting::Single | Nesting::Group => t,
            Nesting::List => Type::list(t),
            Nesting::Set => Type::set(t),
            Nesting::Map => Type::map(t),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
    pub plan_modifiers: Vec<PlanModifier>,
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
            plan_modifiers: Vec::new(),
        }
    }
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }
    pub fn requires_replace(mut self) -> Self {
        self.plan_modifiers.push(PlanModifier::RequiresReplace);
        self
    }
    pub fn ty(&self) -> Type {
        self.nesting.wrap(self.block.ty())
    }
}

/// Attributes nested inside an attribute (protocol 6's nested types).
#[derive(Clone, Debug)]
pub struct NestedAttributes {
    pub nesting: Nesting,
    pub attributes: Vec<Attribute>,
}

/// Decides from (prior, planned) whether a change forces replacement.
pub type ReplacePredicate = Arc<dyn Fn(&Value, &Value) -> bool + Send + Sync>;

#[derive(Clone)]
pub enum PlanModifier {
    /// A change to this value replaces the resource.
    RequiresReplace,
    /// A change replaces the resource when the predicate, given the prior and
    /// planned values, says so.
    RequiresReplaceIf(ReplacePredicate, &'static str),
    /// A computed value that, once known, does not change on update: keep the
    /// prior state's value instead of planning it as unknown.
    UseStateForUnknown,
}

impl fmt::Debug for PlanModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanModifier::RequiresReplace => f.write_str("RequiresReplace"),
            PlanModifier::RequiresReplaceIf(_, why) => write!(f, "RequiresReplaceIf({why})"),
            PlanModifier::UseStateForUnknown => f.write_str("UseStateForUnknown"),
        }
    }
}

/// A check of one configured value. Validators see only known, non-null
/// values; unknowns are checked again at apply when they become known.
pub trait Validator: Send + Sync {
    /// Markdown sentence for docs, e.g. "must be one of `1`, `3`".
    fn description(&self) -> String;
    fn validate(&self, value: &Value, path: &AttrPath, diags: &mut Diagnostics);
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub nested: Option<NestedAttributes>,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// Terraform (1.11+) sends the value in configuration only and never
    /// stores it in plan or state; the server nulls it in every response.
    pub write_only: bool,
    pub deprecated: Option<String>,
    pub default: Option<Value>,
    pub plan_modifiers: Vec<PlanModifier>,
    pub validators: Vec<Arc<dyn Validator>>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("sensitive", &self.sensitive)
            .field("write_only", &self.write_only)
            .field("default", &self.default)
            .field("plan_modifiers", &self.plan_modifiers)
            .finish()
    }
}

impl Attribute {
    pub fn new(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.into(),
            ty,
            nested: None,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: None,
            default: None,
            plan_modifiers: Vec::new(),
            validators: Vec::new(),
        }
    }
    pub fn string(name: &str) -> Self {
        Self::new(name, Type::String)
    }
    pub fn number(name: &str) -> Self {
        Self::new(name, Type::Number)
    }
    pub fn bool(name: &str) -> Self {
        Self::new(name, Type::Bool)
    }
    pub fn nested(name: &str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        let inner = Type::object(attributes.iter().map(|a| (a.name.clone(), a.ty())));
        let mut a = Self::new(name, nesting.wrap(inner));
        a.nested = Some(NestedAttributes {
            nesting,
            attributes,
        });
        a
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only values are also sensitive: they are secrets by design.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self.sensitive = true;
        self
    }
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    pub fn deprecated(mut self, why: impl Into<String>) -> Self {
        self.deprecated = Some(why.into());
        self
    }
    /// A default makes the attribute optional and computed: Terraform plans
    /// the default where the configuration leaves the attribute out.
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self.optional = true;
        self.computed = true;
        self
    }
    pub fn requires_replace(mut self) -> Self {
        self.plan_modifiers.push(PlanModifier::RequiresReplace);
        self
    }
    pub fn requires_replace_if(
        mut self,
        why: &'static str,
        f: impl Fn(&Value, &Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.plan_modifiers
            .push(PlanModifier::RequiresReplaceIf(Arc::new(f), why));
        self
    }
    pub fn use_state_for_unknown(mut self) -> Self {
        self.plan_modifiers.push(PlanModifier::UseStateForUnknown);
        self
    }
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }
    pub fn ty(&self) -> Type {
        self.ty.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_blocks_and_nested_attributes() {
        let b = Block::new()
            .attr(Attribute::string("id").computed())
            .attr(Attribute::nested(
                "n",
                Nesting::Set,
                vec![Attribute::bool("x").optional()],
            ))
            .block(NestedBlock::new(
                "p",
                Nesting::List,
                Block::new().attr(Attribute::number("c").required()),
            ));
        assert_eq!(
            b.ty(),
            Type::object([
                ("id", Type::String),
                ("n", Type::set(Type::object([("x", Type::Bool)]))),
                ("p", Type::list(Type::object([("c", Type::Number)]))),
            ])
        );
    }
}

/// Problems Terraform would reject the schema for ("a bug in the provider"),
/// found before Terraform sees it. Returns one message per problem.
/// What Terraform refuses in an identity schema: attributes other than
/// strings, numbers, bools and lists of them, a name twice, an attribute
/// both required and optional for import.
pub fn check_identity(schema: &IdentitySchema) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let primitive = |t: &Type| matches!(t, Type::String | Type::Number | Type::Bool);
    for a in &schema.attributes {
        if !seen.insert(a.name.as_str()) {
            out.push(format!("{}: declared twice", a.name));
        }
        let ok = match &a.ty {
            Type::List(inner) => primitive(inner),
            t => primitive(t),
        };
        if !ok {
            out.push(format!(
                "{}: identity attributes are strings, numbers, bools or lists of them",
                a.name
            ));
        }
        if a.required_for_import && a.optional_for_import {
            out.push(format!(
                "{}: required and optional for import at once",
                a.name
            ));
        }
    }
    out
}

pub fn check_schema(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    check_block(&schema.block, "", false, &mut out);
    out
}

fn check_attrs(attrs: &[Attribute], at: &str, in_set: bool, out: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    for a in attrs {
        let path = format!("{at}{}", a.name);
        if !seen.insert(a.name.as_str()) {
            out.push(format!("{path}: defined twice"));
        }
        if !(a.required || a.optional || a.computed) {
            out.push(format!("{path}: must be required, optional or computed"));
        }
        if a.required && (a.optional || a.computed) {
            out.push(format!("{path}: required excludes optional and computed"));
        }
        if a.default.is_some() && a.required {
            out.push(format!(
                "{path}: a required attribute cannot have a default"
            ));
        }
        if a.write_only && (a.computed || a.default.is_some()) {
            out.push(format!(
                "{path}: a write-only attribute cannot be computed or have a default"
            ));
        }
        if a.write_only && in_set {
            out.push(format!(
                "{path}: a write-only attribute cannot be inside a set"
            ));
        }
        if let Some(n) = &a.nested {
            check_attrs(
                &n.attributes,
                &format!("{path}."),
                in_set || n.nesting == Nesting::Set,
                out,
            );
        }
    }
}

fn check_block(block: &Block, at: &str, in_set: bool, out: &mut Vec<String>) {
    check_attrs(&block.attributes, at, in_set, out);
    for b in &block.blocks {
        let path = format!("{at}{}", b.name);
        if block.attributes.iter().any(|a| a.name == b.name) {
            out.push(format!("{path}: both an attribute and a block"));
        }
        check_block(
            &b.block,
            &format!("{path}."),
            in_set || b.nesting == Nesting::Set,
            out,
        );
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn finds_attributes_without_a_mode() {
        let s = Schema::new(
            Block::new().attr(Attribute::string("a")).attr(
                Attribute::nested(
                    "n",
                    Nesting::Single,
                    vec![Attribute::bool("x").required().computed()],
                )
                .optional(),
            ),
        );
        assert_eq!(
            check_schema(&s),
            vec![
                "a: must be required, optional or computed",
                "n.x: required excludes optional and computed"
            ]
        );
    }
}

// ------------------------------------------------------------- write-only

/// Objects at the positions a nested block or nested attribute holds in a
/// value: one for single nesting, every element otherwise.
fn nested_objects_mut(nesting: Nesting, v: &mut Value) -> Vec<&mut Value> {
    match (nesting, v) {
        (_, Value::Null | Value::Unknown) => Vec::new(),
        (Nesting::Single | Nesting::Group, v) => vec![v],
        (_, Value::List(e) | Value::Set(e) | Value::Tuple(e)) => e.iter_mut().collect(),
        (_, Value::Map(m)) => m.values_mut().collect(),
        (n, Value::Dynamic(_, inner)) => nested_objects_mut(n, inner),
        _ => Vec::new(),
    }
}

fn nested_objects(nesting: Nesting, v: &Value, at: &AttrPath) -> Vec<(AttrPath, Value)> {
    match (nesting, v) {
        (_, Value::Null | Value::Unknown) => Vec::new(),
        (Nesting::Single | Nesting::Group, v) => vec![(at.clone(), v.clone())],
        (_, Value::List(e) | Value::Set(e) | Value::Tuple(e)) => e
            .iter()
            .enumerate()
            .map(|(i, x)| (at.then_index(i), x.clone()))
            .collect(),
        (_, Value::Map(m)) => m.iter().map(|(k, x)| (at.then_key(k), x.clone())).collect(),
        (n, Value::Dynamic(_, inner)) => nested_objects(n, inner, at),
        _ => Vec::new(),
    }
}

fn null_write_only_attrs(attrs: &[Attribute], v: &mut Value) {
    for a in attrs {
        if a.write_only {
            if v.as_map().is_some_and(|m| m.contains_key(&a.name)) {
                v.set_attr(&a.name, Value::Null);
            }
        } else if let Some(n) = &a.nested {
            if let Some(inner) = v.as_map_mut().and_then(|m| m.get_mut(&a.name)) {
                for o in nested_objects_mut(n.nesting, inner) {
                    null_write_only_attrs(&n.attributes, o);
                }
            }
        }
    }
}

fn write_only_paths_in(attrs: &[Attribute], v: &Value, at: &AttrPath, out: &mut Vec<AttrPath>) {
    for a in attrs {
        let here = at.then_attr(&a.name);
        let inner = v.get(&a.name);
        if a.write_only {
            if !inner.is_null() {
                out.push(here);
            }
        } else if let Some(n) = &a.nested {
            for (p, o) in nested_objects(n.nesting, inner, &here) {
                write_only_paths_in(&n.attributes, &o, &p, out);
            }
        }
    }
}

impl Block {
    /// True when any attribute, at any depth, is write-only.
    pub fn has_write_only(&self) -> bool {
        fn attrs(a: &[Attribute]) -> bool {
            a.iter()
                .any(|a| a.write_only || a.nested.as_ref().is_some_and(|n| attrs(&n.attributes)))
        }
        attrs(&self.attributes) || self.blocks.iter().any(|b| b.block.has_write_only())
    }

    /// Sets every write-only attribute in `v` to null. Terraform rejects a
    /// provider response that carries a value for one ("a bug in the
    /// provider"), so the server applies this to everything it returns.
    pub fn null_write_only(&self, v: &mut Value) {
        if !self.has_write_only() {
            return;
        }
        null_write_only_attrs(&self.attributes, v);
        for b in &self.blocks {
            if let Some(inner) = v.as_map_mut().and_then(|m| m.get_mut(&b.name)) {
                for o in nested_objects_mut(b.nesting, inner) {
                    b.block.null_write_only(o);
                }
            }
        }
    }

    /// Paths of write-only attributes that hold a value (known or not).
    pub fn write_only_values(&self, v: &Value) -> Vec<AttrPath> {
        let mut out = Vec::new();
        self.write_only_values_at(v, &AttrPath::root(), &mut out);
        out
    }

    fn write_only_values_at(&self, v: &Value, at: &AttrPath, out: &mut Vec<AttrPath>) {
        write_only_paths_in(&self.attributes, v, at, out);
        for b in &self.blocks {
            let here = at.then_attr(&b.name);
            for (p, o) in nested_objects(b.nesting, v.get(&b.name), &here) {
                b.block.write_only_values_at(&o, &p, out);
            }
        }
    }
}

/// The configuration that reproduces `state` (of `block`'s type): what a
/// user writes, for Terraform 1.14+ to print as generated configuration.
/// Computed-only and write-only attributes are null (left out), as is an
/// optional attribute at its default, or an unknown; a single block whose
/// arguments all end up null is left out too. Required attributes are
/// kept even when null, so the user sees what to fill in.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    if state.is_null() || state.is_unknown() {
        return Value::Null;
    }
    let mut out: Vec<(String, Value)> = Vec::new();
    for a in &block.attributes {
        out.push((a.name.clone(), attribute_config(a, state.get(&a.name))));
    }
    for b in &block.blocks {
        let v = state.get(&b.name);
        let each = |o: &Value| config_from_state(&b.block, o);
        let cfg = match (b.nesting, v) {
            (_, Value::Null | Value::Unknown) => match b.nesting {
                Nesting::List => Value::List(Vec::new()),
                Nesting::Set => Value::Set(Vec::new()),
                Nesting::Map => Value::Map(Default::default()),
                Nesting::Single | Nesting::Group => Value::Null,
            },
            (Nesting::Single | Nesting::Group, o) => {
                let c = each(o);
                let empty = c.as_map().is_none_or(|m| m.values().all(Value::is_null));
                if empty && b.nesting == Nesting::Single {
                    Value::Null
                } else {
                    c
                }
            }
            (_, Value::List(e)) => Value::List(e.iter().map(each).collect()),
            (_, Value::Set(e)) => Value::Set(e.iter().map(each).collect()),
            (_, Value::Map(m)) => Value::Map(m.iter().map(|(k, o)| (k.clone(), each(o))).collect()),
            (_, other) => other.clone(),
        };
        out.push((b.name.clone(), cfg));
    }
    Value::object(out)
}

fn attribute_config(a: &Attribute, v: &Value) -> Value {
    let computed_only = a.computed && !a.optional && !a.required;
    if computed_only || a.write_only || v.is_unknown() {
        return Value::Null;
    }
    if !a.required {
        if let Some(d) = &a.default {
            if v.semantically_equal(d) {
                return Value::Null;
            }
        }
    }
    match (&a.nested, v) {
        (Some(n), v) if !v.is_null() => {
            let each = |o: &Value| {
                Value::object(
                    n.attributes
                        .iter()
                        .map(|x| (x.name.clone(), attribute_config(x, o.get(&x.name)))),
                )
            };
            match (n.nesting, v) {
                (Nesting::Single | Nesting::Group, o) => each(o),
                (_, Value::List(e)) => Value::List(e.iter().map(each).collect()),
                (_, Value::Set(e)) => Value::Set(e.iter().map(each).collect()),
                (_, Value::Map(m)) => {
                    Value::Map(m.iter().map(|(k, o)| (k.clone(), each(o))).collect())
                }
                (_, other) => other.clone(),
            }
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    fn block() -> Block {
        Block::new()
            .attr(Attribute::string("id").computed())
            .attr(Attribute::string("name").required())
            .attr(Attribute::string("zone").optional().default("a"))
            .attr(Attribute::string("note").optional())
            .attr(Attribute::string("secret_wo").optional().write_only())
            .block(NestedBlock::new(
                "timeouts",
                Nesting::Single,
                Block::new().attr(Attribute::string("create").optional()),
            ))
            .block(NestedBlock::new(
                "pool",
                Nesting::List,
                Block::new()
                    .attr(Attribute::number("count").required())
                    .attr(Attribute::number("cpu").optional().default(Value::int(4)))
                    .attr(Attribute::string("uid").computed()),
            ))
    }

    #[test]
    fn computed_defaults_and_write_only_are_left_out() {
        let state = Value::object([
            ("id", Value::string("u1")),
            ("name", Value::string("n")),
            ("zone", Value::string("a")),
            ("note", Value::string("line 1\nline 2\n")),
            ("secret_wo", Value::Null),
            ("timeouts", Value::Null),
            (
                "pool",
                Value::List(vec![Value::object([
                    ("count", Value::int(3)),
                    ("cpu", Value::int(8)),
                    ("uid", Value::string("p1")),
                ])]),
            ),
        ]);
        let c = config_from_state(&block(), &state);
        assert_eq!(c.get("id"), &Value::Null);
        assert_eq!(c.get("name"), &Value::string("n"));
        assert_eq!(c.get("zone"), &Value::Null, "at its default");
        assert_eq!(c.get("note"), &Value::string("line 1\nline 2\n"));
        assert_eq!(c.get("timeouts"), &Value::Null);
        let pool = &c.get("pool").as_elements().unwrap()[0];
        assert_eq!(pool.get("count"), &Value::int(3));
        assert_eq!(pool.get("cpu"), &Value::int(8), "not the default: kept");
        assert_eq!(pool.get("uid"), &Value::Null);
        let ty = block().ty();
        let back = crate::codec::from_msgpack(&crate::codec::to_msgpack(&c, &ty).unwrap(), &ty);
        assert_eq!(back.unwrap(), c, "conforms to the schema");
    }

    #[test]
    fn a_non_default_value_is_kept_and_a_required_null_stays_for_the_user() {
        let state = Value::object([
            ("name", Value::Null),
            ("zone", Value::string("b")),
            ("timeouts", Value::object([("create", Value::string("1h"))])),
        ]);
        let c = config_from_state(&block(), &state);
        assert_eq!(c.get("zone"), &Value::string("b"));
        assert_eq!(c.get("timeouts").get("create"), &Value::string("1h"));
        assert_eq!(c.get("pool"), &Value::List(Vec::new()));
        assert!(c.as_map().unwrap().contains_key("name"));
    }
}

#[cfg(test)]
mod write_only_tests {
    use super::*;

    fn block() -> Block {
        Block::new()
            .attr(Attribute::string("name").required())
            .attr(Attribute::string("secret_wo").optional().write_only())
            .block(NestedBlock::new(
                "vcenter",
                Nesting::List,
                Block::new()
                    .attr(Attribute::string("password").optional().sensitive())
                    .attr(Attribute::string("password_wo").optional().write_only()),
            ))
    }

    fn value() -> Value {
        Value::object([
            ("name", Value::string("a")),
            ("secret_wo", Value::string("s1")),
            (
                "vcenter",
                Value::List(vec![Value::object([
                    ("password", Value::Null),
                    ("password_wo", Value::string("s2")),
                ])]),
            ),
        ])
    }

    #[test]
    fn finds_every_write_only_value_with_its_path() {
        let paths: Vec<String> = block()
            .write_only_values(&value())
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(paths, vec!["secret_wo", "vcenter[0].password_wo"]);
    }

    #[test]
    fn nulls_write_only_values_and_nothing_else() {
        let b = block();
        let mut v = value();
        b.null_write_only(&mut v);
        assert!(b.write_only_values(&v).is_empty());
        assert_eq!(v.get("name"), &Value::string("a"));
        assert!(v.as_map().unwrap().contains_key("secret_wo"));
        let mut null = Value::Null;
        b.null_write_only(&mut null);
        assert_eq!(null, Value::Null);
    }

    #[test]
    fn schema_check_refuses_computed_or_set_nested_write_only() {
        let s = Schema::new(
            Block::new()
                .attr(Attribute::string("a").optional().computed().write_only())
                .block(NestedBlock::new(
                    "s",
                    Nesting::Set,
                    Block::new().attr(Attribute::string("w").optional().write_only()),
                )),
        );
        assert_eq!(
            check_schema(&s),
            vec![
                "a: a write-only attribute cannot be computed or have a default",
                "s.w: a write-only attribute cannot be inside a set"
            ]
        );
    }
}

/// A resource type's identity (Terraform 1.12+): a flat object of
/// primitive attributes naming one remote object, versioned apart from the
/// state. Terraform stores it beside the state, checks that it never
/// changes while the object lives, and lets `import { identity = {...} }`
/// name an object by it.
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    /// Must be given in an `import { identity = ... }` block.
    pub required_for_import: bool,
    /// May be given there (the provider fills in what is left out).
    pub optional_for_import: bool,
    /// Markdown.
    pub description: String,
}

impl IdentityAttribute {
    /// An attribute an import may leave out.
    pub fn optional(name: impl Into<String>, ty: Type) -> Self {
        IdentityAttribute {
            name: name.into(),
            ty,
            required_for_import: false,
            optional_for_import: true,
            description: String::new(),
        }
    }
    /// An attribute every import by identity must give.
    pub fn required(name: impl Into<String>, ty: Type) -> Self {
        IdentityAttribute {
            required_for_import: true,
            optional_for_import: false,
            ..Self::optional(name, ty)
        }
    }
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
}

impl IdentitySchema {
    pub fn new(attributes: Vec<IdentityAttribute>) -> Self {
        IdentitySchema {
            version: 0,
            attributes,
        }
    }
    pub fn ty(&self) -> Type {
        Type::object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone())),
        )
    }
}
