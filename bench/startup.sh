#!/usr/bin/env bash
# Start-up and size benchmark: this provider (release build) beside HashiCorp's Go null provider 2.1.2
# and Go vsphere provider 2.0.2: binary size (as built, stripped, gzipped) and median time from process
# start to the go-plugin handshake line with AutoMTLS on, each over the null provider's.
#   bench/startup.sh [RUNS]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
runs="${1:-30}"
null_provider="$(scripts/tools.sh null-provider)"
vsphere_provider="$(scripts/tools.sh vsphere-provider)"
cargo build --quiet --release -p terraform-provider-palette -p palette-bench
target="${CARGO_TARGET_DIR:-target}"
"$target"/release/startup --runs "$runs" --json "$target"/startup-bench.json --size-peer vsphere-go \
  palette="$target"/release/terraform-provider-palette \
  null-go="$null_provider" \
  vsphere-go="$vsphere_provider"
