//! The `provider "palette"` block.

use tfplugin::validate::{check, no_userinfo, IntBetween, NotBlank};
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Value};

pub const DEFAULT_ENDPOINT: &str = "https://api.spectrocloud.com";
pub const DEFAULT_MAX_RETRIES: i64 = 5;
pub const DEFAULT_RETRY_MAX_WAIT: &str = "30s";
pub const DEFAULT_REQUEST_TIMEOUT: &str = "60s";

/// Checks an endpoint URL: https (http only to a loopback address), a host,
/// no credentials, nothing after the path.
pub fn check_endpoint(s: &str) -> Result<(), String> {
    // First, so that no later message (they quote the value) shows them.
    no_userinfo(DEFAULT_ENDPOINT).check(s)?;
    let u = url::Url::parse(s).map_err(|e| {
        format!("{s:?} is not a URL ({e}); write the API's base URL, for example \"{DEFAULT_ENDPOINT}\"")
    })?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err(format!("{s:?} must use https:// (or http:// for a local lab), for example \"{DEFAULT_ENDPOINT}\""));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{s:?} has no host; write for example \"{DEFAULT_ENDPOINT}\""
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{s:?} must not have a query or fragment; write only scheme, host and port"
        ));
    }
    // Every request carries the API key in a header: over plain http it
    // would cross the network readable by anyone on the path. Only a lab
    // on this machine may be reached that way.
    if u.scheme() == "http" && !is_loopback(&u) {
        return Err(format!(
            "{s:?} uses http:// to a host other than this machine, which would send the API key unencrypted; \
             use https:// (for example \"{DEFAULT_ENDPOINT}\"). http:// is accepted only for 127.0.0.1, ::1 \
             and localhost."
        ));
    }
    Ok(())
}

/// 127.0.0.0/8, ::1 and `localhost`: addresses that never leave the machine.
fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn duration_attr(name: &str, default: &str, what: &str) -> Attribute {
    Attribute::string(name)
        .optional()
        .description(format!(
            "{what} A duration such as `30s` or `2m`. Defaults to `{default}`."
        ))
        .validator(check("must be a duration such as `30s`", |v: &Value| {
            tfplugin::duration::parse(v.as_str().unwrap_or_default()).map(|_| ())
        }))
}

pub fn vcenter_block() -> Block {
    let b = Block::new()
        .description("Default vCenter connection, used where a resource has no `vcenter` block of its own.")
        .attr(crate::vcenter::server().validator(NotBlank))
        .attr(Attribute::string("username").required().validator(NotBlank).description("vCenter user name."))
        .attr(
            Attribute::string("password")
                .optional()
                .sensitive()
                .description("vCenter password. Never shown in plans or logs. Also read from `VSPHERE_PASSWORD`."),
        );
    crate::vcenter::tls(b, false, "when the provider is configured")
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The Palette provider manages Spectro Cloud Palette on VMware vSphere: private cloud gateways, \
                 their IP pools, vSphere cloud accounts and VMware clusters.",
            )
            .attr(
                Attribute::string("endpoint")
                    .optional()
                    .description(format!(
                        "Base URL of the Palette API. Defaults to `PALETTE_ENDPOINT`, then the official provider's `SPECTROCLOUD_HOST` (a host name; `https://` is added), then `{DEFAULT_ENDPOINT}`."
                    ))
                    .validator(check("must be an https URL (http only to 127.0.0.1, ::1 or localhost), without `user:password@`", |v: &Value| check_endpoint(v.as_str().unwrap_or_default()))),
            )
            .attr(
                Attribute::string("api_key")
                    .optional()
                    .sensitive()
                    .description("Palette API key. Defaults to `PALETTE_API_KEY`, then the official provider's `SPECTROCLOUD_APIKEY`. Never shown in plans or logs."),
            )
            .attr(
                Attribute::string("project")
                    .optional()
                    .validator(NotBlank)
                    .description(
                        "Project name or uid that objects belong to. Defaults to `PALETTE_PROJECT`; \
                         without either, objects are tenant-scoped.",
                    ),
            )
            .attr(
                Attribute::string("ca_file")
                    .optional()
                    .description("Path to a PEM file of CA certificates to trust for the Palette endpoint."),
            )
            .attr(Attribute::bool("insecure").optional().description(
                "Skip TLS verification of the Palette endpoint. Only for labs; conflicts with `ca_file`.",
            ))
            .attr(
                Attribute::number("max_retries")
                    .optional()
                    .validator(IntBetween(0, 20))
                    .description(format!(
                        "How many times a failed idempotent request (429, 5xx, connection errors) is retried. \
                         Defaults to `{DEFAULT_MAX_RETRIES}`."
                    )),
            )
            .attr(duration_attr("retry_max_wait", DEFAULT_RETRY_MAX_WAIT, "Longest wait between two retries."))
            .attr(duration_attr("request_timeout", DEFAULT_REQUEST_TIMEOUT, "Time limit of one API request."))
            .block(NestedBlock::new("vcenter", Nesting::List, vcenter_block()).max_items(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_without_credentials_and_plain_http_only_to_loopback() {
        for ok in [
            "https://api.spectrocloud.com",
            "https://palette.example.com:8443/",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000",
            "http://localhost:8080",
            "http://LOCALHOST",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://palette.example.com",
            "http://10.0.0.5:8080",
            "http://0.0.0.0:8080",
            "http://[::2]",
            "http://localhost.example.com",
        ] {
            let e = check_endpoint(bad).unwrap_err();
            assert!(e.contains("unencrypted"), "{bad}: {e}");
        }
        let e = check_endpoint("https://admin:pw-9f3@palette.example.com").unwrap_err();
        assert!(!e.contains("pw-9f3") && !e.contains("admin"), "{e}");
        assert!(e.contains("https://***@palette.example.com"), "{e}");
    }
}
