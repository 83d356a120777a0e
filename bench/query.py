#!/usr/bin/env python3
"""Query benchmark: `terraform query` over N palette_cluster_vsphere beside a refresh of the same N.

For each size N (10, 100, 1000 by default) starts a fresh palette-lab with its vcsim at a fixed
--time-scale, brings a gateway to Running (admin API), adds a vSphere cloud account and creates N
clusters tagged env:prod outside Terraform, through the Palette API as the console would (one
control-plane node each, DHCP), and waits until all are Running. Then, from a configuration
holding only the provider and a `list "palette_cluster_vsphere"` block filtering on that tag:

  query         `terraform query`                          (identities and names)
  query+config  `terraform query -generate-config-out=F`   (every object read in full, as an import)
  refresh       `terraform plan -refresh-only`             of the same N clusters, once the generated
                configuration has been applied (imports only, untimed)

each --runs times, with the Palette API calls each made (the lab's call counter, reset before each).

    bench/query.py [--sizes 10,100,1000] [--runs 3] [--time-scale 0.0005] [--workers 4] [--latency 0]
                   [--provider BIN] [--lab BIN] [--terraform BIN] [--json FILE] [--keep]

Binaries default to target/release builds (`cargo build --release -p terraform-provider-palette
-p palette-lab`), `scripts/tools.sh terraform-1.15` (`terraform query` needs Terraform 1.14 or
later) and `scripts/tools.sh vcsim`. Prints one row per case with the median seconds, API calls
and calls per cluster, and the ratio of a query to a refresh at the largest size; the same numbers
go to target/query-bench.json.
"""

import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import time

from benchlib import (REPO, Lab, binary_args, clean_up, provider_prelude, start_run, terraform,
                      tool)


TAG = ("env", "prod")


def run(tf, work, env, *args):
    """terraform ARGS in `work` (`query` takes no -input flag); exit code 0 or 2, else the run ends."""
    r = subprocess.run([tf, *args, "-no-color"], cwd=work, env=env, capture_output=True, text=True)
    if r.returncode not in (0, 2):
        raise SystemExit(f"terraform {' '.join(args)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def timed(lab, fn):
    """(seconds, Palette API calls, the calls by route) of fn(), the lab's counter reset first."""
    lab.admin("DELETE", "/lab/calls")
    t = time.perf_counter()
    r = fn()
    s = time.perf_counter() - t
    by_route = {k: v for k, v in lab.admin("GET", "/lab/calls").items() if " /v1/" in k}
    return s, sum(by_route.values()), by_route, r


def by_template(routes):
    """Calls by route with uids folded: `GET /v1/spectroclusters/{uid}` and so on."""
    out = {}
    for k, v in routes.items():
        k = re.sub(r"/[0-9a-f]{24}(?=/|$)", "/{uid}", k)
        out[k] = out.get(k, 0) + v
    return out


def cluster_entity(i, account, profile):
    """A cluster as the console posts it: one control-plane node (DHCP), tagged env:prod."""
    placement = {"cluster": "DC0_C0", "datastore": "LocalDS_0", "resourcePool": "",
                 "network": {"networkName": "VM Network", "staticIp": False}}
    return {
        "metadata": {"name": f"query-{i:04d}", "labels": {TAG[0]: TAG[1]}, "annotations": {}},
        "spec": {
            "cloudAccountUid": account,
            "profiles": [{"uid": profile, "packValues": []}],
            "cloudConfig": {
                "placement": {"datacenter": "DC0", "folder": "bench/query"},
                "staticIp": False,
                "sshKeys": [],
                "ntpServers": [],
            },
            "machinepoolconfig": [{
                "poolConfig": {"name": "cp", "isControlPlane": True, "useControlPlaneAsWorker": False,
                               "size": 1, "labels": ["control-plane"], "additionalLabels": {},
                               "taints": []},
                "cloudConfig": {"instanceType": {"numCPUs": 2, "memoryMiB": 4096, "diskGiB": 60},
                                "placements": [placement]},
            }],
        },
    }


def make_clusters(lab, n, workers):
    """A Running gateway, an account and N Running clusters in the Default project; seconds taken."""
    t = time.perf_counter()
    project = next(p["uid"] for p in lab.admin("GET", "/lab/projects")["projects"] if p["name"] == "Default")
    gw = lab.admin("POST", "/lab/gateways", {"name": "pcg-bench"})["uid"]
    account = lab.api("POST", "/v1/cloudaccounts/vsphere", {
        "metadata": {"name": "vsphere-bench", "annotations": {"overlordUid": gw}},
        "spec": {"vcenterServer": lab.vals["VCENTER_SERVER"], "username": lab.vals["VCENTER_USER"],
                 "password": lab.vals["VCENTER_PASSWORD"], "insecure": True},
    }, project)["uid"]
    profiles = lab.api("POST", "/v1/dashboard/clusterprofiles", {}, project)["items"]
    profile = next(p["metadata"]["uid"] for p in profiles if p["metadata"]["name"] == "vsphere-ubuntu-k8s")
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: lab.api("POST", "/v1/spectroclusters/vsphere",
                                        cluster_entity(i, account, profile), project), range(n)))
    created = time.perf_counter() - t
    deadline = time.monotonic() + 120 + n
    while True:
        items = lab.api("POST", "/v1/dashboard/spectroclusters/search", {}, project)["items"]
        states = [(c.get("status") or {}).get("state") for c in items]
        if len(states) == n and all(s == "Running" for s in states):
            break
        if any(s == "Failed" for s in states) or time.monotonic() > deadline:
            raise SystemExit(f"clusters not Running: {sorted(set(states))} of {len(states)}")
        time.sleep(0.2)
    return created, time.perf_counter() - t


def write_config(work, lab, n):
    with open(os.path.join(work, "main.tf"), "w") as f:
        f.write(provider_prelude(lab.endpoint))
    # Terraform reads at most `limit` results of a list block, 100 unless told.
    with open(os.path.join(work, "clusters.tfquery.hcl"), "w") as f:
        f.write(f'''list "palette_cluster_vsphere" "prod" {{
  provider = palette
  limit    = {n}
  config {{
    tags = ["{TAG[0]}:{TAG[1]}"]
  }}
}}
''')


def found(out):
    """The results `terraform query` printed: one line per object, `list.TYPE.NAME   id=...`."""
    return sum(1 for l in out.splitlines() if l.startswith("list.palette_cluster_vsphere.prod"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time-scale", type=float, default=0.0005)
    ap.add_argument("--workers", type=int, default=4, help="concurrent cluster creates while setting up")
    ap.add_argument("--latency", type=int, default=0,
                    help="milliseconds the lab waits before answering each Palette API call once the clusters "
                         "are made (a fault rule), as a Palette across a network would; 0: none")
    binary_args(ap)
    ap.add_argument("--json", default=os.path.join(REPO, "target/query-bench.json"))
    a = ap.parse_args()
    vcsim = tool("vcsim")
    tf, version, work_root, env = start_run(a, "terraform-1.15", "palette-query-bench-")

    rows, setup = [], []
    for n in [int(s) for s in a.sizes.split(",") if s]:
        work = os.path.join(work_root, f"clusters-{n}")
        os.makedirs(work)
        lab = Lab(a.lab, work, a.time_scale, vcsim)
        try:
            created_s, running_s = make_clusters(lab, n, a.workers)
            if a.latency:
                lab.admin("POST", "/lab/faults", {"path_prefix": "/v1/", "kind": "latency", "millis": a.latency})
            write_config(work, lab, n)
            penv = dict(env, PALETTE_API_KEY=lab.key)
            run(tf, work, penv, "init", "-input=false")

            def case(name, fn, check):
                samples, calls, routes = [], [], None
                for _ in range(a.runs):
                    s, c, routes, r = timed(lab, fn)
                    check(r)
                    samples.append(s)
                    calls.append(c)
                rows.append({"case": f"{name} x{n}", "kind": name, "n": n, "samples_s": samples,
                             "calls": calls, "calls_by_route": by_template(routes)})
                print(f"{name} x{n}: {statistics.median(samples):.2f} s, {statistics.median(calls):.0f} calls",
                      file=sys.stderr)

            def all_found(r):
                if found(r.stdout) != n:
                    raise SystemExit(f"query found {found(r.stdout)} of {n} clusters:\n{r.stdout[-4000:]}")

            generated = os.path.join(work, "generated.tf")

            def query_config():
                if os.path.exists(generated):
                    os.remove(generated)
                return run(tf, work, penv, "query", f"-generate-config-out={generated}")

            def all_generated(r):
                with open(generated) as f:
                    text = f.read()
                if text.count('resource "palette_cluster_vsphere"') != n:
                    raise SystemExit(f"generated configuration lacks clusters:\n{text[-4000:]}")

            case("query", lambda: run(tf, work, penv, "query"), all_found)
            case("query+config", query_config, all_generated)

            # The generated configuration in state: a plan of imports only (untimed).
            with open(generated) as f:
                text = f.read()
            if "= null # sensitive" in text:
                raise SystemExit(f"the generated configuration needs a secret filled in:\n{text[-4000:]}")
            t = time.perf_counter()
            r = terraform(tf, work, penv, "apply", "-auto-approve")
            import_s = time.perf_counter() - t
            if f"Apply complete! Resources: {n} imported, 0 added, 0 changed, 0 destroyed." not in r.stdout:
                raise SystemExit(f"the apply of the generated configuration did more than import:\n"
                                 f"{r.stdout[-4000:]}")

            def unchanged(r):
                if "No changes." not in r.stdout:
                    raise SystemExit(f"refresh of {n} clusters not clean:\n{r.stdout[-4000:]}")

            case("refresh", lambda: terraform(tf, work, penv, "plan", "-refresh-only", "-detailed-exitcode"),
                 unchanged)
            setup.append({"n": n, "create_s": created_s, "running_s": running_s, "import_apply_s": import_s})
        finally:
            if not a.keep:
                lab.stop()

    med = statistics.median
    latency = f", {a.latency} ms per API call" if a.latency else ""
    print(f"\n{version}, palette-lab --time-scale {a.time_scale}{latency}, medians of {a.runs} run(s); `query` is "
          f"`terraform query`, `query+config` adds -generate-config-out, `refresh` is `terraform plan "
          f"-refresh-only` of the same clusters in state\n")
    print(f"{'case':22} {'s':>7} {'API calls':>9} {'calls/cluster':>13}")
    for r in rows:
        calls = med(r["calls"])
        print(f"{r['case']:22} {med(r['samples_s']):7.2f} {calls:9.0f} {calls / r['n']:13.2f}")
    print()
    for s in setup:
        print(f"setup x{s['n']}: clusters created in {s['create_s']:.1f} s, all Running after "
              f"{s['running_s']:.1f} s; generated configuration applied (imports only) in "
              f"{s['import_apply_s']:.1f} s")
    if rows:
        big = max(r["n"] for r in rows)
        print(f"\nwhere the calls go at x{big} (last run), per cluster:")
        for r in rows:
            if r["n"] == big:
                parts = sorted(r["calls_by_route"].items(), key=lambda kv: (-kv[1], kv[0]))
                for i, (k, v) in enumerate(parts):
                    print(f"  {r['kind'] if i == 0 else '':13} {v / big:6.3f}  {k}")
        of = {r["kind"]: med(r["samples_s"]) for r in rows if r["n"] == big}
        print(f"\nquery-ratio:        query x{big} / refresh x{big} = {of['query'] / of['refresh']:.2f}")
        print(f"query+config-ratio: query+config x{big} / refresh x{big} = {of['query+config'] / of['refresh']:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"terraform": version, "time_scale": a.time_scale, "latency_ms": a.latency, "rows": rows,
                       "setup": setup}, f,
                      indent=1)
    clean_up(work_root, a.keep)


if __name__ == "__main__":
    sys.exit(main())
