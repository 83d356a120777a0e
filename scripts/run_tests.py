#!/usr/bin/env python3
"""Runs every test binary of the workspace, several at a time.

`cargo test` runs test binaries one after another. Most of ours drive the
real terraform CLI against a lab and vcsim and spend their time waiting on
those processes, so running a few binaries side by side shortens CI a lot
while each binary still runs its own tests as cargo would (same working
directory, same environment, same arguments).

A binary whose tests drive terraform runs once per Terraform version of
TF_ACC_TERRAFORM (a `:`-separated list), as separate jobs, each with that one
version in TF_ACC_TERRAFORM and the whole list in TF_ACC_TERRAFORM_MATRIX
(so a test gated on a newer version passes unrun in an older version's job;
see acceptance-tests/src/lib.rs). A test binary that loops over versions
itself would make the slowest binary as long as all its versions together.
Other binaries run once.

Usage: scripts/run_tests.py BINARIES.json [--jobs N] [--log-dir DIR]
BINARIES.json is `cargo test --no-run --message-format=json` output.
Each job's output goes to DIR/<job>.txt and is printed whole when the job
ends; the last lines sum passed/failed/ignored over all jobs and list the
slowest. DIR/durations.json keeps each job's time, to start the longest jobs
first next time. Exit status: 0 when every job passed.
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

# Seconds the slowest version's job of each binary took (1.0.3's, nearly
# twice 1.11's) on a 2-core machine busy with a build besides, for the order
# of a run without DIR/durations.json (a clean clone): only the order matters,
# longest first, so the slowest jobs do not start last. Jobs not listed count
# as 0 and run last, in cargo's order.
ESTIMATED_SECS = {
    "cluster": 714,
    "provider/gateway": 608,
    "read_errors": 419,
    "cloud_account": 258,
    "ip_pool": 225,
    "gateway_ownership": 165,
    "trace_secrets": 112,
    "protocol": 92,
    "write_only": 68,
    "examples": 63,
    "kinds": 46,
    "persist": 30,
    "gateway_data": 25,
    "provider_config": 23,
    "clusters": 20,
    "lab/gateway": 14,
    "generate_config": 10,
}

# A test source that calls these drives terraform through the harness.
USES_TERRAFORM = re.compile(r"\bfor_each_terraform(_where)?\s*\(|\bterraform_bins\s*\(")

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
            terraform = False
            if kind == "test":
                try:
                    with open(target["src_path"]) as src:
                        terraform = bool(USES_TERRAFORM.search(src.read()))
                except OSError:
                    pass
            cwd = os.path.dirname(msg["manifest_path"])
            out.append(
                {
                    "label": name if kind == "test" else f"{name} ({kind})",
                    "name": name,
                    "crate_dir": os.path.basename(cwd),
                    "exe": msg["executable"],
                    "cwd": cwd,
                    "terraform": terraform,
                }
            )
    # Two crates may have a test target of the same name (lab's and the
    # provider's `gateway`); their logs must not overwrite each other.
    seen = {}
    for b in out:
        seen[b["label"]] = seen.get(b["label"], 0) + 1
    for b in out:
        if seen[b["label"]] > 1:
            b["label"] = f"{b['crate_dir']}/{b['label']}"
    return out


def terraform_version(path):
    try:
        out = subprocess.run(
            [path, "version", "-json"], capture_output=True, timeout=60
        ).stdout
        return json.loads(out)["terraform_version"]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return os.path.basename(os.path.dirname(path)) or path


def jobs_for(bins, terraforms):
    """One job per binary, or per (binary, Terraform) for terraform binaries."""
    jobs = []
    matrix = ":".join(p for p, _ in terraforms)
    for b in bins:
        if b["terraform"] and len(terraforms) > 1:
            for path, version in terraforms:
                jobs.append(
                    dict(
                        b,
                        label=f"{b['label']} @ {version}",
                        binary_label=b["label"],
                        env={
                            "TF_ACC_TERRAFORM": path,
                            "TF_ACC_TERRAFORM_MATRIX": matrix,
                        },
                    )
                )
        else:
            jobs.append(dict(b, binary_label=b["label"], env={}))
    return jobs


def order(jobs, durations):
    def secs(j):
        if j["label"] in durations:
            return durations[j["label"]]
        return ESTIMATED_SECS.get(j["binary_label"], 0)

    # sorted() is stable: equal estimates keep cargo's order.
    return sorted(jobs, key=lambda j: -secs(j))


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
    terraforms = [
        (p, terraform_version(p))
        for p in os.environ.get("TF_ACC_TERRAFORM", "").split(":")
        if p.strip()
    ]
    if terraforms:
        print(
            "Terraform under test: "
            + ", ".join(f"{v} ({p})" for p, v in terraforms)
            + ("; one job per version" if len(terraforms) > 1 else "")
        )
    durations_path = os.path.join(args.log_dir, "durations.json")
    try:
        with open(durations_path) as f:
            durations = json.load(f)
    except (OSError, ValueError):
        durations = {}
    jobs = order(jobs_for(bins, terraforms), durations)

    lock = threading.Lock()
    totals = {"passed": 0, "failed": 0, "ignored": 0}
    failed_jobs = []
    took = {}
    started = time.monotonic()

    def run(j):
        log = os.path.join(args.log_dir, re.sub(r"[^\w.@-]", "_", j["label"]) + ".txt")
        t0 = time.monotonic()
        with open(log, "w") as f:
            # What cargo test sets for a test process that our tests read.
            env = dict(os.environ, CARGO_MANIFEST_DIR=j["cwd"], **j["env"])
            rc = subprocess.call(
                [j["exe"]], cwd=j["cwd"], env=env, stdout=f, stderr=subprocess.STDOUT
            )
        secs = time.monotonic() - t0
        with open(log) as f:
            text = f.read()
        with lock:
            took[j["label"]] = secs
            found = RESULT.findall(text)
            for p, fl, i in found:
                totals["passed"] += int(p)
                totals["failed"] += int(fl)
                totals["ignored"] += int(i)
            if rc != 0 or not found:
                failed_jobs.append(j["label"])
            print(f"\n---- {j['label']} ({secs:.0f} s, exit {rc}) ----")
            sys.stdout.write(text)
            sys.stdout.flush()

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(run, jobs))
    wall = time.monotonic() - started
    # Merged, so that a run of a few binaries keeps the others' times.
    durations.update({k: round(v, 1) for k, v in took.items()})
    with open(durations_path, "w") as f:
        json.dump(durations, f, indent=1, sort_keys=True)
    slowest = sorted(took.items(), key=lambda kv: -kv[1])[:8]
    print(
        "\nslowest jobs: " + ", ".join(f"{k} {v:.0f} s" for k, v in slowest)
    )
    print(
        f"{totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['ignored']} skipped; {len(jobs)} jobs of {len(bins)} binaries "
        f"in {wall:.0f} s, {max(1, args.jobs)} at a time"
    )
    if failed_jobs:
        print("failed: " + ", ".join(sorted(failed_jobs)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
