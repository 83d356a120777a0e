#!/usr/bin/env python3
"""Cluster benchmark: many palette_cluster_vsphere in one apply, side by side with one.

Starts palette-lab (with its vcsim) at a fixed --time-scale, brings a gateway to Running through
the lab's admin API, applies a vSphere cloud account on it (untimed), then times `terraform
apply -parallelism=P` of 1 cluster and of N clusters (default 20, P = 10), each built from the
seeded cluster profile with one control-plane node and one worker (DHCP), and destroys them
(timed too). The target: N clusters take at most 1.3 x the wall time of one. Then applies M
clusters (default 100, untimed) and times `terraform plan -refresh-only` and `terraform plan`,
with the Palette API calls each made (the lab's call counter).

    bench/clusters.py [--many 20] [--parallelism 10] [--refresh 100] [--time-scale 0.0005]
                      [--runs 3] [--provider BIN] [--lab BIN] [--terraform BIN] [--keep]

Binaries default to target/release builds (`cargo build --release -p terraform-provider-palette
-p palette-lab`) and `scripts/tools.sh terraform`; vcsim comes from `scripts/tools.sh vcsim`.
At the default time scale a cluster's ~11 minutes of Palette provisioning take ~0.3 s, so the
numbers are the provider's and Terraform's own overhead plus that fixed wait.
"""

import argparse
import json
import os
import statistics
import sys
import time

from benchlib import (REPO, Lab, binary_args, clean_up, provider_prelude, start_run, terraform,
                      tool)


def write_config(work, lab, gateway, count):
    with open(os.path.join(work, "main.tf"), "w") as f:
        f.write(provider_prelude(lab.endpoint) + f'''resource "palette_cloud_account_vsphere" "a" {{
  name           = "vsphere-bench"
  gateway_id     = "{gateway}"
  vcenter_server = "{lab.vals["VCENTER_SERVER"]}"
  username       = "{lab.vals["VCENTER_USER"]}"
  password       = "{lab.vals["VCENTER_PASSWORD"]}"
  insecure       = true
}}
data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}
resource "palette_cluster_vsphere" "c" {{
  count            = {count}
  name             = "bench-${{count.index}}"
  cloud_account_id = palette_cloud_account_vsphere.a.id
  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
  }}
  cloud_config {{
    datacenter = "DC0"
    folder     = "bench/c${{count.index}}"
  }}
  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
    }}
  }}
  machine_pool {{
    name  = "workers"
    count = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
    }}
  }}
}}
''')


def timed(tf, work, env, *args):
    t = time.perf_counter()
    r = terraform(tf, work, env, *args)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--many", type=int, default=20)
    ap.add_argument("--parallelism", type=int, default=10)
    ap.add_argument("--refresh", type=int, default=100)
    ap.add_argument("--time-scale", type=float, default=0.0005)
    ap.add_argument("--runs", type=int, default=3)
    binary_args(ap)
    ap.add_argument("--json")
    a = ap.parse_args()
    vcsim = tool("vcsim")
    tf, version, work, env = start_run(a, "terraform", "palette-cluster-bench-")

    lab = Lab(a.lab, work, a.time_scale, vcsim)
    rows = {}
    try:
        gw = lab.admin("POST", "/lab/gateways", {"name": "pcg-bench"})["uid"]
        penv = dict(env, PALETTE_API_KEY=lab.key)
        par = f"-parallelism={a.parallelism}"
        write_config(work, lab, gw, 0)
        terraform(tf, work, penv, "init")
        terraform(tf, work, penv, "apply", "-auto-approve")
        for n in (1, a.many):
            creates, destroys = [], []
            for _ in range(a.runs):
                write_config(work, lab, gw, n)
                s, _ = timed(tf, work, penv, "apply", "-auto-approve", par)
                creates.append(s)
                write_config(work, lab, gw, 0)
                s, _ = timed(tf, work, penv, "apply", "-auto-approve", par)
                destroys.append(s)
            rows[n] = (creates, destroys)
        write_config(work, lab, gw, a.refresh)
        big_apply, _ = timed(tf, work, penv, "apply", "-auto-approve", par)
        refresh, plans, rcalls, pcalls = [], [], [], []
        for _ in range(a.runs):
            lab.admin("DELETE", "/lab/calls")
            s, r = timed(tf, work, penv, "plan", "-refresh-only", "-detailed-exitcode")
            refresh.append(s)
            rcalls.append(lab.calls())
            lab.admin("DELETE", "/lab/calls")
            s, r = timed(tf, work, penv, "plan", "-detailed-exitcode")
            if r.returncode != 0:
                raise SystemExit(f"plan of {a.refresh} clusters not empty:\n{r.stdout[-4000:]}")
            plans.append(s)
            pcalls.append(lab.calls())
    finally:
        if not a.keep:
            lab.stop()

    med = statistics.median
    print(f"\n{version}, palette-lab --time-scale {a.time_scale}, -parallelism={a.parallelism}, "
          f"medians of {a.runs} run(s)\n")
    print(f"{'case':34} {'apply s':>8} {'destroy s':>9}")
    for n, (c, dd) in rows.items():
        print(f"{'palette_cluster_vsphere x' + str(n):34} {med(c):8.2f} {med(dd):9.2f}")
    one, many = med(rows[1][0]), med(rows[a.many][0])
    print(f"\ncreate-ratio: x{a.many} / x1 = {many / one:.2f} (target <= 1.3)")
    print(f"destroy-ratio: x{a.many} / x1 = {med(rows[a.many][1]) / med(rows[1][1]):.2f}")
    print(f"\n{a.refresh} clusters (apply {big_apply:.1f} s): refresh {med(refresh):.2f} s with "
          f"{med(rcalls):.0f} API calls ({med(rcalls) / a.refresh:.1f} per cluster); plan {med(plans):.2f} s "
          f"with {med(pcalls):.0f} API calls")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"terraform": version, "create": rows, "refresh_s": refresh, "plan_s": plans,
                       "refresh_calls": rcalls, "plan_calls": pcalls}, f, indent=1)
    clean_up(work, a.keep)


if __name__ == "__main__":
    sys.exit(main())
