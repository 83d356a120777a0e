//! Drives the real `terraform` CLI against a provider binary, in the spirit
//! of terraform-plugin-testing: each test gets a throw-away working
//! directory, a filesystem mirror holding the provider, and a CLI config
//! that installs from that mirror only.
//!
//! Which Terraform runs: every binary in `TF_ACC_TERRAFORM` (a list
//! separated by `:`), or else `terraform` on PATH plus the Terraforms 1.0.3
//! and 1.15.5 that `scripts/tools.sh` installs under `.tools/`, when present.
//! Each test prints the binaries found, runs its steps once per binary and
//! prints which version ran. A test that needs a newer Terraform runs through
//! [`for_each_terraform_where`], which fails when no binary qualifies
//! (unless `TF_ACC_ALLOW_SKIP=1`): a test all of whose runs were skipped
//! has checked nothing.
//!
//! A runner that splits the versions over processes (`scripts/run_tests.py`:
//! one version in `TF_ACC_TERRAFORM` per process) names them all in
//! `TF_ACC_TERRAFORM_MATRIX`; a gated test then passes unrun in a process
//! whose version lacks the feature when a version of the matrix has it, since
//! that version's process runs it, and still fails when none has.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A provider binary and the address Terraform knows it by.
#[derive(Clone, Debug)]
pub struct ProviderUnderTest {
    pub binary: PathBuf,
    /// `namespace/type`, e.g. `testing/tptest`.
    pub source: String,
    pub version: String,
}

/// A binary of this workspace built beside the running test (`cargo test
/// --workspace` builds every binary), such as a test-only provider.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/debug/deps/TEST-HASH -> target/debug/
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(name))
        .expect("a target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p acceptance-tests`",
        bin.display()
    );
    bin
}

impl ProviderUnderTest {
    pub fn type_name(&self) -> &str {
        self.source.rsplit('/').next().unwrap_or(&self.source)
    }
}

#[derive(Clone, Debug)]
pub struct TerraformBin {
    pub path: PathBuf,
    pub version: String,
}

/// What [`TerraformBin::supports_import_blocks`] checks, for
/// [`for_each_terraform_where`]'s log.
pub const IMPORT_BLOCKS: &str = "import blocks (Terraform 1.5 or later)";

/// What [`TerraformBin::supports_ephemeral`] checks.
pub const EPHEMERAL: &str = "ephemeral resources and variables (Terraform 1.10 or later)";
/// What [`TerraformBin::supports_write_only`] checks.
pub const WRITE_ONLY: &str = "write-only attributes (Terraform 1.11 or later)";
/// What [`TerraformBin::supports_query`] checks.
pub const QUERY: &str = "terraform query and list resources (Terraform 1.14 or later)";
/// What [`TerraformBin::supports_destroy_planning`] checks.
pub const DESTROY_PLANS: &str =
    "destroy plans that reach the provider (plan_destroy, Terraform 1.3 or later)";
/// What [`TerraformBin::supports_cross_type_moves`] checks.
pub const MOVES: &str =
    "`moved` blocks across resource types and providers (Terraform 1.8 or later)";
/// What [`TerraformBin::supports_identity`] checks.
pub const IDENTITY: &str = "resource identity and import by identity (Terraform 1.12 or later)";

impl TerraformBin {
    /// (major, minor) of this Terraform; 0 where a part does not parse.
    pub fn minor_version(&self) -> (u32, u32) {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }
    /// Terraform asks the provider to plan a destroy (and shows what it
    /// says) when the provider has the `plan_destroy` capability, from 1.3.
    pub fn supports_destroy_planning(&self) -> bool {
        self.minor_version() >= (1, 3)
    }
    /// `import` blocks (and `plan -generate-config-out`) arrived in 1.5.
    pub fn supports_import_blocks(&self) -> bool {
        self.minor_version() >= (1, 5)
    }
    /// `ephemeral` blocks and `ephemeral = true` variables arrived in 1.10.
    pub fn supports_ephemeral(&self) -> bool {
        self.minor_version() >= (1, 10)
    }
    /// Write-only attributes (and the client capability) arrived in 1.11.
    pub fn supports_write_only(&self) -> bool {
        self.minor_version() >= (1, 11)
    }
    /// `moved` blocks across types and providers (MoveResourceState)
    /// arrived in 1.8.
    pub fn supports_cross_type_moves(&self) -> bool {
        self.minor_version() >= (1, 8)
    }
    /// Resource identities (and `import { identity = ... }`) arrived in 1.12.
    pub fn supports_identity(&self) -> bool {
        self.minor_version() >= (1, 12)
    }
    /// `terraform query` and list resources arrived in 1.14.
    pub fn supports_query(&self) -> bool {
        self.minor_version() >= (1, 14)
    }
    /// `action` blocks and `terraform apply -invoke` arrived in 1.14.
    pub fn supports_actions(&self) -> bool {
        self.minor_version() >= (1, 14)
    }
}

/// A stable, non-reversible stand-in for a credential (64-bit FNV-1a), so
/// that a test provider can report what it was configured with without
/// writing the credential anywhere.
pub fn fingerprint(secret: &str) -> String {
    let hash = secret.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("fnv1a:{hash:016x}")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The Terraform binaries to test with, each with its version.
pub fn terraform_bins() -> &'static [TerraformBin] {
    &found().bins
}

struct Found {
    /// Where `bins` came from, for the log.
    source: &'static str,
    bins: Vec<TerraformBin>,
    /// Binaries of `TF_ACC_TERRAFORM_MATRIX` that are not in `bins`: other
    /// processes of the same run test with them.
    elsewhere: Vec<TerraformBin>,
}

fn found() -> &'static Found {
    static FOUND: OnceLock<Found> = OnceLock::new();
    FOUND.get_or_init(|| {
        let mut source = "TF_ACC_TERRAFORM";
        let mut paths: Vec<PathBuf> = match path_list("TF_ACC_TERRAFORM") {
            Some(list) => list,
            None => {
                source = "PATH and .tools (TF_ACC_TERRAFORM unset)";
                let mut v = Vec::new();
                if let Some(p) = which("terraform") {
                    v.push(p);
                }
                let tools = std::env::var_os("PALETTE_TOOLS_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| repo_root().join(".tools"));
                for dir in ["terraform-1.0.3", "terraform-1.15.5"] {
                    let p = tools.join(dir).join("terraform");
                    if p.exists() {
                        v.push(p);
                    }
                }
                v
            }
        };
        paths.dedup();
        assert!(
            !paths.is_empty(),
            "no terraform binary: put terraform on PATH, run scripts/tools.sh terraform-1.0.3, or set TF_ACC_TERRAFORM"
        );
        let elsewhere = path_list("TF_ACC_TERRAFORM_MATRIX")
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !paths.contains(p))
            .map(version_of)
            .collect();
        let bins = paths.into_iter().map(version_of).collect();
        Found {
            source,
            bins,
            elsewhere,
        }
    })
}

/// A `:`-separated list of paths from the environment; None when unset or blank.
fn path_list(var: &str) -> Option<Vec<PathBuf>> {
    match std::env::var(var) {
        Ok(list) if !list.trim().is_empty() => Some(list.split(':').map(PathBuf::from).collect()),
        _ => None,
    }
}

fn version_of(path: PathBuf) -> TerraformBin {
    let out = Command::new(&path)
        .arg("version")
        .arg("-json")
        .output()
        .unwrap_or_else(|e| panic!("run {} version: {e}", path.display()));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let version = j["terraform_version"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    TerraformBin { path, version }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Result of one terraform command.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    /// [`Run::combined`] through [`flat`].
    pub fn flat(&self) -> String {
        flat(&self.combined())
    }
}

/// Terraform's output with its box drawing removed and its wrapping undone,
/// so that a sentence of a diagnostic can be looked for whole.
pub fn flat(s: &str) -> String {
    s.replace(['│', '╷', '╵'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "terraform {} exited {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.status,
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// One test's working directory, bound to one Terraform binary.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub tf: TerraformBin,
    pub provider: ProviderUnderTest,
    /// Providers beside the one under test (see [`Workdir::add_provider`]).
    others: Vec<ProviderUnderTest>,
    env: Vec<(String, String)>,
}

impl Workdir {
    pub fn new(tf: &TerraformBin, provider: &ProviderUnderTest) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("tfacc-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("work")).unwrap();
        let env = vec![
            (
                "TF_CLI_CONFIG_FILE".to_string(),
                dir.path().join("terraform.rc").display().to_string(),
            ),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
        ];
        eprintln!(
            "[harness] terraform {} at {}",
            tf.version,
            tf.path.display()
        );
        let w = Workdir {
            dir,
            tf: tf.clone(),
            provider: provider.clone(),
            others: Vec::new(),
            env,
        };
        w.install(provider);
        w.write_cli_config();
        w
    }

    /// Makes a second provider installable in this directory, as a
    /// configuration that uses two providers needs; [`Workdir::config`]
    /// then requires it too. Call before `init`.
    pub fn add_provider(&mut self, provider: &ProviderUnderTest) {
        self.install(provider);
        self.others.push(provider.clone());
        self.write_cli_config();
    }

    /// Puts `provider`'s binary into this directory's filesystem mirror.
    fn install(&self, provider: &ProviderUnderTest) {
        let (ns, ty) = provider
            .source
            .split_once('/')
            .expect("source is namespace/type");
        let pkg = self.dir.path().join(format!(
            "mirror/registry.terraform.io/{ns}/{ty}/{}/linux_amd64",
            provider.version
        ));
        std::fs::create_dir_all(&pkg).unwrap();
        let dest = pkg.join(format!("terraform-provider-{ty}_v{}", provider.version));
        // A hard link is instant and leaves the build output untouched; a copy
        // is the fallback across file systems.
        if std::fs::hard_link(&provider.binary, &dest).is_err() {
            std::fs::copy(&provider.binary, &dest).expect("copy provider into mirror");
        }
    }

    /// A CLI configuration that installs every provider of this directory
    /// from its mirror, and nothing from the network.
    fn write_cli_config(&self) {
        let include: Vec<String> = std::iter::once(&self.provider)
            .chain(&self.others)
            .map(|p| format!("\"registry.terraform.io/{}\"", p.source))
            .collect();
        std::fs::write(
            self.dir.path().join("terraform.rc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [{}]\n  }}\n}}\n",
                self.dir.path().join("mirror").display(),
                include.join(", ")
            ),
        )
        .unwrap();
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn set_env(&mut self, k: &str, v: &str) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.to_string(), v.to_string()));
    }

    /// Writes main.tf, with the required_providers block prepended.
    pub fn config(&self, body: &str) {
        let required: String = std::iter::once(&self.provider)
            .chain(&self.others)
            .map(|p| {
                format!(
                    "    {} = {{\n      source  = \"{}\"\n      version = \"{}\"\n    }}\n",
                    p.type_name(),
                    p.source,
                    p.version
                )
            })
            .collect();
        let hcl = format!("terraform {{\n  required_providers {{\n{required}  }}\n}}\n\n{body}\n");
        std::fs::write(self.work().join("main.tf"), hcl).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.tf.path);
        c.args(args).current_dir(self.work()).stdin(Stdio::null());
        // A developer's TF_LOG must not leak into assertions on output.
        c.env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_REATTACH_PROVIDERS");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let start = Instant::now();
        let out: Output = self.command(args).output().expect("spawn terraform");
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
        }
    }

    /// Runs and panics with the full output unless terraform succeeded.
    pub fn must(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert!(r.ok(), "[terraform {}] {r}", self.tf.version);
        r
    }

    pub fn init(&self) -> Run {
        self.must(&["init", "-input=false", "-no-color"])
    }

    pub fn apply(&self) -> Run {
        self.must(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn destroy(&self) -> Run {
        self.must(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 2 = changes, 1 = error.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "-input=false", "-no-color", "-detailed-exitcode"])
    }

    pub fn assert_plan_empty(&self) {
        let r = self.plan();
        assert_eq!(
            r.status,
            Some(0),
            "[terraform {}] expected an empty plan, got: {r}",
            self.tf.version
        );
    }

    /// Asserts the plan has changes and returns the rendered plan.
    pub fn assert_plan_changes(&self) -> Run {
        let r = self.plan();
        assert_eq!(
            r.status,
            Some(2),
            "[terraform {}] expected changes in the plan, got: {r}",
            self.tf.version
        );
        r
    }

    /// The plan as Terraform's JSON, for exact assertions on what changes.
    pub fn plan_json(&self) -> serde_json::Value {
        self.must(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
        let r = self.must(&["show", "-json", "tfplan"]);
        serde_json::from_str(&r.stdout).expect("plan JSON")
    }

    pub fn import(&self, address: &str, id: &str) -> Run {
        self.must(&["import", "-input=false", "-no-color", address, id])
    }

    pub fn show_json(&self) -> serde_json::Value {
        let r = self.must(&["show", "-json"]);
        serde_json::from_str(&r.stdout).expect("show -json output")
    }

    /// Resources in state, from `show -json` (root module only).
    pub fn state_resources(&self) -> Vec<serde_json::Value> {
        self.show_json()["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn state_resource(&self, address: &str) -> Option<serde_json::Value> {
        self.state_resources()
            .into_iter()
            .find(|r| r["address"] == address)
    }

    /// `terraform state rm`, to prepare an import of an existing object.
    pub fn state_rm(&self, address: &str) -> Run {
        self.must(&["state", "rm", "-no-color", address])
    }

    /// Ctrl-C in the middle of `terraform apply`: starts it in its own
    /// process group (so the signal reaches terraform, Terraform 1.0's
    /// wrapper and the provider, as in a terminal), waits until `ready`
    /// says the moment has come — failing if terraform ends first or
    /// `patience` runs out — then sends SIGINT to the group. Returns how long
    /// terraform took to stop after the signal, and its output.
    pub fn interrupt_apply(
        &self,
        patience: Duration,
        ready: impl FnMut() -> bool,
    ) -> (Duration, String) {
        self.signal_apply("INT", patience, ready)
    }

    /// A runner lost in the middle of `terraform apply`: as
    /// [`Workdir::interrupt_apply`], but SIGKILL to the whole group, so
    /// neither terraform nor the provider can save anything.
    pub fn kill_apply(&self, patience: Duration, ready: impl FnMut() -> bool) -> String {
        self.signal_apply("KILL", patience, ready).1
    }

    fn signal_apply(
        &self,
        signal: &str,
        patience: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> (Duration, String) {
        use std::os::unix::process::CommandExt;
        let mut child = self
            .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("terraform apply");
        let deadline = Instant::now() + patience;
        while !ready() {
            if child.try_wait().expect("terraform status").is_some() {
                let out = child.wait_with_output().expect("terraform output");
                panic!(
                    "[terraform {}] apply ended before the moment to interrupt it:\n{}{}",
                    self.tf.version,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "[terraform {}] the moment to interrupt never came",
                self.tf.version
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let sent = Instant::now();
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
            .status()
            .expect("kill");
        assert!(killed.success());
        let out = child.wait_with_output().expect("terraform output");
        let took = sent.elapsed();
        eprintln!(
            "[harness] terraform {} exited {:?} {took:?} after SIG{signal}",
            self.tf.version,
            out.status.code()
        );
        (
            took,
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

/// A PostgreSQL server of its own, in a temporary directory, for
/// Terraform's `pg` backend; stopped when dropped. The server binaries come
/// from `PG_BIN_DIR` (set by scripts/test.sh from `scripts/tools.sh
/// postgres`), else Debian's /usr/lib/postgresql/*/bin. PostgreSQL refuses
/// to run as root, so under root it runs as `nobody`.
pub struct Postgres {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Postgres {
        use std::os::unix::fs::PermissionsExt;
        let bin = std::env::var_os("PG_BIN_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .flatten()
                    .map(|e| e.path().join("bin"))
                    .filter(|d| d.join("initdb").exists())
                    .collect();
                dirs.sort();
                dirs.pop()
            })
            .expect(
                "no PostgreSQL server binaries: run scripts/tools.sh postgres and set PG_BIN_DIR",
            );
        let dir = tempfile::Builder::new()
            .prefix("tfacc-pg-")
            .tempdir()
            .unwrap();
        let root = running_as_root();
        if root {
            // `nobody` must reach the directory and own it.
            std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let as_owner = |program: PathBuf| -> Command {
            if root {
                let mut c = Command::new("setpriv");
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(program);
                c
            } else {
                Command::new(program)
            }
        };
        let data = dir.path().join("data");
        let out = as_owner(bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = as_owner(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres");
        let pg = Postgres {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return pg;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `pg` backend's `conn_str`.
    pub fn conn_str(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root, from /proc (no libc call needed).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Runs `f` once for each Terraform binary under test.
pub fn for_each_terraform(provider: &ProviderUnderTest, f: impl FnMut(&mut Workdir)) {
    for_each_terraform_where(provider, "any Terraform", |_| true, f)
}

/// Runs `f` once for each Terraform binary under test that `qualifies`
/// (`needs` says what the test needs, for the log), e.g.
/// `for_each_terraform_where(&p, "import blocks (1.5+)", TerraformBin::supports_import_blocks, ...)`.
/// Fails the test when no binary qualifies, unless `TF_ACC_ALLOW_SKIP=1`:
/// a gate inside `f` that returns early could skip every run and pass.
pub fn for_each_terraform_where(
    provider: &ProviderUnderTest,
    needs: &str,
    qualifies: impl Fn(&TerraformBin) -> bool,
    mut f: impl FnMut(&mut Workdir),
) {
    let found = found();
    let listed: Vec<String> = found
        .bins
        .iter()
        .map(|t| format!("{} ({})", t.version, t.path.display()))
        .collect();
    eprintln!(
        "[harness] Terraform found in {}: {}",
        found.source,
        listed.join(", ")
    );
    let allow_skip = std::env::var("TF_ACC_ALLOW_SKIP").is_ok_and(|v| v == "1");
    let (bins, elsewhere) = (&found.bins, &found.elsewhere);
    run_qualifying(bins, elsewhere, needs, qualifies, allow_skip, |tf| {
        let mut w = Workdir::new(tf, provider);
        eprintln!("[harness] ---- running with Terraform {} ----", tf.version);
        f(&mut w);
    });
}

/// The selection behind [`for_each_terraform_where`], apart from the
/// binaries and the environment so it can be tested; how many ran.
/// `elsewhere` are the binaries other processes of the run test with.
fn run_qualifying(
    bins: &[TerraformBin],
    elsewhere: &[TerraformBin],
    needs: &str,
    qualifies: impl Fn(&TerraformBin) -> bool,
    allow_skip: bool,
    mut run: impl FnMut(&TerraformBin),
) -> usize {
    let mut ran = 0;
    for tf in bins {
        if qualifies(tf) {
            run(tf);
            ran += 1;
        } else {
            eprintln!(
                "[harness] ---- skipped Terraform {}: this test needs {needs} ----",
                tf.version
            );
        }
    }
    let versions: Vec<&str> = bins.iter().map(|t| t.version.as_str()).collect();
    if ran == 0 {
        if let Some(other) = elsewhere.iter().find(|t| qualifies(t)) {
            eprintln!(
                "[harness] Terraform {} has {needs}; its process of this run (TF_ACC_TERRAFORM_MATRIX) runs this test",
                other.version
            );
            return 0;
        }
        assert!(
            allow_skip,
            "no Terraform under test has {needs} (found: {}), so this test checked nothing; \
             add one to TF_ACC_TERRAFORM, or set TF_ACC_ALLOW_SKIP=1 to let it pass unrun",
            versions.join(", ")
        );
        eprintln!("[harness] no Terraform has {needs}; passed unrun (TF_ACC_ALLOW_SKIP=1)");
    }
    ran
}

/// Managed-resource changes of a plan JSON, as (address, actions); data
/// source reads are left out.
pub fn planned_actions(plan: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    plan["resource_changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|rc| rc["mode"] == "managed")
                .map(|rc| {
                    let actions = rc["change"]["actions"]
                        .as_array()
                        .map(|x| {
                            x.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        rc["address"].as_str().unwrap_or_default().to_string(),
                        actions,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that terraform's output has a diagnostic pointing at a line of
/// `main.tf` that sets `attribute`, i.e. the provider gave an attribute path
/// Terraform could resolve to the configuration.
pub fn assert_diagnostic_at(w: &Workdir, output: &str, attribute: &str) {
    let main_tf = std::fs::read_to_string(w.work().join("main.tf")).unwrap();
    let lines: Vec<&str> = main_tf.lines().collect();
    let hit = output.match_indices("on main.tf line ").any(|(i, m)| {
        let rest = &output[i + m.len()..];
        let n: usize = rest
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        n > 0
            && lines
                .get(n - 1)
                .is_some_and(|l| l.trim_start().starts_with(attribute))
    });
    assert!(
        hit,
        "no diagnostic points at a line setting `{attribute}`:\n{output}\n--- main.tf\n{main_tf}"
    );
}

/// The `change` object of one resource in a plan JSON.
pub fn change_of<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    plan["resource_changes"]
        .as_array()
        .and_then(|a| a.iter().find(|rc| rc["address"] == address))
        .map(|rc| &rc["change"])
        .unwrap_or_else(|| panic!("no change for {address} in plan"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(versions: &[&str]) -> Vec<TerraformBin> {
        versions
            .iter()
            .map(|v| TerraformBin {
                path: PathBuf::from(format!("/opt/terraform-{v}")),
                version: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn only_qualifying_versions_run() {
        let mut seen = Vec::new();
        let ran = run_qualifying(
            &bins(&["1.9.8", "1.0.3", "1.5.0"]),
            &[],
            "import blocks",
            TerraformBin::supports_import_blocks,
            false,
            |t| seen.push(t.version.clone()),
        );
        assert_eq!(ran, 2);
        assert_eq!(seen, ["1.9.8", "1.5.0"]);
    }

    #[test]
    #[should_panic(expected = "no Terraform under test has import blocks (found: 1.0.3, 1.4.7)")]
    fn a_test_no_version_can_run_fails() {
        run_qualifying(
            &bins(&["1.0.3", "1.4.7"]),
            &[],
            "import blocks",
            TerraformBin::supports_import_blocks,
            false,
            |_| panic!("nothing qualifies"),
        );
    }

    /// A version gate inside a test's body (`if !w.tf.supports_…() { return }`)
    /// can skip every run and still pass; the gate belongs in
    /// `for_each_terraform_where`, which fails instead.
    #[test]
    fn no_test_gates_a_version_inside_its_body() {
        let mut found = Vec::new();
        for dir in ["provider/tests", "acceptance-tests/tests"] {
            let Ok(entries) = std::fs::read_dir(repo_root().join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if line.contains(".tf.supports_") {
                        found.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "gate versions with for_each_terraform_where instead:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_opt_out_lets_it_pass_unrun() {
        let ran = run_qualifying(
            &bins(&["1.0.3"]),
            &[],
            "import blocks",
            TerraformBin::supports_import_blocks,
            true,
            |_| panic!("nothing qualifies"),
        );
        assert_eq!(ran, 0);
    }

    /// One version per process: the 1.0.3 process leaves an import-block
    /// test to the 1.15.5 process instead of failing it.
    #[test]
    fn a_version_in_another_process_of_the_run_covers_the_test() {
        let ran = run_qualifying(
            &bins(&["1.0.3"]),
            &bins(&["1.11.4", "1.15.5"]),
            "import blocks",
            TerraformBin::supports_import_blocks,
            false,
            |_| panic!("1.0.3 has no import blocks"),
        );
        assert_eq!(ran, 0);
    }

    #[test]
    #[should_panic(expected = "no Terraform under test has import blocks (found: 1.0.3)")]
    fn other_processes_without_the_feature_do_not_excuse_a_test() {
        run_qualifying(
            &bins(&["1.0.3"]),
            &bins(&["1.4.7"]),
            "import blocks",
            TerraformBin::supports_import_blocks,
            false,
            |_| panic!("nothing qualifies"),
        );
    }
}
