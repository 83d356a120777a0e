#!/usr/bin/env bash
# Build the vCenter simulator (lab/vcsim/main.go) offline from Debian packages:
#   golang-go                          - Go toolchain
#   golang-github-vmware-govmomi-dev   - govmomi sources under /usr/share/gocode
# The build uses GOPATH mode (GO111MODULE=off), so no module proxy is needed.
#
# Output: ${PALETTE_TOOLS_DIR:-<repo>/.tools}/vcsim/vcsim
# The binary path is the only thing printed on stdout; progress goes to stderr.
# Set VCSIM_FORCE_BUILD=1 to rebuild even if the binary is up to date.
set -euo pipefail

log() { printf 'build-vcsim: %s\n' "$*" >&2; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$script_dir/.." && pwd))"

src="$REPO/lab/vcsim/main.go"
tools_dir="${PALETTE_TOOLS_DIR:-$REPO/.tools}"
out_dir="$tools_dir/vcsim"
bin="$out_dir/vcsim"
gocode=/usr/share/gocode
packages=(golang-go golang-github-vmware-govmomi-dev)

[[ -f "$src" ]] || { log "missing $src"; exit 1; }

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root or sudo to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}" >&2
fi

[[ -d "$gocode/src/github.com/vmware/govmomi/simulator" ]] || {
  log "govmomi simulator sources not found under $gocode"; exit 1; }

# --- up-to-date check ------------------------------------------------------
if [[ -z "${VCSIM_FORCE_BUILD:-}" && -x "$bin" && "$bin" -nt "$src" ]]; then
  log "up to date: $bin"
  printf '%s\n' "$bin"
  exit 0
fi

# --- build in GOPATH mode --------------------------------------------------
GO="${GO:-$(command -v go || echo /usr/bin/go)}"
mkdir -p "$out_dir"

gopath="$(mktemp -d "${TMPDIR:-/tmp}/vcsim-gopath.XXXXXX")"
trap 'rm -rf "$gopath"' EXIT
pkg_dir="$gopath/src/palette.local/vcsim"
mkdir -p "$pkg_dir"
cp "$src" "$pkg_dir/main.go"

# Keep the build cache usable even when HOME is unset.
gocache="${GOCACHE:-}"
if [[ -z "$gocache" || "$gocache" == off ]]; then
  gocache="$(env -u GOCACHE "$GO" env GOCACHE 2>/dev/null || true)"
fi
if [[ -z "$gocache" || "$gocache" == off ]]; then
  gocache="$out_dir/.gocache"
fi

log "building $bin with $("$GO" version)"
start=$SECONDS
(
  cd "$pkg_dir"
  env -u GOFLAGS \
    GOPATH="$gopath:$gocode" GO111MODULE=off CGO_ENABLED=0 GOCACHE="$gocache" \
    "$GO" build -trimpath -o "$bin.tmp" .
) >&2
mv -f "$bin.tmp" "$bin"
log "built in $((SECONDS - start))s"

printf '%s\n' "$bin"
