//! Renders registry-format Markdown (docs/index.md, docs/resources/*.md,
//! docs/data-sources/*.md, docs/ephemeral-resources/*.md) from the schemas
//! and the HCL under examples/.

use std::fmt::Write as _;
use std::path::Path;

use tfplugin::schema::{Attribute, Block, Nesting};
use tfplugin::{Schema, Type};

/// What kind of page to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Provider,
    Resource,
    DataSource,
    /// Terraform 1.10+ (`ephemeral` blocks).
    EphemeralResource,
    /// Terraform 1.14+ (`list` blocks in `.tfquery.hcl` files).
    ListResource,
    /// Terraform 1.14+ (`action` blocks).
    Action,
}

/// Said on every action's page.
const ACTION_NOTE: &str = "~> **Terraform 1.14 or later.** Run it with `terraform apply -invoke=action.TYPE.NAME`, \
or from a resource's `lifecycle { action_trigger { ... } }`. Its progress shows in Terraform's output as it runs. Older \
Terraform does not see actions and keeps working with the rest of the provider.";

/// Said on every list resource's page.
const LIST_NOTE: &str = "~> **Terraform 1.14 or later.** `list` blocks go in `.tfquery.hcl` files and run with \
`terraform query`; `terraform query -generate-config-out=FILE` writes an `import` block (by identity) and a \
`resource` block for each object found. Each object is read as an import reads it, so the generated \
configuration plans nothing but the imports. It holds what you would write: defaults and computed values are \
left out, and a cluster's pack values come out as `jsonencode({...})`, readable HCL that says the same as \
Palette's YAML (YAML comments are not carried over). An account's password, which Palette never returns, \
stays unset: the account plans clean without it, and any later change to the account asks for it. Terraform \
stops after 100 results of a `list` block unless the block sets a higher `limit` (a top-level argument, beside \
`provider`). A plain `terraform query` costs one listing per page: objects are read in full only for \
`-generate-config-out`, or for a filter the listing cannot answer.";

/// Said on every ephemeral resource's page: the registry lists them beside
/// resources, and a user of an older Terraform gets only a parse error.
const EPHEMERAL_NOTE: &str = "~> **Terraform 1.10 or later.** Ephemeral resources are opened when a run \
needs them and are never written to the plan or state. Terraform 1.9 and older do not know `ephemeral` \
blocks. With Terraform 1.11.4, `terraform show -json` crashes (\"unsupported resource mode\") once an \
ephemeral resource with a `postcondition` has run, because that version records the check's result in \
state: leave postconditions off ephemeral resources there.";

/// One rendered page: its path under docs/ and its text.
pub struct Page {
    pub path: String,
    pub text: String,
}

fn type_label(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_label(e)),
        Type::Set(e) => format!("Set of {}", type_label(e)),
        Type::Map(e) => format!("Map of {}", type_label(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

fn nesting_label(n: Nesting) -> &'static str {
    match n {
        Nesting::Single | Nesting::Group => "Block",
        Nesting::List => "Block List",
        Nesting::Set => "Block Set",
        Nesting::Map => "Block Map",
    }
}

fn attr_line(a: &Attribute, anchor_prefix: &str, out: &mut String, nested: &mut Vec<Nested>) {
    let mut flags = vec![match &a.nested {
        Some(n) => format!(
            "{} Nested",
            match n.nesting {
                Nesting::Single | Nesting::Group => "Attributes",
                Nesting::List => "Attributes List",
                Nesting::Set => "Attributes Set",
                Nesting::Map => "Attributes Map",
            }
        ),
        None => type_label(&a.ty),
    }];
    if a.sensitive {
        flags.push("Sensitive".into());
    }
    if a.deprecated.is_some() {
        flags.push("Deprecated".into());
    }
    let mut desc = a.description.clone();
    if let Some(d) = &a.default {
        let shown = match d {
            tfplugin::Value::String(s) => format!("{s:?}"),
            tfplugin::Value::Number(n) => n.to_string(),
            tfplugin::Value::Bool(b) => b.to_string(),
            other => format!("{other:?}"),
        };
        if !desc.contains("Defaults to") {
            let _ = write!(desc, " Defaults to `{shown}`.");
        }
    }
    for v in &a.validators {
        let _ = write!(desc, " Value {}.", v.description());
    }
    if a.plan_modifiers
        .iter()
        .any(|m| matches!(m, tfplugin::schema::PlanModifier::RequiresReplace))
    {
        desc.push_str(" Changing it replaces the resource.");
    }
    if let Some(why) = &a.deprecated {
        let _ = write!(desc, " **Deprecated:** {why}");
    }
    let anchor = format!("{anchor_prefix}{}", a.name);
    if let Some(n) = &a.nested {
        let _ = writeln!(
            out,
            "- `{}` ({}) {} (see [below for nested schema](#nestedatt--{anchor}))",
            a.name,
            flags.join(", "),
            desc.trim()
        );
        nested.push(Nested {
            anchor: format!("nestedatt--{anchor}"),
            title: anchor.replace("--", "."),
            attrs: n.attributes.clone(),
            block: None,
        });
    } else {
        let _ = writeln!(out, "- `{}` ({}) {}", a.name, flags.join(", "), desc.trim());
    }
}

struct Nested {
    anchor: String,
    title: String,
    attrs: Vec<Attribute>,
    block: Option<Block>,
}

fn render_block(block: &Block, anchor_prefix: &str, out: &mut String, heading: &str) {
    let mut nested = Vec::new();
    fn required(a: &Attribute) -> bool {
        a.required
    }
    fn optional(a: &Attribute) -> bool {
        a.optional
    }
    fn read_only(a: &Attribute) -> bool {
        a.computed && !a.optional && !a.required
    }
    type Group = (&'static str, fn(&Attribute) -> bool);
    let groups: [Group; 3] = [
        ("Required", required),
        ("Optional", optional),
        ("Read-Only", read_only),
    ];
    for (title, pred) in groups.iter() {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pred(a)).collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| match *title {
                "Required" => b.min_items > 0,
                "Optional" => b.min_items == 0,
                _ => false,
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{heading} {title}\n");
        let mut entries: Vec<(String, String)> = Vec::new();
        for a in attrs {
            let mut line = String::new();
            attr_line(a, anchor_prefix, &mut line, &mut nested);
            entries.push((a.name.clone(), line));
        }
        for b in blocks {
            let anchor = format!("{anchor_prefix}{}", b.name);
            let mut limits = String::new();
            if b.max_items > 0 {
                let _ = write!(limits, ", Max: {}", b.max_items);
            }
            if b.min_items > 0 {
                let _ = write!(limits, ", Min: {}", b.min_items);
            }
            let mut desc = b.block.description.clone();
            if b.plan_modifiers
                .iter()
                .any(|m| matches!(m, tfplugin::schema::PlanModifier::RequiresReplace))
            {
                desc.push_str(" Changing it replaces the resource.");
            }
            entries.push((
                b.name.clone(),
                format!(
                    "- `{}` ({}{limits}) {} (see [below for nested schema](#nestedblock--{anchor}))\n",
                    b.name,
                    nesting_label(b.nesting),
                    desc.trim()
                ),
            ));
            nested.push(Nested {
                anchor: format!("nestedblock--{anchor}"),
                title: anchor.replace("--", "."),
                attrs: Vec::new(),
                block: Some(b.block.clone()),
            });
        }
        entries.sort();
        for (_, line) in entries {
            out.push_str(&line.replace(" )", ")"));
        }
        out.push('\n');
    }
    for n in nested {
        let _ = writeln!(
            out,
            "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n",
            n.anchor, n.title
        );
        let prefix = format!(
            "{}--",
            n.anchor.split_once("--").map(|x| x.1).unwrap_or_default()
        );
        match n.block {
            Some(b) => render_block(&b, &prefix, out, "####"),
            None => render_block(
                &Block {
                    attributes: n.attrs,
                    ..Block::default()
                },
                &prefix,
                out,
                "####",
            ),
        }
    }
}

/// The identity schema of a resource type, for its page.
fn identity_of(name: &str) -> Option<tfplugin::IdentitySchema> {
    match name {
        crate::gateway::TYPE_NAME => Some(crate::identity::gateway()),
        crate::ip_pool::TYPE_NAME => Some(crate::identity::ip_pool()),
        crate::cloud_account::TYPE_NAME => Some(crate::identity::cloud_account()),
        crate::cluster::TYPE_NAME => Some(crate::identity::cluster()),
        crate::vsphere_zones::TYPE_NAME => Some(crate::identity::vsphere_zones()),
        _ => None,
    }
}

fn read_example(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Renders one page. `examples` is the examples/ folder.
pub fn render(kind: Kind, name: &str, schema: &Schema, examples: &Path) -> Page {
    let (path, subcategory, example, title) = match kind {
        Kind::Provider => (
            "index.md".to_string(),
            "",
            examples.join("provider/provider.tf"),
            format!("{name} Provider"),
        ),
        Kind::Resource => (
            format!("resources/{}.md", name.trim_start_matches("palette_")),
            "",
            examples.join(format!("resources/{name}/resource.tf")),
            format!("{name} (Resource)"),
        ),
        Kind::DataSource => (
            format!("data-sources/{}.md", name.trim_start_matches("palette_")),
            "",
            examples.join(format!("data-sources/{name}/data-source.tf")),
            format!("{name} (Data Source)"),
        ),
        Kind::EphemeralResource => (
            format!(
                "ephemeral-resources/{}.md",
                name.trim_start_matches("palette_")
            ),
            "",
            examples.join(format!("ephemeral-resources/{name}/ephemeral-resource.tf")),
            format!("{name} (Ephemeral Resource)"),
        ),
        Kind::Action => (
            format!("actions/{}.md", name.trim_start_matches("palette_")),
            "",
            examples.join(format!("actions/{name}/action.tf")),
            format!("{name} (Action)"),
        ),
        Kind::ListResource => (
            format!("list-resources/{}.md", name.trim_start_matches("palette_")),
            "",
            examples.join(format!("list-resources/{name}/list-resource.tfquery.hcl")),
            format!("{name} (List Resource)"),
        ),
    };
    let _ = subcategory;
    let description = schema.block.description.trim().to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\npage_title: \"{title}\"\ndescription: |-\n  {}\n---\n",
        description.replace('\n', "\n  ")
    );
    let _ = writeln!(out, "# {title}\n\n{description}\n");
    if kind == Kind::EphemeralResource {
        let _ = writeln!(out, "{EPHEMERAL_NOTE}\n");
    }
    if kind == Kind::ListResource {
        let _ = writeln!(out, "{LIST_NOTE}\n");
    }
    if kind == Kind::Action {
        let _ = writeln!(out, "{ACTION_NOTE}\n");
    }
    if let Some(ex) = read_example(&example) {
        let _ = writeln!(out, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    let _ = writeln!(out, "## Schema\n");
    render_block(&schema.block, "", &mut out, "###");
    if kind == Kind::Resource {
        if let Some(import) = read_example(&examples.join(format!("resources/{name}/import.sh"))) {
            let _ = writeln!(out, "## Import\n\nImport is supported using the following syntax:\n\n```shell\n{import}\n```\n");
        }
        if let Some(identity) = identity_of(name) {
            let _ = writeln!(
                out,
                "### Import by identity\n\nTerraform 1.12 or later also imports by identity, in an `import` block's `identity` \
                 argument; the provider fills in what is left out, and Terraform stores the whole identity beside the state.\n"
            );
            if let Some(ex) =
                read_example(&examples.join(format!("resources/{name}/import-by-identity.tf")))
            {
                let _ = writeln!(out, "```terraform\n{ex}\n```\n");
            }
            let _ = writeln!(
                out,
                "Identity attributes, each optional in an `import` block:\n"
            );
            for a in &identity.attributes {
                let _ = writeln!(
                    out,
                    "- `{}` ({}) {}",
                    a.name,
                    type_label(&a.ty),
                    a.description
                );
            }
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    Page { path, text: out }
}
