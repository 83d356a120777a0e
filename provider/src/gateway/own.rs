//! Which VMs in vCenter are a gateway's. The provider has delete rights
//! there, so it owns a VM only on evidence, never because of its name:
//!
//! - **Node VMs** are the machines Palette reports for the gateway: the
//!   gateway is a cluster of its own (`spec.spectroClusterUid`), and its
//!   cloud config's machine pools list each node by name and placement. A
//!   node is the VM at exactly that inventory path (datacenter, VM folder,
//!   name). A node recorded in state earlier, on that evidence, stays the
//!   gateway's while the VM under its id still carries the recorded name.
//! - **The installer VM** is the one this provider deployed: recorded in
//!   state at creation, and marked in its `extraConfig` with
//!   [`INSTALLER_MARKER`] = [`PENDING`] right after the OVA import, then =
//!   the gateway's uid once the gateway registered (a run lost in between
//!   is carried on from that mark: see `resume`). A
//!   recorded installer whose name changed, or whose marker names another
//!   gateway, is not deleted. An installer deployed by hand (from the
//!   console) is read by an import but never owned.

use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{V1Overlord, V1SpectroCluster, V1VsphereCloudConfig, V1VsphereMachines};
use tfplugin::{Attr, Ctx};
use vsphere::vm::VmInfo;

use super::model::Node;

/// The `extraConfig` key the provider sets on an installer it deployed;
/// its value is the gateway's uid.
pub const INSTALLER_MARKER: &str = "guestinfo.terraform-provider-palette.gateway";

/// The marker's value from the OVA import until the gateway registers: the
/// installer is this provider's, its gateway not known yet (see `resume`).
pub const PENDING: &str = "pending";

/// A machine Palette reports for a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedNode {
    pub name: String,
    pub datacenter: String,
    pub folder: String,
}

impl ReportedNode {
    pub fn path(&self) -> String {
        vsphere::owner::vm_path(&self.datacenter, &self.folder, &self.name)
    }
}

/// The gateway's machines as Palette reports them. A gateway without a
/// cluster yet (not provisioned) has none.
pub async fn reported_nodes(
    client: &Client,
    g: &V1Overlord,
    ctx: &Ctx,
) -> Result<Vec<ReportedNode>, ApiError> {
    let Some(cluster_uid) = g
        .spec
        .as_ref()
        .and_then(|s| s.spectro_cluster_uid.clone())
        .filter(|u| !u.is_empty())
    else {
        return Ok(Vec::new());
    };
    let cluster: V1SpectroCluster = match client
        .get(&format!("/v1/spectroclusters/{cluster_uid}"), &ctx.cancel)
        .await
    {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let Some(config_uid) = cluster
        .spec
        .as_ref()
        .and_then(|s| s.cloud_config_ref.as_ref())
        .and_then(|r| r.uid.clone())
    else {
        return Ok(Vec::new());
    };
    let config: V1VsphereCloudConfig = client
        .get(
            &format!("/v1/cloudconfigs/vsphere/{config_uid}"),
            &ctx.cancel,
        )
        .await?;
    let mut out = Vec::new();
    let pools = config
        .spec
        .and_then(|s| s.machine_pool_config)
        .unwrap_or_default();
    for pool in pools {
        let Some(name) = pool.name else { continue };
        let list: V1VsphereMachines = client
            .get(
                &format!("/v1/cloudconfigs/vsphere/{config_uid}/machinePools/{name}/machines"),
                &ctx.cancel,
            )
            .await?;
        for m in list.items.unwrap_or_default() {
            let Some(vm_name) = m.metadata.and_then(|m| m.name) else {
                continue;
            };
            let p = m.spec.and_then(|s| s.placement).unwrap_or_default();
            // A machine without a datacenter cannot be found by path.
            let Some(datacenter) = p.datacenter.filter(|d| !d.is_empty()) else {
                continue;
            };
            out.push(ReportedNode {
                name: vm_name,
                datacenter,
                folder: p.folder.unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The reported machines that vCenter has at their paths.
pub async fn found_nodes(
    session: &vsphere::Session,
    reported: &[ReportedNode],
) -> Result<Vec<VmInfo>, vsphere::Error> {
    let mut out = Vec::new();
    for r in reported {
        if let Some(vm) = session.vm_at(&r.path()).await? {
            out.push(vm);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A node recorded in state: its VM id and the name it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub vm_id: String,
    pub name: String,
}

pub fn recorded_nodes(nodes: &Attr<Vec<Node>>) -> Vec<Recorded> {
    nodes
        .known()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| {
            Some(Recorded {
                vm_id: n.vm_id.as_str()?.to_string(),
                name: n.name.str().to_string(),
            })
        })
        .collect()
}

/// Whether the VM under a recorded node's id is still that node: vCenter
/// may give the id to another VM (vcsim does after a restart), and a VM
/// renamed since is no longer what was recorded.
pub fn still_recorded(recorded: &Recorded, now: &VmInfo) -> bool {
    !recorded.name.is_empty() && now.moref == recorded.vm_id && now.name == recorded.name
}

/// Why the VM under a recorded installer id is not (or no longer) this
/// gateway's installer, or `None` when it is.
pub fn installer_doubt(now: &VmInfo, recorded_path: &str, gateway_uid: &str) -> Option<String> {
    let recorded_name = recorded_path.rsplit('/').next().unwrap_or_default();
    if recorded_name.is_empty() || now.name != recorded_name {
        return Some(format!(
            "VM {} is now named {:?}, not {recorded_name:?} as recorded",
            now.moref, now.name
        ));
    }
    match now.extra_config.get(INSTALLER_MARKER) {
        Some(m) if !gateway_uid.is_empty() && m != gateway_uid && m != PENDING => Some(format!(
            "VM {} is marked as the installer of gateway {m}, not {gateway_uid}",
            now.moref
        )),
        _ => None,
    }
}

/// Whether a VM carries this provider's installer marker for the gateway.
pub fn marked_installer(vm: &VmInfo, gateway_uid: &str) -> bool {
    !gateway_uid.is_empty()
        && vm.extra_config.get(INSTALLER_MARKER).map(String::as_str) == Some(gateway_uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(moref: &str, name: &str, marker: Option<&str>) -> VmInfo {
        let mut v = VmInfo {
            moref: moref.into(),
            name: name.into(),
            powered_on: true,
            annotation: None,
            extra_config: Default::default(),
            properties: Vec::new(),
        };
        if let Some(m) = marker {
            v.extra_config.insert(INSTALLER_MARKER.into(), m.into());
        }
        v
    }

    #[test]
    fn a_recorded_node_is_kept_only_while_its_vm_keeps_the_name() {
        let r = Recorded {
            vm_id: "vm-1".into(),
            name: "pcg-node-0".into(),
        };
        assert!(still_recorded(&r, &vm("vm-1", "pcg-node-0", None)));
        // The id now belongs to another VM: prefix-sharing or not, not ours.
        assert!(!still_recorded(&r, &vm("vm-1", "pcg-dr-node-0", None)));
        assert!(!still_recorded(&r, &vm("vm-2", "pcg-node-0", None)));
        let unnamed = Recorded {
            vm_id: "vm-1".into(),
            name: String::new(),
        };
        assert!(!still_recorded(&unnamed, &vm("vm-1", "", None)));
    }

    #[test]
    fn an_installer_needs_its_recorded_name_and_no_foreign_marker() {
        let path = "DC0/vm/palette/pcg-installer";
        assert_eq!(
            installer_doubt(&vm("vm-9", "pcg-installer", None), path, "u1"),
            None
        );
        assert_eq!(
            installer_doubt(&vm("vm-9", "pcg-installer", Some("u1")), path, "u1"),
            None
        );
        assert!(
            installer_doubt(&vm("vm-9", "pcg-installer", Some("u2")), path, "u1")
                .unwrap()
                .contains("gateway u2")
        );
        // Marked at deployment, before the gateway registered.
        assert_eq!(
            installer_doubt(&vm("vm-9", "pcg-installer", Some(PENDING)), path, "u1"),
            None
        );
        assert!(installer_doubt(&vm("vm-9", "prod-db-01", None), path, "u1")
            .unwrap()
            .contains("prod-db-01"));
        assert!(marked_installer(&vm("vm-9", "x", Some("u1")), "u1"));
        assert!(!marked_installer(&vm("vm-9", "x", Some("u1")), ""));
        assert!(!marked_installer(&vm("vm-9", "x", None), "u1"));
    }

    #[test]
    fn reported_nodes_are_found_at_their_exact_path() {
        let r = ReportedNode {
            name: "pcg-node-0".into(),
            datacenter: "DC0".into(),
            folder: "palette/pcg".into(),
        };
        assert_eq!(r.path(), "DC0/vm/palette/pcg/pcg-node-0");
    }

    #[test]
    fn recorded_nodes_come_from_state() {
        let nodes = Attr::Known(vec![
            Node {
                name: "a".into(),
                vm_id: "vm-1".into(),
                powered_on: true.into(),
            },
            Node {
                name: "b".into(),
                vm_id: Attr::Null,
                powered_on: true.into(),
            },
        ]);
        assert_eq!(
            recorded_nodes(&nodes),
            vec![Recorded {
                vm_id: "vm-1".into(),
                name: "a".into()
            }]
        );
    }
}
