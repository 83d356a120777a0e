//! The generic part of planning, a pure function of schema, configuration,
//! prior state and Terraform's proposed new state:
//!
//! 1. defaults fill attributes the configuration leaves out;
//! 2. when the resource is created or changes, computed attributes the
//!    configuration leaves out become unknown, unless marked
//!    UseStateForUnknown and already known;
//! 3. attributes and blocks marked RequiresReplace whose planned value
//!    differs from the prior state are reported as forcing replacement.
//!
//! Resources refine the result further in their own `modify_plan`.

use crate::diag::AttrPath;
use crate::schema::{Attribute, Block, Nesting, PlanModifier};
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub state: Value,
    pub requires_replace: Vec<AttrPath>,
}

pub fn plan(block: &Block, prior: &Value, proposed: &Value, config: &Value) -> Planned {
    if proposed.is_null() {
        return Planned {
            state: Value::Null,
            requires_replace: Vec::new(),
        };
    }
    let mut state = proposed.clone();
    apply_defaults(block, config, &mut state);
    let changed = prior.is_null() || !state.semantically_equal(prior);
    if changed {
        mark_unknown(block, config, prior, &mut state);
    }
    let mut requires_replace = Vec::new();
    if !prior.is_null() {
        find_replacements(
            block,
            config,
            prior,
            &state,
            &AttrPath::root(),
            &mut requires_replace,
        );
    }
    Planned {
        state,
        requires_replace,
    }
}

/// Pairs each element of a nested collection in `planned` with the
/// corresponding element in another value (config or prior): by position
/// for lists, by key for maps. Sets are paired by content instead (see
/// `each_with_config`).
fn paired<'a>(nesting: Nesting, other: &'a Value, idx: Elem<'_>) -> &'a Value {
    static NULL: Value = Value::Null;
    match (nesting, idx) {
        (Nesting::Single | Nesting::Group, _) => other,
        (Nesting::List | Nesting::Set, Elem::Index(i)) => {
            other.as_elements().and_then(|e| e.get(i)).unwrap_or(&NULL)
        }
        (Nesting::Map, Elem::Key(k)) => other.as_map().and_then(|m| m.get(k)).unwrap_or(&NULL),
        _ => &NULL,
    }
}

#[derive(Clone, Copy)]
enum Elem<'a> {
    Index(usize),
    Key(&'a str),
    One,
}

/// Visits each object of a nested collection in `planned` mutably.
fn each_mut(nesting: Nesting, planned: &mut Value, mut f: impl FnMut(Elem<'_>, &mut Value)) {
    match (nesting, planned) {
        (_, Value::Null | Value::Unknown) => {}
        (Nesting::Single | Nesting::Group, obj) => f(Elem::One, obj),
        (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                f(Elem::Index(i), item);
            }
        }
        (Nesting::Map, Value::Map(m)) => {
            for (k, item) in m.iter_mut() {
                f(Elem::Key(k), item);
            }
        }
        _ => {}
    }
}

/// Whether `planned` can have come from `config`: every known, non-null value
/// of the configuration is in the planned value (Terraform fills the rest
/// from prior state, defaults from the provider).
fn from_config(config: &Value, planned: &Value) -> bool {
    match (config, planned) {
        (Value::Null | Value::Unknown, _) => true,
        (Value::Object(c), Value::Object(p)) | (Value::Map(c), Value::Map(p)) => c
            .iter()
            .all(|(k, v)| from_config(v, p.get(k).unwrap_or(&Value::Null))),
        (Value::List(c), Value::List(p)) | (Value::Tuple(c), Value::Tuple(p)) => {
            c.len() == p.len() && c.iter().zip(p).all(|(x, y)| from_config(x, y))
        }
        (Value::Set(c), Value::Set(p)) => {
            c.len() == p.len() && set_pairs(p, c).iter().all(Option::is_some)
        }
        _ => config.semantically_equal(planned),
    }
}

/// For each element of a planned set, the configuration element it came
/// from. Terraform orders set elements by their content, and the proposed
/// elements carry values the configuration lacks, so the two orders differ.
fn set_pairs(planned: &[Value], config: &[Value]) -> Vec<Option<usize>> {
    let mut used = vec![false; config.len()];
    planned
        .iter()
        .map(|p| {
            let j = (0..config.len()).find(|&j| !used[j] && from_config(&config[j], p))?;
            used[j] = true;
            Some(j)
        })
        .collect()
}

/// Visits each object of a nested collection in `planned` mutably, with the
/// configuration object it came from (null when there is none).
fn each_with_config(
    nesting: Nesting,
    planned: &mut Value,
    config: &Value,
    mut f: impl FnMut(Elem<'_>, &mut Value, &Value),
) {
    static NULL: Value = Value::Null;
    if let (Nesting::Set, Value::Set(items)) = (nesting, &mut *planned) {
        let cfg = config.as_elements().unwrap_or(&[]);
        let pairs = set_pairs(items, cfg);
        for (i, item) in items.iter_mut().enumerate() {
            let c = pairs[i].map(|j| &cfg[j]).unwrap_or(&NULL);
            f(Elem::Index(i), item, c);
        }
        return;
    }
    each_mut(nesting, planned, |e, obj| {
        f(e, obj, paired(nesting, config, e))
    });
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    apply_attr_defaults(&block.attributes, config, planned);
    for nb in &block.blocks {
        let cfg = config.get(&nb.name);
        if let Some(child) = planned.as_map_mut().and_then(|m| m.get_mut(&nb.name)) {
            each_with_config(nb.nesting, child, cfg, |_, obj, c| {
                apply_defaults(&nb.block, c, obj)
            });
        }
    }
}

fn apply_attr_defaults(attrs: &[Attribute], config: &Value, planned: &mut Value) {
    let Some(map) = planned.as_map_mut() else {
        return;
    };
    for a in attrs {
        let cfg = config.get(&a.name);
        if let (Some(d), true) = (&a.default, cfg.is_null()) {
            map.insert(a.name.clone(), d.clone());
        }
        if let (Some(n), Some(child)) = (&a.nested, map.get_mut(&a.name)) {
            each_with_config(n.nesting, child, cfg, |_, obj, c| {
                apply_attr_defaults(&n.attributes, c, obj)
            });
        }
    }
}

fn mark_unknown(block: &Block, config: &Value, prior: &Value, planned: &mut Value) {
    mark_attrs_unknown(&block.attributes, config, prior, planned);
    for nb in &block.blocks {
        let (cfg, pri) = (config.get(&nb.name), prior.get(&nb.name));
        if let Some(child) = planned.as_map_mut().and_then(|m| m.get_mut(&nb.name)) {
            let prior_pairs = nb.nesting != Nesting::Set;
            each_with_config(nb.nesting, child, cfg, |e, obj, c| {
                let p = if prior_pairs {
                    paired(nb.nesting, pri, e)
                } else {
                    &Value::Null
                };
                mark_unknown(&nb.block, c, p, obj)
            });
        }
    }
}

fn mark_attrs_unknown(attrs: &[Attribute], config: &Value, prior: &Value, planned: &mut Value) {
    let Some(map) = planned.as_map_mut() else {
        return;
    };
    for a in attrs {
        let cfg = config.get(&a.name);
        let pri = prior.get(&a.name);
        if a.computed && cfg.is_null() && a.default.is_none() {
            let keep = a
                .plan_modifiers
                .iter()
                .any(|m| matches!(m, PlanModifier::UseStateForUnknown))
                && !pri.is_null();
            map.insert(
                a.name.clone(),
                if keep { pri.clone() } else { Value::Unknown },
            );
            continue;
        }
        if let (Some(n), Some(child)) = (&a.nested, map.get_mut(&a.name)) {
            let prior_pairs = n.nesting != Nesting::Set;
            each_with_config(n.nesting, child, cfg, |e, obj, c| {
                let p = if prior_pairs {
                    paired(n.nesting, pri, e)
                } else {
                    &Value::Null
                };
                mark_attrs_unknown(&n.attributes, c, p, obj)
            });
        }
    }
}

fn replaces(mods: &[PlanModifier], prior: &Value, planned: &Value) -> bool {
    if planned.semantically_equal(prior) {
        return false;
    }
    mods.iter().any(|m| match m {
        PlanModifier::RequiresReplace => true,
        PlanModifier::RequiresReplaceIf(f, _) => f(prior, planned),
        PlanModifier::UseStateForUnknown => false,
    })
}

fn find_replacements(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &Value,
    path: &AttrPath,
    out: &mut Vec<AttrPath>,
) {
    for a in &block.attributes {
        let (cfg, pri, pla) = (
            config.get(&a.name),
            prior.get(&a.name),
            planned.get(&a.name),
        );
        // A computed value left to the remote side changes as a consequence
        // of other changes, which already decide about replacement.
        if a.computed && cfg.is_null() {
            continue;
        }
        if replaces(&a.plan_modifiers, pri, pla) {
            out.push(path.then_attr(&a.name));
        }
    }
    for nb in &block.blocks {
        let (cfg, pri, pla) = (
            config.get(&nb.name),
            prior.get(&nb.name),
            planned.get(&nb.name),
        );
        let p = path.then_attr(&nb.name);
        if replaces(&nb.plan_modifiers, pri, pla) {
            out.push(p);
            continue;
        }
        if nb.nesting == Nesting::Set {
            continue;
        }
        match (nb.nesting, pla) {
            (Nesting::Single | Nesting::Group, obj) if !obj.is_null() => {
                find_replacements(&nb.block, cfg, pri, obj, &p, out)
            }
            (Nesting::List, Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let pi = paired(Nesting::List, pri, Elem::Index(i));
                    if !pi.is_null() {
                        let ci = paired(Nesting::List, cfg, Elem::Index(i));
                        find_replacements(&nb.block, ci, pi, item, &p.then_index(i), out);
                    }
                }
            }
            (Nesting::Map, Value::Map(m)) => {
                for (k, item) in m {
                    let pi = paired(Nesting::Map, pri, Elem::Key(k));
                    if !pi.is_null() {
                        find_replacements(
                            &nb.block,
                            paired(Nesting::Map, cfg, Elem::Key(k)),
                            pi,
                            item,
                            &p.then_key(k),
                            out,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};

    fn block() -> Block {
        Block::new()
            .attr(Attribute::string("id").computed().use_state_for_unknown())
            .attr(Attribute::string("name").required().requires_replace())
            .attr(Attribute::string("note").optional())
            .attr(Attribute::number("size").default(Value::int(1)))
            .attr(Attribute::string("status").computed())
            .block(NestedBlock::new(
                "disk",
                Nesting::List,
                Block::new()
                    .attr(Attribute::number("gb").required())
                    .attr(Attribute::string("uuid").computed().use_state_for_unknown()),
            ))
    }

    fn obj(
        name: &str,
        note: Option<&str>,
        size: Value,
        disks: Vec<(i64, Value)>,
        id: Value,
        status: Value,
    ) -> Value {
        Value::object([
            ("id", id),
            ("name", Value::from(name)),
            ("note", note.into()),
            ("size", size),
            ("status", status),
            (
                "disk",
                Value::List(
                    disks
                        .into_iter()
                        .map(|(gb, uuid)| Value::object([("gb", Value::int(gb)), ("uuid", uuid)]))
                        .collect(),
                ),
            ),
        ])
    }

    #[test]
    fn set_elements_take_defaults_from_their_own_configuration() {
        let b = Block::new().block(NestedBlock::new(
            "pool",
            Nesting::Set,
            Block::new()
                .attr(Attribute::string("name").required())
                .attr(Attribute::bool("primary").default(false))
                .attr(Attribute::number("cpu").default(Value::int(4))),
        ));
        let el = |name: &str, primary: Value, cpu: Value| {
            Value::object([
                ("name", Value::from(name)),
                ("primary", primary),
                ("cpu", cpu),
            ])
        };
        let cfg = Value::object([(
            "pool",
            Value::Set(vec![
                el("cp", Value::Bool(true), Value::Null),
                el("workers", Value::Null, Value::int(2)),
            ]),
        )]);
        // Terraform's proposed set, in its own order, with prior values filled in.
        let prior = Value::object([(
            "pool",
            Value::Set(vec![
                el("workers", Value::Bool(false), Value::int(2)),
                el("cp", Value::Bool(true), Value::int(4)),
            ]),
        )]);
        let p = plan(&b, &prior, &prior, &cfg);
        assert!(p.state.semantically_equal(&prior), "{:?}", p.state);
    }

    #[test]
    fn create_fills_defaults_and_unknowns() {
        let cfg = obj(
            "a",
            None,
            Value::Null,
            vec![(10, Value::Null)],
            Value::Null,
            Value::Null,
        );
        let p = plan(&block(), &Value::Null, &cfg, &cfg);
        let want = obj(
            "a",
            None,
            Value::int(1),
            vec![(10, Value::Unknown)],
            Value::Unknown,
            Value::Unknown,
        );
        assert_eq!(p.state, want);
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn no_change_plans_prior_state_exactly() {
        let prior = obj(
            "a",
            None,
            Value::int(1),
            vec![(10, "u1".into())],
            "id1".into(),
            "ok".into(),
        );
        let cfg = obj(
            "a",
            None,
            Value::Null,
            vec![(10, Value::Null)],
            Value::Null,
            Value::Null,
        );
        // Terraform's proposed state keeps prior values for computed attributes.
        let p = plan(&block(), &prior, &prior, &cfg);
        assert_eq!(p.state, prior);
    }

    #[test]
    fn update_keeps_stable_ids_and_unknowns_the_rest() {
        let prior = obj(
            "a",
            None,
            Value::int(1),
            vec![(10, "u1".into())],
            "id1".into(),
            "ok".into(),
        );
        let cfg = obj(
            "a",
            Some("hi"),
            Value::Null,
            vec![(10, Value::Null), (20, Value::Null)],
            Value::Null,
            Value::Null,
        );
        let proposed = obj(
            "a",
            Some("hi"),
            Value::Null,
            vec![(10, "u1".into()), (20, Value::Null)],
            "id1".into(),
            "ok".into(),
        );
        let p = plan(&block(), &prior, &proposed, &cfg);
        let want = obj(
            "a",
            Some("hi"),
            Value::int(1),
            vec![(10, "u1".into()), (20, Value::Unknown)],
            "id1".into(),
            Value::Unknown,
        );
        assert_eq!(p.state, want);
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn requires_replace_names_the_attribute() {
        let prior = obj("a", None, Value::int(1), vec![], "id1".into(), "ok".into());
        let cfg = obj("b", None, Value::Null, vec![], Value::Null, Value::Null);
        let proposed = obj("b", None, Value::Null, vec![], "id1".into(), "ok".into());
        let p = plan(&block(), &prior, &proposed, &cfg);
        assert_eq!(p.requires_replace, vec![AttrPath::attr("name")]);
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj("a", None, Value::int(1), vec![], "id1".into(), "ok".into());
        assert_eq!(
            plan(&block(), &prior, &Value::Null, &Value::Null).state,
            Value::Null
        );
    }
}
