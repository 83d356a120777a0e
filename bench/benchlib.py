"""What the benchmarks share: tools, a filesystem mirror with a Terraform CLI config, palette-lab
as a child process with its admin API, and a terraform runner."""

import json
import os
import shutil
import tempfile
import subprocess
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "0.1.0"


def tool(name):
    """A tool scripts/tools.sh installs (terraform, vcsim, null-provider): its path."""
    return subprocess.run([os.path.join(REPO, "scripts", "tools.sh"), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def mirror(root, source, version, binary, filename):
    d = os.path.join(root, "registry.terraform.io", source, version, "linux_amd64")
    os.makedirs(d, exist_ok=True)
    shutil.copy(binary, os.path.join(d, filename))


def terraform_env(work_root, providers):
    """A filesystem mirror holding `providers` ((source, version, binary, filename) each) and the
    environment that makes terraform use only it, with no log variables inherited."""
    mirror_dir = os.path.join(work_root, "mirror")
    for source, version, binary, filename in providers:
        mirror(mirror_dir, source, version, binary, filename)
    rc = os.path.join(work_root, "terraform.rc")
    with open(rc, "w") as f:
        f.write(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror_dir}"\n  }}\n}}\n')
    env = dict(os.environ, TF_CLI_CONFIG_FILE=rc, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    for k in ("TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER"):
        env.pop(k, None)
    return env


def palette_provider(binary):
    return ("palette-community/palette", VERSION, binary, f"terraform-provider-palette_v{VERSION}")


def check_release_builds(*binaries):
    for b in binaries:
        if not os.access(b, os.X_OK):
            raise SystemExit(f"{b} is missing: cargo build --release -p terraform-provider-palette -p palette-lab")


class Lab:
    """palette-lab until stop(): with its own vcsim when `vcsim` is a path, else --no-vcsim."""

    def __init__(self, binary, work, time_scale=None, vcsim=None, extra=()):
        self.out = open(os.path.join(work, "lab.out"), "w+")
        args = [binary, *extra]
        if time_scale is not None:
            args += ["--time-scale", str(time_scale)]
        env = dict(os.environ)
        if vcsim:
            env["VCSIM_BIN"] = vcsim
            ready = "VCENTER_PASSWORD="
        else:
            args.append("--no-vcsim")
            ready = "PALETTE_API_KEY="
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.DEVNULL, env=env)
        for _ in range(600):
            self.out.seek(0)
            text = self.out.read()
            if ready in text:
                break
            time.sleep(0.05)
        else:
            raise SystemExit("palette-lab did not start")
        self.vals = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
        self.endpoint, self.key = self.vals["PALETTE_ENDPOINT"], self.vals["PALETTE_API_KEY"]

    def admin(self, method, path, body=None):
        return self.api(method, path, body)

    def api(self, method, path, body=None, project=None):
        """A call as the console makes it (with `project`, in that project's scope)."""
        # The admin API takes the key printed at start; so does the Palette API.
        headers = {"Content-Type": "application/json", "ApiKey": self.key}
        if project:
            headers["ProjectUid"] = project
        req = urllib.request.Request(self.endpoint + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers=headers)
        try:
            with urllib.request.urlopen(req) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise SystemExit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')[:2000]}")

    def calls(self):
        """Palette API calls so far (the lab's counter, admin calls left out)."""
        return sum(v for k, v in self.admin("GET", "/lab/calls").items() if " /v1/" in k)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def terraform(tf, work, env, *args):
    """terraform ARGS in `work`; exit codes 0 and 2 (-detailed-exitcode) are fine, others end the run."""
    r = subprocess.run([tf, *args, "-input=false", "-no-color"], cwd=work, env=env,
                       capture_output=True, text=True)
    if r.returncode not in (0, 2):
        raise SystemExit(f"terraform {' '.join(args)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def provider_prelude(endpoint, project="Default"):
    """The terraform block and palette provider block every benchmark's configuration starts with."""
    project_line = f'\n  project  = "{project}"' if project else ""
    return f'''terraform {{
  required_providers {{
    palette = {{ source = "palette-community/palette" }}
  }}
}}
provider "palette" {{
  endpoint = "{endpoint}"{project_line}
}}
'''


def binary_args(ap):
    """The options every benchmark takes: the binaries under test and --keep."""
    ap.add_argument("--provider", default=os.path.join(REPO, "target/release/terraform-provider-palette"))
    ap.add_argument("--lab", default=os.path.join(REPO, "target/release/palette-lab"))
    ap.add_argument("--terraform")
    ap.add_argument("--keep", action="store_true", help="keep the working directories and print where")


def clean_up(work_root, keep):
    if keep:
        print(f"working directories kept under {work_root}")
    else:
        shutil.rmtree(work_root, ignore_errors=True)


def start_run(a, terraform_tool, prefix):
    """Terraform (the `--terraform` given or `scripts/tools.sh TOOL`), its version line, a fresh working
    directory and the environment that installs the provider under test there."""
    tf = a.terraform or tool(terraform_tool)
    check_release_builds(a.provider, a.lab)
    version = subprocess.run([tf, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    work = tempfile.mkdtemp(prefix=prefix)
    return tf, version, work, terraform_env(work, [palette_provider(a.provider)])
