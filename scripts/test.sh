#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: installs what
# it needs (Rust components, Terraform 1.0.3 and 1.15.5 beside the machine's
# terraform, Go and govmomi from Debian to build vcsim),
# then formatting, lints, stale-docs check, unit, property and acceptance
# tests (real terraform CLI, once per Terraform version found).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# A one-shot run gains nothing from incremental caches, which would double the
# disk a build takes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf "\n==> %s  [%s, %ss]\n" "$*" "$(date +%H:%M:%S)" "$SECONDS"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "terraform binaries"
current_tf="$(scripts/tools.sh terraform)"
old_tf="$(scripts/tools.sh terraform-1.0.3)"
new_tf="$(scripts/tools.sh terraform-1.15)"
TF_ACC_TERRAFORM="$old_tf"
# Without terraform on PATH the "current" one is 1.0.3 again.
if [ "$current_tf" != "$old_tf" ]; then TF_ACC_TERRAFORM="$TF_ACC_TERRAFORM:$current_tf"; fi
TF_ACC_TERRAFORM="$TF_ACC_TERRAFORM:$new_tf"
export TF_ACC_TERRAFORM
IFS=: read -ra tfs <<< "$TF_ACC_TERRAFORM"
for tf in "${tfs[@]}"; do
  # sed reads to the end: with head, terraform could die of SIGPIPE and fail the step.
  "$tf" version | sed -n 1p
done

step "vcsim (vCenter simulator, built from Debian's govmomi)"
VCSIM_BIN="$(scripts/tools.sh vcsim)"
export VCSIM_BIN
echo "$VCSIM_BIN"

step "HashiCorp's vsphere provider (reads the VMs the lab and the provider make)"
VSPHERE_PROVIDER_BIN="$(scripts/tools.sh vsphere-provider)"
export VSPHERE_PROVIDER_BIN
echo "$VSPHERE_PROVIDER_BIN"

step "PostgreSQL server binaries (the pg backend's shared-state tests)"
PG_BIN_DIR="$(scripts/tools.sh postgres)"
export PG_BIN_DIR
echo "$PG_BIN_DIR"

step "cargo fmt --check"
cargo fmt --all -- --check

# Lints and the test build are one compilation: clippy-driver is rustc plus
# lints, so building our crates through it (what `cargo clippy` does, but for
# a check build) lints every target the tests build and leaves real binaries.
# A separate `cargo clippy` would compile every dependency a second time in
# check mode: on a two-core machine that was half of a cold run. Exported,
# so that every later cargo command (docs check, quickstart) reuses this
# build instead of rebuilding our crates without the wrapper.
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ -z "$clippy_driver" ]; then
  echo "clippy-driver not found: install the clippy component (rustup component add clippy)" >&2
  exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
# clippy-driver's argument list, in the encoding cargo-clippy uses.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "build every test binary, linted by clippy (-D warnings)"
mkdir -p target
cargo test --workspace --all-targets --no-run --message-format=json-render-diagnostics > target/test-binaries.json

step "generated docs and API models are up to date"
cargo run --quiet -p schemas --bin gen-docs -- --check
python3 palette-api/generate.py --check
# The runner below runs test binaries, not doc tests; there are none today,
# and this keeps one added later from being skipped.
if grep -rqE '^\s*//[!/]\s*```' --include='*.rs' tfplugin schemas provider palette-api vsphere lab acceptance-tests bench; then
  step "doc tests"
  cargo test --workspace --doc
fi

step "cargo tests (unit, property and acceptance; acceptance once per Terraform), ${TEST_JOBS:-3} jobs at a time"
set +e
python3 scripts/run_tests.py target/test-binaries.json --jobs "${TEST_JOBS:-3}" 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e

# The README's main job, as a user runs it: a broken quickstart fails CI.
step "quickstart (the README's main job)"
set +e
scripts/quickstart.sh > target/quickstart.txt 2>&1
qs=$?
set -e
tail -n 25 target/quickstart.txt
if [ "$qs" -ne 0 ]; then
  echo "quickstart failed (exit $qs); its whole output is in target/quickstart.txt"
  status=1
fi
step "done (exit $status)"
exit "$status"
