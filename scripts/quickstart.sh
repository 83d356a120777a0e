#!/usr/bin/env bash
# The main job: start palette-lab on loopback, build the provider and install it
# into a local filesystem mirror, `terraform apply` examples/quickstart against the
# lab, print the outputs, and show that a second plan has no changes.
#
# What it creates: the private cloud gateway, from an empty lab, through the whole
# install procedure against the lab's vcsim; an IP pool and a vSphere cloud account
# on it; then a VMware cluster (control plane + workers over two compute clusters,
# static IPs from the pool), ending Running with its VMs in vCenter. The lab runs
# at --time-scale 0.01, so the minutes of registration and provisioning take seconds.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tf="$(scripts/tools.sh terraform)"
VCSIM_BIN="$(scripts/tools.sh vcsim)"
export VCSIM_BIN
echo "==> building terraform-provider-palette and palette-lab"
cargo build --quiet -p terraform-provider-palette -p palette-lab

version="0.1.0"
work="$repo/target/quickstart"
mirror="$work/mirror/registry.terraform.io/palette-community/palette/$version/linux_amd64"
rm -rf "$work"
mkdir -p "$mirror" "$work/config"
cp target/debug/terraform-provider-palette "$mirror/terraform-provider-palette_v$version"
cp examples/quickstart/*.tf examples/quickstart/*.yaml "$work/config/"
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

echo "==> starting palette-lab (with vcsim)"
target/debug/palette-lab --time-scale 0.01 > "$work/lab.out" 2> "$work/lab.err" &
lab_pid=$!
trap 'kill "$lab_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  grep -q '^VCENTER_PASSWORD=' "$work/lab.out" 2>/dev/null && break
  sleep 0.1
done
endpoint="$(sed -n 's/^PALETTE_ENDPOINT=//p' "$work/lab.out")"
api_key="$(sed -n 's/^PALETTE_API_KEY=//p' "$work/lab.out")"
vc_server="$(sed -n 's/^VCENTER_SERVER=//p' "$work/lab.out")"
vc_user="$(sed -n 's/^VCENTER_USER=//p' "$work/lab.out")"
vc_password="$(sed -n 's/^VCENTER_PASSWORD=//p' "$work/lab.out")"
[ -n "$endpoint" ] && [ -n "$api_key" ] || { echo "palette-lab did not start:" >&2; cat "$work/lab.err" >&2; exit 1; }
echo "    Palette API $endpoint, vCenter (vcsim) $vc_server"


export TF_VAR_palette_endpoint="$endpoint" TF_VAR_palette_api_key="$api_key"
export TF_VAR_vcenter_server="$vc_server" TF_VAR_vcenter_user="$vc_user" TF_VAR_vcenter_password="$vc_password"
export TF_VAR_vcenter_insecure=true
cd "$work/config"
echo "==> $("$tf" version | head -n 1): init and apply examples/quickstart"
"$tf" init -input=false -no-color >/dev/null
"$tf" apply -auto-approve -input=false -no-color
echo "==> outputs"
"$tf" output -no-color
echo "==> plan again: expecting no changes"
"$tf" plan -input=false -no-color -detailed-exitcode
echo "==> quickstart done: no changes after apply"
