#!/usr/bin/env bash
# Start-up benchmark: this provider (release build) against the Go null provider 2.1.2,
# median time from process start to the go-plugin handshake line with AutoMTLS on.
#   bench/startup.sh [RUNS]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
runs="${1:-30}"
null_provider="$(scripts/tools.sh null-provider)"
cargo build --quiet --release -p terraform-provider-palette -p palette-bench
target/release/startup --runs "$runs" --json target/startup-bench.json \
  palette=target/release/terraform-provider-palette \
  null-go="$null_provider"
