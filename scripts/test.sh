#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: installs what
# it needs (Rust components, Terraform 1.0.3 beside the machine's terraform,
# Go and govmomi from Debian to build vcsim),
# then formatting, lints, stale-docs check, unit, property and acceptance
# tests (real terraform CLI, once per Terraform version found).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# A one-shot run gains nothing from incremental caches, which would double the
# disk a build takes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "terraform binaries"
current_tf="$(scripts/tools.sh terraform)"
old_tf="$(scripts/tools.sh terraform-1.0.3)"
"$current_tf" version | head -n 1
"$old_tf" version | head -n 1
export TF_ACC_TERRAFORM="$current_tf:$old_tf"
if [ "$current_tf" = "$old_tf" ]; then export TF_ACC_TERRAFORM="$old_tf"; fi

step "vcsim (vCenter simulator, built from Debian's govmomi)"
VCSIM_BIN="$(scripts/tools.sh vcsim)"
export VCSIM_BIN
echo "$VCSIM_BIN"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "generated docs and API models are up to date"
cargo run --quiet -p schemas --bin gen-docs -- --check
python3 palette-api/generate.py --check

step "cargo test (unit, property and acceptance tests)"
mkdir -p target
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e
# One closing line over all test binaries.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\n%d passed, %d failed, %d skipped\n", p, f, i }' \
  target/test-output.txt
exit "$status"
