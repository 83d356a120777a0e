#!/usr/bin/env python3
"""Many data centers at once against Palette's request rate: palette-lab throttles the tenant (429
with Retry-After past --rate requests a second, bursts of the same size) and ten data-center
workspaces (examples/modules/datacenter: a gateway through the whole install, its IP pool, a
vSphere account and a cluster) are applied at the same time, each in its own working directory,
beside one workspace applied alone under the same limit.

    bench/workspaces.py [--workspaces 10] [--rate 20] [--time-scale 0.002]
                        [--provider BIN] [--lab BIN] [--terraform BIN] [--keep]

The provider is configured with max_retries = 20, as a pipeline sharing a busy tenant would be.
Prints, per case: wall-clock seconds, the 429s the lab answered (each one a retry by the provider,
which honours Retry-After and never repeats a create), Palette API calls in all and per workspace,
and whether every workspace ended with its four objects (nothing lost, nothing made twice).
Binaries default to target/release builds and `scripts/tools.sh terraform`.
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys
import time

from benchlib import REPO, Lab, binary_args, clean_up, start_run, terraform, tool

# A tenant shared by many pipelines: each request may wait out a few 429s.
RETRIES = 20


def config(lab, i, password, retries):
    return f'''terraform {{
  required_providers {{
    palette = {{ source = "palette-community/palette" }}
  }}
}}
provider "palette" {{
  endpoint    = "{lab.endpoint}"
  project     = "Default"
  max_retries = {retries}
}}
data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}
module "dc" {{
  source             = "./modules/datacenter"
  name               = "dc{i}"
  vcenter_server     = "{lab.vals["VCENTER_SERVER"]}"
  vcenter_user       = "{lab.vals["VCENTER_USER"]}"
  vcenter_password   = "{password}"
  vcenter_insecure   = true
  datacenter         = "DC{i}"
  compute_clusters   = ["DC{i}_C0"]
  node_subnet        = "10.{i + 1}.183.0/24"
  workload_subnet    = "10.{i + 1}.184.0/24"
  cluster_profile_id = data.palette_cluster_profile.infra.id
}}
'''


def workspace(root, lab, i, env):
    work = os.path.join(root, f"dc{i}")
    module = os.path.join(work, "modules", "datacenter")
    os.makedirs(module, exist_ok=True)
    src = os.path.join(REPO, "examples", "modules", "datacenter")
    for f in os.listdir(src):
        with open(os.path.join(src, f)) as a, open(os.path.join(module, f), "w") as b:
            b.write(a.read())
    with open(os.path.join(work, "main.tf"), "w") as f:
        f.write(config(lab, i, lab.vals["VCENTER_PASSWORD"], RETRIES))
    return work


def apply_all(tf, works, env):
    """`terraform apply` in every working directory at once; seconds until the last ends."""
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(works)) as pool:
        list(pool.map(lambda w: terraform(tf, w, env, "apply", "-auto-approve"), works))
    return time.monotonic() - start


def objects(lab):
    project = lab.admin("GET", "/lab/projects")["projects"]
    project = next(p["uid"] for p in project if p["name"] == "Default")
    gateways = lab.api("GET", "/v1/overlords", project=project).get("items") or []
    clusters = lab.api("POST", "/v1/dashboard/spectroclusters/search", {}, project=project).get("items") or []
    return sorted(g["metadata"]["name"] for g in gateways), sorted(c["metadata"]["name"] for c in clusters)


def case(name, tf, lab, works, env, rows):
    lab.admin("DELETE", "/lab/calls")
    before = lab.admin("GET", "/lab/rate-limit")["throttled"]
    took = apply_all(tf, works, env)
    throttled = lab.admin("GET", "/lab/rate-limit")["throttled"] - before
    calls = lab.calls()
    rows.append((name, len(works), took, throttled, calls, calls / len(works)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspaces", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--time-scale", type=float, default=0.002)
    binary_args(ap)
    a = ap.parse_args()
    tf, version, root, env = start_run(a, "terraform", "palette-workspaces-")
    vcsim = tool("vcsim")
    n = a.workspaces
    lab = Lab(a.lab, root, a.time_scale, vcsim, extra=["--datacenters", str(n + 1), "--clusters", "1"])
    rows = []
    try:
        lab.admin("POST", "/lab/rate-limit", {"per_second": a.rate, "burst": a.rate})
        env = dict(env, PALETTE_API_KEY=lab.key)
        alone = workspace(root, lab, n, env)
        terraform(tf, alone, env, "init")
        case("one workspace alone", tf, lab, [alone], env, rows)
        works = [workspace(root, lab, i, env) for i in range(n)]
        for w in works:
            terraform(tf, w, env, "init")
        case(f"{n} workspaces at once", tf, lab, works, env, rows)
        gateways, clusters = objects(lab)
        want_g = sorted(f"pcg-dc{i}" for i in range(n + 1))
        want_c = sorted(f"apps-dc{i}" for i in range(n + 1))
        whole = gateways == want_g and clusters == want_c
    finally:
        lab.stop()
    print(f"{version}; palette-lab rate limit {a.rate:g} requests/s (burst {a.rate:g}), "
          f"time scale {a.time_scale}; provider {a.provider}")
    print(f"{'case':<24} {'workspaces':>10} {'seconds':>8} {'429s':>6} {'API calls':>9} {'calls/ws':>8}")
    for name, ws, took, throttled, calls, per in rows:
        print(f"{name:<24} {ws:>10} {took:>8.1f} {throttled:>6} {calls:>9} {per:>8.0f}")
    print("every workspace has its gateway and cluster, none twice:", "yes" if whole else
          f"NO (gateways {gateways}, clusters {clusters})")
    clean_up(root, a.keep)
    sys.exit(0 if whole else 1)


if __name__ == "__main__":
    main()
