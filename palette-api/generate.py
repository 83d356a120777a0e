#!/usr/bin/env python3
"""Generates palette-api/src/models.rs from the Palette API spec subset.

One Rust type per definition of ../shared/palette-api/palette-api-subset.json, named after it
(v1Overlord -> V1Overlord), one field per property, nothing invented. Every field is optional in
Rust: the lab and the client must read partial objects, and Palette omits what is empty.
String enums stay `String` (a newer Palette may add values); their values are listed in the docs.
Inline object schemas become types named after their parent and field (V1IpPoolEntitySpec).

    palette-api/generate.py          rewrite src/models.rs
    palette-api/generate.py --check  exit 1 when src/models.rs is stale
    palette-api/generate.py --dump-spec  print the spec the models come from (subset + extra operations)
"""

import json
import keyword
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent.parent / "shared" / "palette-api" / "palette-api-subset.json"
FULL_SPEC = SPEC.with_name("palette-apis-spec-4.8.json")
# Operations this project needs beyond ../shared/palette-api/operations.txt, taken from the full spec
# with every definition they reach, so nothing here is invented either.
EXTRA_OPS = HERE / "operations-extra.txt"
OUT = HERE / "src" / "models.rs"

RUST_KEYWORDS = set(
    "as break const continue crate else enum extern false fn for if impl in let loop match mod move mut pub "
    "ref return self Self static struct super trait true type unsafe use where while async await dyn abstract "
    "become box do final macro override priv typeof unsized virtual yield try gen".split()
)


def type_name(defn):
    parts = re.split(r"[^A-Za-z0-9]+", defn)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def field_name(prop):
    s = re.sub(r"[^A-Za-z0-9]+", "_", prop)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s).lower().strip("_")
    if not s or s[0].isdigit():
        s = "f_" + s
    if s in RUST_KEYWORDS or keyword.iskeyword(s):
        s = "r#" + s
    return s


# Field names that hold secrets: the word alone or as the last part of the
# name. The same rule as provider/tests/secret_debug.rs, which checks the
# output.
SECRET_WORDS = ("password", "passwd", "api_key", "apikey", "token", "secret", "pairing_code", "kubeconfig")


def is_secret(fname):
    n = fname.removeprefix("r#").lower()
    return any(n == w or n.endswith("_" + w) for w in SECRET_WORDS)


def doc(text, indent=""):
    if not text:
        return []
    line = " ".join(str(text).split())
    line = line.replace("[", "\\[").replace("]", "\\]").replace("<", "\\<").replace(">", "\\>")
    return [f"{indent}/// {line}"]


class Gen:
    def __init__(self, spec):
        self.defs = spec["definitions"]
        self.items = {}  # rust name -> code lines

    def rust_type(self, schema, owner, prop):
        if "$ref" in schema:
            return type_name(schema["$ref"].split("/")[-1])
        t = schema.get("type")
        if t == "string":
            return "String"
        if t == "integer":
            return "i32" if schema.get("format") == "int32" else "i64"
        if t == "number":
            return "f64"
        if t == "boolean":
            return "bool"
        if t == "array":
            return f"Vec<{self.rust_type(schema.get('items', {}), owner, prop + 'Item')}>"
        if "properties" in schema:
            name = owner + type_name(prop)
            self.object(name, schema, f"inline `{prop}` of {owner}")
            return name
        if t == "object" and isinstance(schema.get("additionalProperties"), dict):
            inner = self.rust_type(schema["additionalProperties"], owner, prop + "Value")
            return f"std::collections::BTreeMap<String, {inner}>"
        return "serde_json::Value"

    def object(self, name, schema, origin):
        if name in self.items:
            return
        self.items[name] = None  # reserve: recursive references resolve to the name
        lines = doc(schema.get("description"))
        lines.append(f"// spec: {origin}")
        fields = [field_name(prop) for prop in sorted(schema.get("properties", {}))]
        secret = [f for f in fields if is_secret(f)]
        # A derived Debug would print a password (or key, token, pairing
        # code) into any log line or assertion that shows the model.
        derives = "Clone, Default, PartialEq, Serialize, Deserialize" if secret else "Debug, Clone, Default, PartialEq, Serialize, Deserialize"
        lines.append(f"#[derive({derives})]")
        lines.append(f"pub struct {name} {{")
        for prop in sorted(schema.get("properties", {})):
            p = schema["properties"][prop]
            ty = self.rust_type(p, name, prop)
            if ty == name:
                ty = f"Box<{ty}>"
            d = p.get("description")
            if "enum" in p:
                d = (d + " " if d else "") + "One of: " + ", ".join(f"`{v}`" for v in p["enum"]) + "."
            lines += doc(d, "    ")
            fname = field_name(prop)
            lines.append(f'    #[serde(rename = "{prop}", default, skip_serializing_if = "Option::is_none")]')
            lines.append(f"    pub {fname}: Option<{ty}>,")
        lines.append("}")
        if secret:
            lines.append("")
            lines.append(f"/// Written by hand, not derived: {', '.join(f'`{f}`' for f in secret)} never printed.")
            lines.append(f"impl std::fmt::Debug for {name} {{")
            lines.append("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {")
            lines.append(f'        f.debug_struct("{name}")')
            for f in fields:
                if f in secret:
                    lines.append(f'            .field("{f.removeprefix("r#")}", &self.{f}.as_ref().map(|_| "<redacted>"))')
                else:
                    lines.append(f'            .field("{f.removeprefix("r#")}", &self.{f})')
            lines.append("            .finish()")
            lines.append("    }")
            lines.append("}")
        self.items[name] = lines

    def run(self):
        for defn in sorted(self.defs):
            schema = self.defs[defn]
            name = type_name(defn)
            if "properties" in schema or schema.get("type") == "object":
                self.object(name, schema, defn)
            else:
                base = self.rust_type({k: v for k, v in schema.items() if k != "enum"}, name, "")
                d = schema.get("description", "")
                if "enum" in schema:
                    d = (d + " " if d else "") + "One of: " + ", ".join(f"`{v}`" for v in schema["enum"]) + "."
                self.items[name] = doc(d) + [f"// spec: {defn}", f"pub type {name} = {base};"]
        out = [
            "//! Generated by palette-api/generate.py from palette-api-subset.json. Do not edit.",
            "",
            "use serde::{Deserialize, Serialize};",
            "",
        ]
        for name in sorted(self.items):
            out += self.items[name] + [""]
        return "\n".join(out).rstrip() + "\n"


def rustfmt(code):
    """Formats as `cargo fmt` would, so the check and the formatter agree."""
    config = HERE.parent / "rustfmt.toml"
    args = ["rustfmt", "--edition", "2021", "--emit", "stdout"]
    if config.exists():
        args += ["--config-path", str(config)]
    return subprocess.run(args, input=code, capture_output=True, text=True, check=True).stdout


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v.split("/")[-1]
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def spec():
    """The shared subset plus the operations of operations-extra.txt."""
    out = json.loads(SPEC.read_text())
    wanted = [l.split("#")[0].strip() for l in EXTRA_OPS.read_text().splitlines()] if EXTRA_OPS.exists() else []
    wanted = [w for w in wanted if w]
    if not wanted:
        return out
    full = json.loads(FULL_SPEC.read_text())
    found, todo = set(), []
    for path, item in full["paths"].items():
        for method, op in item.items():
            if method != "parameters" and op.get("operationId") in wanted:
                out["paths"].setdefault(path, {})[method] = op
                if "parameters" in item:
                    out["paths"][path]["parameters"] = item["parameters"]
                found.add(op["operationId"])
                todo.extend(refs(op))
                todo.extend(refs(item.get("parameters", [])))
    missing = [w for w in wanted if w not in found]
    if missing:
        sys.exit("operations-extra.txt names operations the spec lacks: " + ", ".join(missing))
    while todo:
        name = todo.pop()
        if name in out["definitions"]:
            continue
        out["definitions"][name] = full["definitions"][name]
        todo.extend(refs(full["definitions"][name]))
    out["definitions"] = dict(sorted(out["definitions"].items()))
    return out


def main():
    if "--dump-spec" in sys.argv[1:]:
        json.dump(spec(), sys.stdout, indent=1)
        print()
        return 0
    code = rustfmt(Gen(spec()).run())
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != code:
            print("palette-api/src/models.rs is stale: run palette-api/generate.py and commit it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
