#!/usr/bin/env bash
# The main job: build the provider, install it into a local filesystem mirror,
# and run Terraform on examples/quickstart.
#
# Today the provider has its protocol core and configuration but no resources
# yet, so this initialises and validates the quickstart and prints the steps
# that follow once palette-lab and the resources land (see the issues).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tf="$(scripts/tools.sh terraform)"
echo "==> building terraform-provider-palette"
cargo build --quiet -p terraform-provider-palette

version="0.1.0"
work="$repo/target/quickstart"
mirror="$work/mirror/registry.terraform.io/palette-community/palette/$version/linux_amd64"
rm -rf "$work"
mkdir -p "$mirror" "$work/config"
cp target/debug/terraform-provider-palette "$mirror/terraform-provider-palette_v$version"
cp examples/quickstart/*.tf "$work/config/"
cat > "$work/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/palette-community/palette"]
  }
  direct {
    exclude = ["registry.terraform.io/palette-community/palette"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraform.rc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

echo "==> $("$tf" version | head -n 1): init and validate examples/quickstart"
cd "$work/config"
"$tf" init -input=false -no-color >/dev/null
"$tf" validate -no-color
"$tf" providers schema -json | python3 -c '
import json, sys
s = json.load(sys.stdin)["provider_schemas"]["registry.terraform.io/palette-community/palette"]
print("provider attributes:", ", ".join(sorted(s["provider"]["block"]["attributes"])))
print("resources:", ", ".join(sorted(s.get("resource_schemas", {}))) or "(none yet)")
'
cat <<'NEXT'

Next, once palette-lab and the resources land, this command will:
  1. build vcsim (scripts/tools.sh vcsim) and start palette-lab on loopback (prints URL and API key);
  2. terraform apply examples/quickstart: a private cloud gateway, an IP pool, a vSphere cloud account
     and a cluster, against the lab and vcsim;
  3. print the outputs and run terraform plan again to show no changes.
NEXT
