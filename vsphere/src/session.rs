//! A logged-in vCenter session over SOAP.

use std::sync::Arc;

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
    let bad = || Error::BadAddress(address.to_string());
    let s = address.trim();
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if s.contains("://") {
        return Err(bad());
    } else {
        s
    };
    // Credentials in the URL (govc style) are not part of the address.
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let host = rest.split('/').next().unwrap_or_default();
    let path = &rest[host.len()..];
    if !matches!(path.trim_end_matches('/'), "" | "/sdk") {
        return Err(bad());
    }
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok(host.to_ascii_lowercase())
}

/// One authenticated session. Dropping it logs out in the background.
pub struct Session {
    client: Arc<Client>,
    server: String,
    /// The same HTTP client vim_rs uses (TLS settings included), for
    /// transfers outside SOAP such as NFC uploads.
    http: reqwest::Client,
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
            .timeout(std::time::Duration::from_secs(120));
        if target.insecure {
            http = http
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        if let Some(pem) = &target.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Protocol {
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
            closed: false,
        })
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
    use super::normalize_server;

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
