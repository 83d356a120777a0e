//! Runs the project's vcsim build (scripts/tools.sh vcsim) for tests, the
//! lab and demos: one simulator per [`Vcsim`], killed when it is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Mutex;
use std::time::Duration;

/// A running simulator and the credentials it accepts (and no others).
pub struct Vcsim {
    child: Child,
    /// Where new passwords go (see [`Vcsim::change_password`]).
    stdin: Option<ChildStdin>,
    /// vcsim's stdout after its ready line (acknowledgements); in a mutex
    /// so that a `Vcsim` can be shared between threads.
    acks: Mutex<Receiver<std::io::Result<String>>>,
    /// `host:port`.
    pub server: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Vcsim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vcsim")
            .field("server", &self.server)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The environment variable vcsim reads its password from (`-password-env`):
/// an argument would show in `ps` to every user of the machine, a process's
/// environment only to its owner.
const PASSWORD_ENV: &str = "VCSIM_PASSWORD";

/// The vcsim binary: `$VCSIM_BIN`, else `.tools/vcsim/vcsim` in the workspace.
pub fn binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("VCSIM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/vcsim/vcsim");
    if local.exists() {
        return Ok(local);
    }
    Err("vcsim is not built: run scripts/tools.sh vcsim, or set VCSIM_BIN".into())
}

impl Vcsim {
    /// Starts vcsim on a free loopback port with the default inventory
    /// (DC0, clusters DC0_C0 and DC0_C1, LocalDS_0, "VM Network") and
    /// strict credentials `user` / `password`. `extra` adds vcsim flags.
    pub fn start(user: &str, password: &str, extra: &[&str]) -> Result<Vcsim, String> {
        let bin = binary()?;
        let mut child = Command::new(&bin)
            .args(["-username", user, "-password-env", PASSWORD_ENV])
            .env(PASSWORD_ENV, password)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Every line goes on, so vcsim never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(l)) => l,
            other => {
                let _ = child.kill();
                // A build from before -password-env exits at once.
                return Err(format!(
                    "vcsim did not report ready ({}; if it predates lab/vcsim/main.go, run \
                     scripts/tools.sh vcsim): {other:?}",
                    bin.display()
                ));
            }
        };
        let url = line
            .strip_prefix("VCSIM_URL=")
            .ok_or_else(|| format!("unexpected vcsim output {line:?}"))?;
        let server = url
            .trim_start_matches("https://")
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or_default()
            .trim_end_matches("/sdk")
            .to_string();
        let stdin = child.stdin.take();
        Ok(Vcsim {
            child,
            stdin,
            acks: Mutex::new(rx),
            server,
            user: user.into(),
            password: password.into(),
        })
    }

    /// Changes the user's password, as an administrator does in vCenter's
    /// SSO: logins from now on need `password`; open sessions stay valid.
    /// Returns once vcsim has acknowledged the change.
    pub fn change_password(&mut self, password: &str) -> Result<(), String> {
        if password.is_empty() || password.contains('\n') {
            return Err("a vcsim password is one non-empty line".into());
        }
        let stdin = self.stdin.as_mut().ok_or("vcsim's stdin is closed")?;
        writeln!(stdin, "{password}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot reach vcsim (built before password changes? run scripts/tools.sh vcsim): {e}"))?;
        let acks = self.acks.lock().unwrap();
        loop {
            match acks.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(l)) if l == "VCSIM_PASSWORD_CHANGED" => break,
                Ok(Ok(_)) => continue,
                other => {
                    return Err(format!(
                        "vcsim did not acknowledge the new password (built before password \
                         changes? run scripts/tools.sh vcsim): {:?}",
                        other.map(|_| ())
                    ))
                }
            }
        }
        drop(acks);
        self.password = password.to_string();
        Ok(())
    }

    /// The SOAP URL, as users write it in configuration.
    pub fn url(&self) -> String {
        format!("https://{}/sdk", self.server)
    }
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ps` shows of a process: its command line, readable by any user.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_password_is_not_on_the_command_line() {
        let password = "Cmdline-Check-7b1e";
        let sim = Vcsim::start("ops@vsphere.local", password, &[]).expect("vcsim");
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", sim.child.id())).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(cmdline.contains("-username ops@vsphere.local"), "{cmdline}");
        assert!(!cmdline.contains(password), "{cmdline}");
    }
}
