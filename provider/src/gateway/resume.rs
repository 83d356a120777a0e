//! Carrying on after a lost run. Terraform writes state only when a create
//! returns, so a runner killed while a gateway registers (SIGKILL, a
//! machine gone) leaves the installer VM in vCenter and nothing in state;
//! the installer then registers a gateway that no state knows. The next
//! create finds that installer at the path it would deploy to, and decides
//! here, without I/O, whether it may carry on with it:
//!
//! - the VM is this provider's installer: it carries [`INSTALLER_MARKER`],
//!   set right after the OVA import (`pending`) and set to the gateway's uid
//!   once it registered, and its "Installer Name" property is the gateway's
//!   name; anything else at that path is not touched, and the error says
//!   what is there and how to recover;
//! - the gateway is the one the marker names, or, while the marker is still
//!   `pending`, the only gateway of that name still waiting for its vSphere
//!   account (what an installer leaves when nobody configures its gateway);
//!   none yet means the installer has not registered, and the create waits
//!   for it as usual; more than one is ambiguous and stops the create.

use palette_api::models::{V1IpPoolEntity, V1Overlord};
use vsphere::vm::VmInfo;

use super::adopt::by_label;
use super::own::{INSTALLER_MARKER, PENDING};

/// What the installer at the deploy path says about the lost run.
#[derive(Debug, PartialEq, Eq)]
pub enum Installer {
    /// Deployed by this provider for this gateway; the gateway it registered,
    /// when the lost run saw the registration.
    Ours { gateway: Option<String> },
    /// Not provably ours: why.
    NotOurs(String),
}

/// Judges the VM found at the installer's path for gateway `name`.
/// `labels` are the installer OVA's (key, label) pairs, for VMs whose
/// properties carry no labels (vcsim).
pub fn judge(vm: &VmInfo, name: &str, labels: &[(String, String)]) -> Installer {
    let Some(marker) = vm.extra_config.get(INSTALLER_MARKER) else {
        return Installer::NotOurs(format!(
            "VM {} ({:?}) carries no {INSTALLER_MARKER} mark, so this provider did not deploy it \
             (or its deployment was cut off before it could mark it)",
            vm.moref, vm.name
        ));
    };
    let announced = by_label(&vm.properties, labels, "installer name");
    if announced != Some(name) {
        return Installer::NotOurs(format!(
            "VM {} is an installer for gateway {:?}, not {name:?}",
            vm.moref,
            announced.unwrap_or_default()
        ));
    }
    Installer::Ours {
        gateway: (marker != PENDING && !marker.is_empty()).then(|| marker.clone()),
    }
}

/// Which registered gateway a pending installer made.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    /// Not registered yet: wait, ignoring these gateways of the same name.
    NotYet {
        others: Vec<String>,
    },
    One(String),
    /// Several gateways of that name wait for their account: their uids.
    Ambiguous(Vec<String>),
}

/// `listed` are the gateways Palette lists under the name.
pub fn registered(listed: &[V1Overlord], name: &str) -> Registered {
    let mut waiting = Vec::new();
    let mut others = Vec::new();
    for g in listed {
        let Some(m) = &g.metadata else { continue };
        let (Some(uid), Some(n)) = (&m.uid, &m.name) else {
            continue;
        };
        if n != name {
            continue;
        }
        let has_account = g
            .spec
            .as_ref()
            .and_then(|s| s.cloud_account_uid.as_deref())
            .is_some_and(|a| !a.is_empty());
        if has_account {
            others.push(uid.clone());
        } else {
            waiting.push(uid.clone());
        }
    }
    match waiting.len() {
        0 => Registered::NotYet { others },
        1 => Registered::One(waiting.remove(0)),
        _ => Registered::Ambiguous(waiting),
    }
}

/// What a lost run already gave the gateway it registered.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Configured {
    /// The vSphere account's uid.
    pub account: Option<String>,
    /// The cloud config, which moves a gateway out of `Pending`.
    pub cloud_config: bool,
}

impl Configured {
    pub fn of(g: &V1Overlord) -> Configured {
        let account = g
            .spec
            .as_ref()
            .and_then(|s| s.cloud_account_uid.clone())
            .filter(|a| !a.is_empty());
        let state = g
            .status
            .as_ref()
            .and_then(|s| s.state.as_deref())
            .unwrap_or_default();
        Configured {
            account,
            cloud_config: !state.is_empty() && state != "Pending",
        }
    }
}

/// The uid of the gateway's pool of that name, made by the lost run.
pub fn pool_named(pools: &[V1IpPoolEntity], name: &str) -> Option<String> {
    pools.iter().find_map(|p| {
        let m = p.metadata.as_ref()?;
        (m.name.as_deref() == Some(name))
            .then(|| m.uid.clone())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::{V1ObjectMeta, V1OverloadSpec, V1OverloadStatus};
    use vsphere::vm::OvfProperty;

    fn vm(marker: Option<&str>, installer_name: &str, labelled: bool) -> VmInfo {
        let mut v = VmInfo {
            moref: "vm-42".into(),
            name: "pcg-dc1-installer".into(),
            powered_on: true,
            annotation: None,
            extra_config: Default::default(),
            properties: vec![OvfProperty {
                key: "installer.name".into(),
                label: labelled.then(|| "Installer Name".into()),
                value: installer_name.into(),
            }],
        };
        if let Some(m) = marker {
            v.extra_config.insert(INSTALLER_MARKER.into(), m.into());
        }
        v
    }

    fn labels() -> Vec<(String, String)> {
        vec![("installer.name".into(), "Installer Name".into())]
    }

    #[test]
    fn only_a_marked_installer_announcing_the_gateway_is_ours() {
        assert_eq!(
            judge(&vm(Some(PENDING), "pcg-dc1", false), "pcg-dc1", &labels()),
            Installer::Ours { gateway: None }
        );
        assert_eq!(
            judge(&vm(Some("uid-1"), "pcg-dc1", true), "pcg-dc1", &[]),
            Installer::Ours {
                gateway: Some("uid-1".into())
            }
        );
        // A VM someone made by hand at that path, or an installer cut off
        // before it was marked.
        let Installer::NotOurs(why) = judge(&vm(None, "pcg-dc1", true), "pcg-dc1", &[]) else {
            panic!("an unmarked VM was taken")
        };
        assert!(
            why.contains("vm-42") && why.contains(INSTALLER_MARKER),
            "{why}"
        );
        // Marked, but announcing another gateway (the name was reused).
        let Installer::NotOurs(why) = judge(&vm(Some(PENDING), "pcg-dc2", true), "pcg-dc1", &[])
        else {
            panic!("an installer for another gateway was taken")
        };
        assert!(why.contains("pcg-dc2"), "{why}");
        // Without labels the name cannot be read: not ours.
        assert!(matches!(
            judge(&vm(Some(PENDING), "pcg-dc1", false), "pcg-dc1", &[]),
            Installer::NotOurs(_)
        ));
    }

    fn gw(uid: &str, name: &str, account: Option<&str>) -> V1Overlord {
        V1Overlord {
            metadata: Some(V1ObjectMeta {
                uid: Some(uid.into()),
                name: Some(name.into()),
                ..Default::default()
            }),
            spec: Some(V1OverloadSpec {
                cloud_account_uid: account.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_registered_gateway_is_the_only_one_of_the_name_without_an_account() {
        assert_eq!(
            registered(&[gw("a", "pcg-dc1", Some("acc"))], "pcg-dc1"),
            Registered::NotYet {
                others: vec!["a".into()]
            }
        );
        assert_eq!(
            registered(
                &[
                    gw("a", "pcg-dc1", Some("acc")),
                    gw("b", "pcg-dc1", Some("")),
                    gw("c", "pcg-dc10", None)
                ],
                "pcg-dc1"
            ),
            Registered::One("b".into())
        );
        assert_eq!(
            registered(
                &[gw("b", "pcg-dc1", None), gw("d", "pcg-dc1", None)],
                "pcg-dc1"
            ),
            Registered::Ambiguous(vec!["b".into(), "d".into()])
        );
    }

    #[test]
    fn what_a_lost_run_gave_is_read_from_the_gateway() {
        let mut g = gw("a", "pcg-dc1", None);
        assert_eq!(Configured::of(&g), Configured::default());
        g.status = Some(V1OverloadStatus {
            state: Some("Pending".into()),
            ..Default::default()
        });
        g.spec = Some(V1OverloadSpec {
            cloud_account_uid: Some("acc".into()),
            ..Default::default()
        });
        assert_eq!(
            Configured::of(&g),
            Configured {
                account: Some("acc".into()),
                cloud_config: false
            }
        );
        g.status = Some(V1OverloadStatus {
            state: Some("Provisioning".into()),
            ..Default::default()
        });
        assert!(Configured::of(&g).cloud_config);
    }

    #[test]
    fn a_pool_is_found_by_its_name_only() {
        let pool = |uid: &str, name: &str| V1IpPoolEntity {
            metadata: Some(V1ObjectMeta {
                uid: Some(uid.into()),
                name: Some(name.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pools = [pool("p1", "pcg-dc1-nodes"), pool("p2", "pcg-dc1-nodes-b")];
        assert_eq!(pool_named(&pools, "pcg-dc1-nodes-b"), Some("p2".into()));
        assert_eq!(pool_named(&pools, "pcg-dc1"), None);
    }
}
