//! A logged-in vCenter session over SOAP.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vim_rs::core::client::{Client, TransportMode};
use vim_rs::core::ClientBuilder;

use crate::error::Error;

/// Where a vCenter is and how to trust it.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host` or `host:port`, as [`normalize_server`] returns it.
    pub server: String,
    /// Skip certificate and host name checks (self-signed vCenters, vcsim).
    pub insecure: bool,
    /// Extra trusted CA certificates (PEM).
    pub ca_pem: Option<Vec<u8>>,
}

impl Target {
    /// A target from a host name or URL such as `vc.example.com`,
    /// `https://vc.example.com/` or `https://127.0.0.1:8989/sdk`.
    pub fn parse(address: &str, insecure: bool) -> Result<Target, Error> {
        Ok(Target {
            server: normalize_server(address)?,
            insecure,
            ca_pem: None,
        })
    }
}

/// Reduces a vCenter address to `host[:port]`: the scheme, a trailing
/// slash and the `/sdk` path are accepted and dropped, because users copy
/// addresses from browsers and from govc's GOVC_URL alike.
pub fn normalize_server(address: &str) -> Result<String, Error> {
    vcenter_address::normalize(address).map_err(|e| Error::BadAddress(e.0))
}

/// Reads a PEM bundle of CA certificates, refusing a file that holds none,
/// so a wrong path or a key file is reported where it is configured
/// rather than as a failed TLS handshake later.
pub fn read_ca_file(path: &Path) -> Result<Vec<u8>, Error> {
    let bad = |message: String| Error::CaFile {
        path: path.display().to_string(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    check_ca_pem(&pem).map_err(bad)?;
    Ok(pem)
}

/// Whether `pem` holds at least one certificate reqwest can use.
pub(crate) fn check_ca_pem(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// `scheme://host:port` of a URL: what decides whether a redirect stays
/// with the server a request (and its credentials) was meant for.
fn origin(u: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
    (
        u.scheme().to_string(),
        u.host_str().map(str::to_ascii_lowercase),
        u.port_or_known_default(),
    )
}

/// A URL's origin for messages: no path, no query (which may hold tokens).
pub(crate) fn show_origin(u: &reqwest::Url) -> String {
    match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
        (Some(h), None) => format!("{}://{h}", u.scheme()),
        _ => u.scheme().to_string(),
    }
}

/// Follows redirects only within the origin of the first request. reqwest
/// drops `Authorization` and cookies on a cross-host redirect but not the
/// vAPI session header, nor a SOAP body re-sent on 307/308, so a server
/// (or whoever answers for it) must not be able to send them elsewhere.
pub(crate) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        if attempt.previous().len() > 10 {
            return attempt.error("too many redirects");
        }
        if origin(first) != origin(attempt.url()) {
            let msg = format!(
                "redirect from {} to {} refused: it leaves the server the request was for",
                show_origin(first),
                show_origin(attempt.url())
            );
            return attempt.error(msg);
        }
        attempt.follow()
    })
}

/// How often a wait asks vCenter again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Bounds a wait: the caller's cancellation and an optional deadline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Limits {
    pub cancel: CancellationToken,
    pub deadline: Option<Instant>,
}

impl Limits {
    /// Runs one step of a wait (a vCenter call), ending early on
    /// cancellation or at the deadline. `what` names what is waited for;
    /// `still_running` says the work goes on in vCenter without us.
    pub async fn bound<T>(
        &self,
        what: impl Fn() -> String,
        still_running: bool,
        step: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let expired = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::Cancelled { what: what(), still_running }),
            _ = expired => Err(Error::TimedOut { what: what(), still_running }),
            r = step => r,
        }
    }

    /// Polls `check` until it yields a value, within the limits.
    pub async fn wait<T, F, Fut>(
        &self,
        what: impl Fn() -> String,
        still_running: bool,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        loop {
            if let Some(v) = self.bound(&what, still_running, check()).await? {
                return Ok(v);
            }
            self.bound(&what, still_running, async {
                tokio::time::sleep(POLL_INTERVAL).await;
                Ok(())
            })
            .await?;
        }
    }
}

/// One authenticated session. Dropping it logs out in the background.
pub struct Session {
    client: Arc<Client>,
    server: String,
    /// The same HTTP client vim_rs uses (TLS settings included), for
    /// transfers outside SOAP such as NFC uploads.
    http: reqwest::Client,
    limits: Limits,
    /// Extra CA certificates for downloads from elsewhere (Palette's CA);
    /// never this session's own trust settings.
    download_ca: Option<Vec<u8>>,
    closed: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // vim_rs logs out in its destructor by blocking on the runtime, and
        // that blocks forever when the runtime is shutting down (a lab
        // stopping, a provider exiting). Log out in the background instead,
        // and keep one reference so that destructor never runs.
        std::mem::forget(self.client.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            handle.spawn(async move {
                let _ = client.close().await;
            });
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .finish()
    }
}

/// What vCenter says about itself after login.
#[derive(Clone, Debug, PartialEq)]
pub struct About {
    pub full_name: String,
    /// The product version, such as `7.0.3`.
    pub version: String,
    pub build: String,
    pub api_version: String,
    pub instance_uuid: Option<String>,
}

impl Session {
    /// Logs in as `user`. A wrong user name or password is
    /// [`Error::InvalidLogin`]; an unreachable server is [`Error::Unreachable`].
    pub async fn login(target: &Target, user: &str, password: &str) -> Result<Session, Error> {
        let mut http = reqwest::Client::builder()
            .cookie_store(true)
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            // A session sits idle for minutes while an OVA uploads or Palette
            // provisions; a pooled connection that old may be closed by the
            // server just as the next request goes out ("connection closed
            // before message completed"). Idle connections are dropped first.
            .pool_idle_timeout(std::time::Duration::from_secs(15))
            .redirect(same_origin_redirects());
        if target.insecure {
            http = http
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        if let Some(pem) = &target.ca_pem {
            for cert in check_ca_pem(pem).map_err(|e| Error::Protocol {
                server: target.server.clone(),
                message: format!("CA certificates: {e}"),
            })? {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| Error::Protocol {
            server: target.server.clone(),
            message: e.to_string(),
        })?;
        let client = ClientBuilder::new(&target.server, http.clone())
            .basic_authn(user, password)
            .app_details(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            .transport(TransportMode::Soap)
            .build()
            .await
            .map_err(|e| Error::from_vim(&target.server, user, e))?;
        tracing::debug!(server = %target.server, user, "vCenter session opened");
        Ok(Session {
            client,
            server: target.server.clone(),
            http,
            limits: Limits::default(),
            download_ca: None,
            closed: false,
        })
    }

    /// Makes this session's waits (vCenter tasks, NFC leases) and
    /// transfers end with [`Error::Cancelled`] once `token` is cancelled.
    pub fn with_cancel(mut self, token: CancellationToken) -> Session {
        self.limits.cancel = token;
        self
    }

    /// Makes this session's waits end with [`Error::TimedOut`] at
    /// `deadline` (the Terraform operation's), instead of never.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Session {
        self.limits.deadline = deadline;
        self
    }

    /// CA certificates (PEM) to trust, besides the default roots, for
    /// [`Session::download`]: those of the server that hands out download
    /// locations, not vCenter's.
    pub fn with_download_ca(mut self, pem: Option<Vec<u8>>) -> Session {
        self.download_ca = pem;
        self
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn download_ca(&self) -> Option<&[u8]> {
        self.download_ca.as_deref()
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn about(&self) -> About {
        let a = &self.client.service_content().about;
        About {
            full_name: a.full_name.clone(),
            version: a.version.clone(),
            build: a.build.clone(),
            api_version: a.api_version.clone(),
            instance_uuid: a.instance_uuid.clone(),
        }
    }

    /// The vim_rs client, for the inventory and VM operations built on it.
    pub fn vim(&self) -> &Arc<Client> {
        &self.client
    }

    pub async fn logout(mut self) -> Result<(), Error> {
        let r = self.client.close().await;
        // close() is idempotent and marks the session ended either way.
        self.closed = true;
        r.map_err(|e| Error::from_vim(&self.server, "", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancelled_wait_returns_promptly() {
        let limits = Limits::default();
        let token = limits.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            token.cancel();
        });
        let started = Instant::now();
        let e = limits
            .wait(
                || "vCenter task task-7".to_string(),
                true,
                || async { Ok::<Option<()>, Error>(None) },
            )
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(matches!(e, Error::Cancelled { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "cancelled while waiting for vCenter task task-7; it may still be running in vCenter"
        );
    }

    #[tokio::test]
    async fn a_wait_ends_at_its_deadline_even_inside_a_slow_call() {
        let limits = Limits {
            deadline: Some(Instant::now() + Duration::from_millis(200)),
            ..Default::default()
        };
        let started = Instant::now();
        let e = limits
            .wait(
                || "vCenter task task-9".to_string(),
                true,
                || async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<Option<()>, Error>(None)
                },
            )
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            matches!(&e, Error::TimedOut { what, still_running: true } if what.contains("task-9")),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_wait_returns_what_it_waited_for() {
        let mut polls = 0;
        let v = Limits::default()
            .wait(String::new, false, || {
                polls += 1;
                let done = polls == 3;
                async move { Ok::<_, Error>(done.then_some(42)) }
            })
            .await
            .unwrap();
        assert_eq!(v, 42);
    }

    #[test]
    fn a_ca_file_must_exist_and_hold_pem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = read_ca_file(&missing).unwrap_err();
        assert!(matches!(e, Error::CaFile { .. }), "{e:?}");
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let key = dir.path().join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = read_ca_file(&key).unwrap_err();
        assert!(e.to_string().contains("key.pem"), "{e}");
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
    }

    /// The vAPI session header must never reach another origin; reqwest
    /// itself only drops Authorization and cookies.
    #[tokio::test]
    async fn session_headers_never_follow_a_redirect_elsewhere() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other_port = other.local_addr().unwrap().port();
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = first.accept().await {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf).await;
                let r = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{other_port}/rest\r\ncontent-length: 0\r\n\r\n"
                );
                let _ = c.write_all(r.as_bytes()).await;
            }
        });
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = other.accept().await {
                let mut buf = [0u8; 4096];
                let n = c.read(&mut buf).await.unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
                let _ = c
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let http = reqwest::Client::builder()
            .redirect(same_origin_redirects())
            .build()
            .unwrap();
        let e = http
            .post(format!(
                "http://127.0.0.1:{port}/rest/com/vmware/cis/tagging/tag"
            ))
            .header("vmware-api-session-id", "token-abc")
            .body("<soap password>")
            .send()
            .await
            .unwrap_err();
        let text = format!("{:?}", e.without_url());
        assert!(text.contains("leaves the server"), "{text}");
        assert!(rx.try_recv().is_err(), "the other origin was contacted");
    }

    #[test]
    fn redirect_origins_compare_scheme_host_and_port() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert_eq!(
            origin(&u("https://VC.example.com/sdk")),
            origin(&u("https://vc.example.com:443/x"))
        );
        assert_ne!(origin(&u("https://vc/")), origin(&u("http://vc/")));
        assert_ne!(origin(&u("https://vc/")), origin(&u("https://vc:8443/")));
        assert_eq!(
            show_origin(&u("https://vc:8443/sdk?x=1")),
            "https://vc:8443"
        );
    }

    #[test]
    fn addresses_normalise_to_host_and_port() {
        for (given, want) in [
            ("vc.example.com", "vc.example.com"),
            ("https://vc.example.com/", "vc.example.com"),
            ("https://VC.example.com", "vc.example.com"),
            ("https://127.0.0.1:8989/sdk", "127.0.0.1:8989"),
            ("https://user:pass@127.0.0.1:8989/sdk", "127.0.0.1:8989"),
            (" vc.example.com:443 ", "vc.example.com:443"),
        ] {
            assert_eq!(normalize_server(given).unwrap(), want, "{given}");
        }
        for bad in ["", "http://vc.example.com", "https://vc/ui", "vc example"] {
            assert!(normalize_server(bad).is_err(), "{bad}");
        }
    }
}
