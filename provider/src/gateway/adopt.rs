//! Import of a gateway made by hand (or by another state): Palette returns
//! its name, state and account, but not how it was installed. What the
//! console's procedure left behind is read back instead, so the first plan
//! after an import is empty when the configuration describes the gateway as
//! it is:
//! - the installer VM is the one this provider marked for the gateway, else
//!   the only VM whose OVF property "Installer Name" is the gateway's name:
//!   its properties give the `installer` block and its place in vCenter the
//!   block's placement (an unmarked one is read, never owned: see `own`);
//! - the node VMs (the machines Palette reports for the gateway) give
//!   `placement`, `node_count`, and through their
//!   cloud-init user data (`guestinfo.userdata`, as CAPV writes it) the SSH
//!   keys and NTP servers;
//! - the nodes' IP pool is the gateway's pool holding its address;
//! - the vCenter is the gateway's cloud account; when it is the provider's
//!   own `vcenter`, the gateway is taken to use that default (no block).
//!
//! When the placement cannot be read back (no provider vCenter, another
//! vCenter, no node VMs), the first apply records the configuration without
//! any API call (see `Private::adopting`), never a replacement. An installer
//! that cannot be found (deleted after install) never forces a replacement
//! either: its inputs are history once the gateway runs.

use std::collections::BTreeMap;

use base64::Engine as _;
use palette_api::models::{V1IpPoolEntity, V1Overlord, V1VsphereAccount};
use tfplugin::{Attr, Ctx};
use vsphere::vm::{OvfProperty, VmInfo};

use super::model::{strings_of, GatewayModel, Installer, Placement, StaticIpPool, Vcenter};
use super::Gateway;

/// What the provider keeps beside a gateway's state (Terraform's private
/// state): facts a plan needs that are not attributes.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Private {
    /// Imported and not yet applied: the next apply records the
    /// configuration without calling any API, and nothing the import could
    /// not read forces a replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopting: bool,
    /// The installer VM recorded in state is gone from vCenter; the plan
    /// shows it leaving the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub installer_gone: bool,
}

impl Private {
    pub fn parse(bytes: &[u8]) -> Private {
        serde_json::from_slice(bytes).unwrap_or_default()
    }
    pub fn bytes(&self) -> Vec<u8> {
        if *self == Private::default() {
            return Vec::new();
        }
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The value of the property with this label (the names the reference
/// document uses), case-insensitively.
pub(super) fn by_label<'a>(
    props: &'a [OvfProperty],
    labels: &'a [(String, String)],
    label: &str,
) -> Option<&'a str> {
    props
        .iter()
        .find(|p| {
            let l = p.label.as_deref().or_else(|| {
                labels
                    .iter()
                    .find(|(k, _)| *k == p.key)
                    .map(|(_, l)| l.as_str())
            });
            l.is_some_and(|l| l.eq_ignore_ascii_case(label))
        })
        .map(|p| p.value.as_str())
}

/// SSH keys and NTP servers from a node's cloud-init user data, as
/// Cluster API's vSphere provider hands it over (`guestinfo.userdata`,
/// base64 or plain). Gzipped data is not read: nothing is guessed.
pub fn cloud_init_settings(extra: &BTreeMap<String, String>) -> Option<(Vec<String>, Vec<String>)> {
    let raw = extra.get("guestinfo.userdata")?;
    let text = match extra.get("guestinfo.userdata.encoding").map(String::as_str) {
        Some("base64" | "b64") => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .ok()?,
        )
        .ok()?,
        None | Some("") => raw.clone(),
        Some(_) => return None,
    };
    let doc: serde_json::Value = serde_norway::from_str(&text).ok()?;
    let strs = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut keys = strs(doc.get("ssh_authorized_keys"));
    for u in doc
        .get("users")
        .and_then(|u| u.as_array())
        .into_iter()
        .flatten()
    {
        for k in strs(u.get("ssh_authorized_keys")) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let ntp = strs(doc.get("ntp").and_then(|n| n.get("servers")));
    Some((keys, ntp))
}

/// The `static_ip_pool` block of the gateway's pool that holds `ip`, with
/// the pool's uid.
pub fn pool_of_address(pools: &[V1IpPoolEntity], ip: &str) -> Option<(StaticIpPool, String)> {
    let addr: std::net::IpAddr = ip.parse().ok()?;
    pools.iter().find_map(|p| {
        let meta = p.metadata.as_ref()?;
        let pool = p.spec.as_ref()?.pool.as_ref()?;
        let inside = match (&pool.start, &pool.end, &pool.subnet) {
            (Some(a), Some(b), _) => {
                let (a, b): (std::net::IpAddr, std::net::IpAddr) =
                    (a.parse().ok()?, b.parse().ok()?);
                a <= addr && addr <= b
            }
            (_, _, Some(net)) => net.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&addr)),
            _ => false,
        };
        if !inside {
            return None;
        }
        Some((StaticIpPool::from_entity(p)?, meta.uid.clone()?))
    })
}

impl Gateway {
    /// Fills what an imported gateway's state lacks from vCenter and
    /// Palette. Each part is best effort: what cannot be read is logged and
    /// left for the first apply to record.
    pub(super) async fn discover(
        &self,
        g: &V1Overlord,
        mut state: GatewayModel,
        ctx: &Ctx,
    ) -> GatewayModel {
        let name = state.name.str().to_string();
        let uid = state.id.str().to_string();
        let Ok(client) = self.shared.client() else {
            return state;
        };
        // The vCenter: the gateway's account, unless it is the provider's.
        let account_uid = g.spec.as_ref().and_then(|s| s.cloud_account_uid.clone());
        let mut account = None;
        if let Some(a) = &account_uid {
            match client
                .get::<V1VsphereAccount>(&format!("/v1/cloudaccounts/vsphere/{a}"), &ctx.cancel)
                .await
            {
                Ok(acc) => account = acc.spec,
                Err(e) => tracing::warn!(error = %e, "import: cannot read the gateway's account"),
            }
        }
        let norm = |s: &str| vsphere::normalize_server(s).unwrap_or_else(|_| s.to_string());
        let default = self.vcenter(None);
        if let Some(acc) = &account {
            let server = acc.vcenter_server.clone().unwrap_or_default();
            let user = acc.username.clone().unwrap_or_default();
            let is_default = default
                .as_ref()
                .is_some_and(|d| norm(&d.server) == norm(&server) && d.user == user);
            if !is_default {
                state.vcenter = vec![Vcenter::from_account(acc)];
            }
        }
        // The nodes' pool: the one holding the gateway's address.
        if let Some(ip) = state.ip_address.get() {
            match self.shared.pools_of(&uid, ctx).await {
                Ok(pools) => {
                    if let Some((block, pool_uid)) = pool_of_address(&pools, &ip) {
                        state.static_ip_pool = vec![block];
                        state.ip_pool_id = pool_uid.into();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "import: cannot list the gateway's pools"),
            }
        }
        // vCenter: the provider's, or the account's when the provider has
        // that password (it never leaves Palette otherwise).
        let Some(vc) = default else {
            tracing::warn!("import: no provider vcenter block; installer and placement are left to the first apply");
            return state;
        };
        if let Some(acc) = &account {
            if norm(acc.vcenter_server.as_deref().unwrap_or_default()) != norm(&vc.server) {
                tracing::warn!("import: the gateway's vCenter is not the provider's; installer and placement are left to the first apply");
                return state;
            }
        }
        let session = match vc.login().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "import: cannot log in to vCenter");
                return state;
            }
        };
        let vms = match session.list_vms().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "import: cannot list VMs");
                return state;
            }
        };
        // vCenter keeps each OVF property's label; vcsim keeps none, so for
        // its VMs the labels are read from Palette's installer OVA
        // descriptor (a download). On vCenter that happens only for an OVF
        // deployed with unlabelled properties: a VM without vApp properties
        // has no properties at all (`vsphere::vm::ovf_properties`).
        let labels = if vms
            .iter()
            .any(|v| !v.properties.is_empty() && v.properties.iter().any(|p| p.label.is_none()))
        {
            self.ova_labels(&client, &session, ctx).await
        } else {
            Vec::new()
        };
        // The installer: the one this provider marked for the gateway
        // (owned, so a later delete may remove it); else the one VM that
        // says it installs this gateway, read for its settings but never
        // owned, since nothing proves who made it. Several claimants prove
        // nothing at all: none is read.
        let marked: Vec<&VmInfo> = vms
            .iter()
            .filter(|v| super::own::marked_installer(v, &uid))
            .collect();
        let claimants: Vec<&VmInfo> = vms
            .iter()
            .filter(|v| {
                by_label(&v.properties, &labels, "installer name") == Some(name.as_str())
                    && by_label(&v.properties, &labels, "pairing code")
                        .is_some_and(|c| !c.is_empty())
            })
            .collect();
        let (installer, owned) = match (marked.as_slice(), claimants.as_slice()) {
            ([one], _) => (Some(*one), true),
            ([], [one]) => {
                tracing::warn!(vm = %one.name, "import: the installer VM was not deployed by this provider; its settings are read, and destroy will leave it in vCenter");
                (Some(*one), false)
            }
            ([], []) => (None, false),
            _ => {
                tracing::warn!(
                    marked = marked.len(),
                    claimants = claimants.len(),
                    "import: several VMs claim to be the installer; none is read"
                );
                (None, false)
            }
        };
        if let Some(vm) = installer {
            match session.vm_location(&vm.moref).await {
                Ok(loc) => {
                    state.installer =
                        vec![Installer::from_vm(&vm.properties, &labels, &loc.placement)];
                    if owned {
                        state.installer_vm_id = vm.moref.clone().into();
                        state.installer_vm_path = loc.path.into();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "import: cannot place the installer VM"),
            }
        } else if claimants.is_empty() {
            // Deleted after install (installer_vm_action = "delete").
            state.installer_vm_action = "delete".into();
        }
        // The nodes: the machines Palette reports for the gateway.
        let nodes = match super::own::reported_nodes(&client, g, ctx).await {
            Ok(reported) => match super::own::found_nodes(&session, &reported).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "import: cannot find the gateway's machines in vCenter");
                    Vec::new()
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "import: cannot read the gateway's machines");
                Vec::new()
            }
        };
        if !nodes.is_empty() {
            state.set_nodes(&nodes);
            state.node_count = (nodes.len() as i64).into();
            match session.vm_location(&nodes[0].moref).await {
                Ok(loc) => state.placement = vec![Placement::from(&loc.placement)],
                Err(e) => {
                    tracing::warn!(error = %e, "import: cannot place the gateway's nodes")
                }
            }
            if let Some((keys, ntp)) = nodes
                .iter()
                .find_map(|n| cloud_init_settings(&n.extra_config))
            {
                let listed = |items: &[String]| {
                    if items.is_empty() {
                        Attr::Null
                    } else {
                        strings_of(items)
                    }
                };
                state.ssh_keys = listed(&keys);
                state.ntp_servers = listed(&ntp);
            }
        }
        let _ = session.logout().await;
        state
    }

    /// Property keys and labels of Palette's installer OVA.
    async fn ova_labels(
        &self,
        client: &palette_api::client::Client,
        session: &vsphere::Session,
        ctx: &Ctx,
    ) -> Vec<(String, String)> {
        let ova: palette_api::models::V1OverloadVsphereOva =
            match client.get("/v1/overlords/vsphere/ova", &ctx.cancel).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(error = %e, "import: cannot get the installer OVA location");
                    return Vec::new();
                }
            };
        match super::create::download_ova(session, &ova.location.unwrap_or_default()).await {
            Ok((_dir, o)) => vsphere::ovf::property_labels(&o.descriptor),
            Err(d) => {
                tracing::warn!(error = %d, "import: cannot read the installer OVA");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::{V1IpPoolEntitySpec, V1Nameserver, V1ObjectMeta, V1Pool};

    fn prop(key: &str, label: Option<&str>, value: &str) -> OvfProperty {
        OvfProperty {
            key: key.into(),
            label: label.map(str::to_string),
            value: value.into(),
        }
    }

    #[test]
    fn installer_block_reads_labelled_properties_and_descriptor_labels_alike() {
        let at = vsphere::vm::Placement {
            datacenter: "DC0".into(),
            compute_cluster: "DC0_C0".into(),
            datastore: "LocalDS_0".into(),
            network: "VM Network".into(),
            resource_pool: String::new(),
            folder: "palette/installers".into(),
        };
        // vCenter: labels on the properties, no descriptor read.
        let vc = vec![
            prop("a", Some("Console Endpoint"), "https://console.example.com"),
            prop("b", Some("Pod CIDR"), "172.16.0.0/16"),
            prop("c", Some("HTTP Proxy"), "http://p:3128"),
            prop("d", Some("HTTPS Proxy"), "http://p:3128"),
            prop("e", Some("NO Proxy"), "vc.example.com, .example.com"),
        ];
        let b = Installer::from_vm(&vc, &[], &at);
        assert_eq!(
            b.console_endpoint.as_str(),
            Some("https://console.example.com")
        );
        assert_eq!(b.pod_cidr.as_str(), Some("172.16.0.0/16"));
        // Unset: the schema's default, as a configuration leaving it out plans.
        assert_eq!(
            b.service_cidr.as_str(),
            Some(schemas::gateway::DEFAULT_SERVICE_CIDR)
        );
        assert!(b.ssh_public_key.is_null());
        assert!(b.resource_pool.is_null());
        assert_eq!(b.folder.as_str(), Some("palette/installers"));
        let proxy = &b.proxy[0];
        assert_eq!(
            proxy.no_proxy,
            strings_of(&["vc.example.com".into(), ".example.com".into()])
        );
        // vcsim: bare keys (its extraConfig standing in for vApp
        // properties), labels from the OVA descriptor.
        let sim = vec![prop(
            "installer.console_endpoint",
            None,
            "http://127.0.0.1:1",
        )];
        let labels = vec![(
            "installer.console_endpoint".to_string(),
            "Console Endpoint".to_string(),
        )];
        let b = Installer::from_vm(&sim, &labels, &at);
        assert_eq!(b.console_endpoint.as_str(), Some("http://127.0.0.1:1"));
        assert_eq!(b.proxy, Vec::new());
    }

    #[test]
    fn cloud_init_user_data_gives_keys_and_ntp() {
        let doc = "#cloud-config\nusers:\n  - name: spectro\n    ssh_authorized_keys: [\"ssh-ed25519 AAAA a\"]\nntp:\n  servers: [0.pool.ntp.org]\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc);
        let extra = BTreeMap::from([
            ("guestinfo.userdata".to_string(), b64),
            (
                "guestinfo.userdata.encoding".to_string(),
                "base64".to_string(),
            ),
        ]);
        assert_eq!(
            cloud_init_settings(&extra),
            Some((
                vec!["ssh-ed25519 AAAA a".to_string()],
                vec!["0.pool.ntp.org".to_string()]
            ))
        );
        let gz = BTreeMap::from([
            ("guestinfo.userdata".to_string(), "H4sI".to_string()),
            (
                "guestinfo.userdata.encoding".to_string(),
                "gzip+base64".to_string(),
            ),
        ]);
        assert_eq!(cloud_init_settings(&gz), None);
        assert_eq!(cloud_init_settings(&BTreeMap::new()), None);
    }

    #[test]
    fn the_nodes_pool_is_the_one_holding_the_gateway_address() {
        let pool = |name: &str, start: &str, end: &str| V1IpPoolEntity {
            metadata: Some(V1ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            }),
            spec: Some(V1IpPoolEntitySpec {
                pool: Some(V1Pool {
                    start: Some(start.into()),
                    end: Some(end.into()),
                    prefix: Some(24),
                    gateway: Some("10.0.0.254".into()),
                    nameserver: Some(V1Nameserver {
                        addresses: Some(vec!["10.0.0.2".into()]),
                        search: None,
                    }),
                    subnet: None,
                }),
                ..Default::default()
            }),
            status: None,
        };
        let pools = vec![
            pool("workloads", "10.0.1.1", "10.0.1.9"),
            pool("nodes", "10.0.0.1", "10.0.0.9"),
        ];
        let (b, uid) = pool_of_address(&pools, "10.0.0.3").unwrap();
        assert_eq!(uid, "uid-nodes");
        assert_eq!(b.name.as_str(), Some("nodes"));
        assert_eq!(b.prefix.get(), Some(24));
        assert_eq!(b.restrict_to_single_cluster, Attr::Known(false));
        assert!(pool_of_address(&pools, "10.0.2.1").is_none());
    }

    #[test]
    fn private_state_round_trips_and_is_empty_by_default() {
        assert!(Private::default().bytes().is_empty());
        let p = Private {
            adopting: true,
            installer_gone: false,
        };
        assert_eq!(Private::parse(&p.bytes()), p);
        assert_eq!(Private::parse(b"garbage"), Private::default());
    }
}
