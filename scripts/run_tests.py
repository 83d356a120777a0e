#!/usr/bin/env python3
"""Runs every test binary of the workspace, several at a time.

`cargo test` runs test binaries one after another. Most of ours drive the
real terraform CLI against a lab and vcsim and spend their time waiting on
those processes, so running a few binaries side by side shortens CI a lot
while each binary still runs its own tests as cargo would (same working
directory, same environment, same arguments).

Usage: scripts/run_tests.py BINARIES.json [--jobs N] [--log-dir DIR]
BINARIES.json is `cargo test --no-run --message-format=json` output.
Each binary's output goes to DIR/<name>.txt and is printed whole when the
binary ends; the last line sums passed/failed/ignored over all binaries.
Exit status: 0 when every binary passed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# Longest first, so that the slowest binaries do not start last. Names are
# test targets; unknown ones run after these, in cargo's order.
SLOW_FIRST = [
    "cluster",
    "cloud_account",
    "gateway",
    "read_errors",
    "gateway_ownership",
    "protocol",
    "ip_pool",
    "examples",
    "generate_config",
    "persist",
]

RESULT = re.compile(
    r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", re.M
)


def binaries(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
                continue
            if not msg.get("profile", {}).get("test"):
                continue
            target = msg["target"]
            name = target["name"]
            kind = target["kind"][0]
            label = name if kind == "test" else f"{name} ({kind})"
            out.append(
                {
                    "label": label,
                    "name": name,
                    "exe": msg["executable"],
                    "cwd": os.path.dirname(msg["manifest_path"]),
                    "package": msg["package_id"],
                }
            )
    order = {n: i for i, n in enumerate(SLOW_FIRST)}
    out.sort(key=lambda b: order.get(b["name"], len(order)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "3")))
    ap.add_argument("--log-dir", default="target/test-logs")
    args = ap.parse_args()
    bins = binaries(args.binaries)
    if not bins:
        print("no test binaries found in " + args.binaries, file=sys.stderr)
        return 1
    os.makedirs(args.log_dir, exist_ok=True)
    lock = threading.Lock()
    totals = {"passed": 0, "failed": 0, "ignored": 0}
    failed_bins = []
    started = time.monotonic()

    def run(b):
        log = os.path.join(args.log_dir, re.sub(r"[^\w.-]", "_", b["label"]) + ".txt")
        t0 = time.monotonic()
        with open(log, "w") as f:
            # What cargo test sets for a test process that our tests read.
            env = dict(os.environ, CARGO_MANIFEST_DIR=b["cwd"])
            rc = subprocess.call(
                [b["exe"]], cwd=b["cwd"], env=env, stdout=f, stderr=subprocess.STDOUT
            )
        secs = time.monotonic() - t0
        with open(log) as f:
            text = f.read()
        with lock:
            found = RESULT.findall(text)
            for p, fl, i in found:
                totals["passed"] += int(p)
                totals["failed"] += int(fl)
                totals["ignored"] += int(i)
            if rc != 0 or not found:
                failed_bins.append(b["label"])
            print(f"\n---- {b['label']} ({secs:.0f} s, exit {rc}) ----")
            sys.stdout.write(text)
            sys.stdout.flush()

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(run, bins))
    wall = time.monotonic() - started
    print(
        f"\n{totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['ignored']} skipped; {len(bins)} binaries in {wall:.0f} s"
    )
    if failed_bins:
        print("failed: " + ", ".join(sorted(failed_bins)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
