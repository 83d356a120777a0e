//! Reduces a vCenter address to `host[:port]`. The schemas validate
//! addresses with it at plan time and the vSphere client connects with it,
//! so both read an address the same way; it lives apart from the client so
//! that docs generation and the schemas do not build vim_rs.

/// An address that is not a host, `host:port` or https URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid vCenter address {0:?}: use a host name or https URL such as vcenter.example.com")]
pub struct BadAddress(pub String);

/// The scheme, a trailing slash and the `/sdk` path are accepted and
/// dropped, because users copy addresses from browsers and from govc's
/// GOVC_URL alike; the host is lower-cased.
pub fn normalize(address: &str) -> Result<String, BadAddress> {
    let bad = || BadAddress(address.to_string());
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
