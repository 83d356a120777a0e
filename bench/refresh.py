#!/usr/bin/env python3
"""Refresh benchmark: palette_ip_pool against the Go null provider.

For N pools on one gateway of palette-lab (N = 10, 100, 1000 by default), applies them once
(untimed), then times `terraform plan -refresh-only` (the refresh alone) and `terraform plan`
(refresh, then a plan of every pool), counting the Palette API calls each made, from the lab's
call counter. Then does the same for 1000 null_resource of
the Go null provider 2.1.2, which refreshes without any API at all: the peer for the target
"refreshing 1000 pools is no slower than the null provider's plan of 1000 resources".

    bench/refresh.py [--sizes 10,100,1000] [--runs 3] [--null 1000]
                     [--provider BIN] [--lab BIN] [--terraform BIN] [--null-provider BIN]

Binaries default to target/release builds (build them with
`cargo build --release -p terraform-provider-palette -p palette-lab`), `scripts/tools.sh
terraform` and `scripts/tools.sh null-provider`. Prints one row per case with the median and
minimum plan time over --runs plans, API calls per plan, and calls per pool.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (REPO, Lab, binary_args, check_release_builds, clean_up, palette_provider, provider_prelude,
                      terraform, terraform_env, tool)


def timed_plans(tf, work, env, runs, between=None, mode=()):
    samples, calls = [], []
    for _ in range(runs):
        if between:
            between("reset")
        t = time.perf_counter()
        r = terraform(tf, work, env, "plan", "-detailed-exitcode", *mode)
        samples.append(time.perf_counter() - t)
        # -refresh-only may exit 2 with nothing to change; the text is the arbiter there.
        if r.returncode != 0 and "No changes." not in r.stdout:
            raise SystemExit(f"plan not empty:\n{r.stdout}")
        if between:
            calls.append(between("count"))
    return samples, calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--null", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    binary_args(ap)
    ap.add_argument("--null-provider")
    ap.add_argument("--json")
    a = ap.parse_args()
    tf = a.terraform or tool("terraform")
    null_bin = a.null_provider or tool("null-provider")
    check_release_builds(a.provider, a.lab)
    version = subprocess.run([tf, "version"], capture_output=True, text=True).stdout.splitlines()[0]

    work_root = tempfile.mkdtemp(prefix="palette-refresh-bench-")
    env = terraform_env(work_root, [
        palette_provider(a.provider),
        ("hashicorp/null", "2.1.2", null_bin, "terraform-provider-null_v2.1.2_x4"),
    ])

    rows = []
    for n in [int(s) for s in a.sizes.split(",") if s]:
        work = os.path.join(work_root, f"pools-{n}")
        os.makedirs(work)
        lab = Lab(a.lab, work)
        try:
            gw = lab.admin("POST", "/lab/gateways", {"name": "pcg-bench"})["uid"]
            with open(os.path.join(work, "main.tf"), "w") as f:
                f.write(provider_prelude(lab.endpoint, None) + f'''resource "palette_ip_pool" "p" {{
  count      = {n}
  gateway_id = "{gw}"
  name       = "pool-${{count.index}}"
  start      = "10.${{floor(count.index / 250)}}.${{count.index % 250}}.1"
  end        = "10.${{floor(count.index / 250)}}.${{count.index % 250}}.10"
  prefix     = 24
}}
''')
            penv = dict(env, PALETTE_API_KEY=lab.key)
            terraform(tf, work, penv, "init")
            t = time.perf_counter()
            terraform(tf, work, penv, "apply", "-auto-approve")
            apply_s = time.perf_counter() - t

            def between(what):
                if what == "reset":
                    lab.admin("DELETE", "/lab/calls")
                    return None
                return lab.calls()

            samples, calls = timed_plans(tf, work, penv, a.runs, between)
            refresh, rcalls = timed_plans(tf, work, penv, a.runs, between, ("-refresh-only",))
            rows.append({"case": f"palette_ip_pool x{n}", "n": n, "samples_s": samples,
                         "refresh_s": refresh, "calls": calls, "refresh_calls": rcalls, "apply_s": apply_s})
        finally:
            if not a.keep:
                lab.stop()

    if a.null:
        work = os.path.join(work_root, f"null-{a.null}")
        os.makedirs(work)
        with open(os.path.join(work, "main.tf"), "w") as f:
            f.write(f'''terraform {{
  required_providers {{
    null = {{ source = "hashicorp/null", version = "2.1.2" }}
  }}
}}
resource "null_resource" "r" {{
  count = {a.null}
}}
''')
        terraform(tf, work, env, "init")
        t = time.perf_counter()
        terraform(tf, work, env, "apply", "-auto-approve")
        apply_s = time.perf_counter() - t
        samples, _ = timed_plans(tf, work, env, a.runs)
        refresh, _ = timed_plans(tf, work, env, a.runs, None, ("-refresh-only",))
        rows.append({"case": f"null_resource x{a.null} (Go null 2.1.2)", "n": a.null,
                     "samples_s": samples, "refresh_s": refresh, "calls": [], "refresh_calls": [],
                     "apply_s": apply_s})

    print(f"\n{version}, medians of {a.runs} run(s); `refresh` is `terraform plan -refresh-only`, "
          f"`plan` is `terraform plan` (refresh, then plan every resource)\n")
    print(f"{'case':38} {'refresh s':>9} {'plan s':>7} {'API calls/refresh':>17} {'API calls/plan':>14} "
          f"{'calls/resource':>14} {'apply s':>8}")
    for r in rows:
        calls = statistics.median(r["calls"]) if r["calls"] else None
        rcalls = statistics.median(r["refresh_calls"]) if r["refresh_calls"] else None
        per = f"{calls / r['n']:.3f}" if calls is not None else "-"
        fmt = lambda c: f"{c:.0f}" if c is not None else "-"
        print(f"{r['case']:38} {statistics.median(r['refresh_s']):9.2f} {statistics.median(r['samples_s']):7.2f} "
              f"{fmt(rcalls):>17} {fmt(calls):>14} {per:>14} {r['apply_s']:8.1f}")
    pools = [r for r in rows if r["case"].startswith("palette_ip_pool")]
    null = [r for r in rows if r["case"].startswith("null_resource")]
    if pools and null:
        big = max(pools, key=lambda r: r["n"])
        null_plan = statistics.median(null[0]["samples_s"])
        ratio = statistics.median(big["refresh_s"]) / null_plan
        print(f"\nrefresh-ratio: palette_ip_pool x{big['n']} refresh / null_resource x{null[0]['n']} plan = {ratio:.2f} "
              f"(target <= 1.0)")
        ratio = statistics.median(big["samples_s"]) / null_plan
        print(f"plan-ratio:    palette_ip_pool x{big['n']} plan / null_resource x{null[0]['n']} plan = {ratio:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"terraform": version, "rows": rows}, f, indent=1)
    clean_up(work_root, a.keep)


if __name__ == "__main__":
    sys.exit(main())
