use tfplugin::{Attr, Diagnostics};

use super::create::registration_help;
use super::model::{GatewayModel, Installer, StaticIpPool, Vcenter};
use super::plan::{check_networks, default_console, root_pool};
use super::vcenter::{
    missing_password, password_source, wo_version_changed, PasswordSource, DESTROY_NEEDS,
    REFRESH_NEEDS,
};

fn config(extra: impl FnOnce(&mut GatewayModel)) -> GatewayModel {
    let mut v = GatewayModel {
        installer: vec![Installer {
            pod_cidr: "192.168.0.0/16".into(),
            service_cidr: "10.96.0.0/12".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    extra(&mut v);
    v
}

#[test]
fn overlapping_networks_are_named_at_their_attribute() {
    let v = config(|v| {
        v.installer[0].service_cidr = "192.168.10.0/24".into();
    });
    let mut d = Diagnostics::new();
    check_networks(&v, &mut d);
    let paths: Vec<String> = d
        .iter()
        .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
        .collect();
    assert_eq!(paths, vec!["installer[0].service_cidr"], "{d}");

    // The nodes' network may not overlap the pod network either.
    let v = config(|v| {
        v.static_ip_pool = vec![StaticIpPool {
            name: "n".into(),
            start: "192.168.1.10".into(),
            end: "192.168.1.20".into(),
            prefix: Attr::Known(24),
            ..Default::default()
        }];
    });
    let mut d = Diagnostics::new();
    check_networks(&v, &mut d);
    let paths: Vec<String> = d
        .iter()
        .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
        .collect();
    assert_eq!(paths, vec!["installer[0].pod_cidr"], "{d}");
}

fn vcenter_block(set: impl FnOnce(&mut Vcenter)) -> Vcenter {
    let mut b = Vcenter {
        server: "vc.example.com".into(),
        username: "u".into(),
        ..Default::default()
    };
    set(&mut b);
    b
}

#[test]
fn the_password_comes_from_state_configuration_or_the_provider() {
    use PasswordSource::*;
    let stored = vcenter_block(|b| b.password = "p1".into());
    let wo = vcenter_block(|b| b.password_wo_version = Attr::Known(1));
    let config = vcenter_block(|b| {
        b.password_wo = "p2".into();
        b.password_wo_version = Attr::Known(1);
    });
    let none = None;
    assert_eq!(password_source(none, none, None), Default);
    assert_eq!(password_source(Some(&stored), none, None), Stored);
    assert_eq!(
        password_source(
            Some(&vcenter_block(|b| b.password = Attr::Unknown)),
            none,
            None
        ),
        Stored
    );
    // Plan and apply carry the configuration.
    assert_eq!(
        password_source(Some(&wo), Some(&config), None),
        Configured("p2")
    );
    // Refresh and destroy do not: the provider's block, for that server only.
    assert_eq!(
        password_source(Some(&wo), none, Some("https://VC.example.com/sdk")),
        Provider
    );
    assert_eq!(
        password_source(Some(&wo), none, Some("vc2.example.com")),
        Missing
    );
    assert_eq!(password_source(Some(&wo), none, None), Missing);
    // A block an import read back has no password either.
    assert_eq!(
        password_source(Some(&vcenter_block(|_| {})), none, None),
        Missing
    );
}

#[test]
fn a_missing_password_says_which_operation_needs_what() {
    let text = missing_password("vc.example.com", DESTROY_NEEDS, Some("vc2.example.com"));
    for part in [
        "deletes its node VMs",
        "\"vc.example.com\"",
        "names \"vc2.example.com\", another server",
        "provider \"palette\" {",
        "server   = \"vc.example.com\"",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let text = missing_password("vc.example.com", REFRESH_NEEDS, None);
    assert!(text.contains("reads the gateway's node VMs"), "{text}");
    assert!(!text.contains("another server"), "{text}");
}

#[test]
fn the_write_only_password_is_sent_when_its_version_changes() {
    let state = |b: Vcenter| GatewayModel {
        vcenter: vec![b],
        ..Default::default()
    };
    let v1 = state(vcenter_block(|b| b.password_wo_version = Attr::Known(1)));
    let v2 = state(vcenter_block(|b| b.password_wo_version = Attr::Known(2)));
    let cfg = |n: i64| {
        state(vcenter_block(|b| {
            b.password_wo = "p".into();
            b.password_wo_version = Attr::Known(n);
        }))
    };
    assert!(wo_version_changed(&v1, &v2, &cfg(2)));
    assert!(!wo_version_changed(&v2, &v2, &cfg(2)));
    // An import leaves no block, or one without a version: null -> 1.
    let imported = state(vcenter_block(|_| {}));
    assert!(wo_version_changed(&imported, &v1, &cfg(1)));
    let no_block = GatewayModel::default();
    assert!(wo_version_changed(&no_block, &v1, &cfg(1)));
    // Nothing write-only configured: nothing to send.
    let plain = state(vcenter_block(|b| b.password = "p".into()));
    assert!(!wo_version_changed(&imported, &plain, &plain));
}

#[test]
fn the_root_pool_has_three_spellings_and_no_other() {
    for v in [
        Attr::Null,
        "".into(),
        "Resources".into(),
        "/Resources/".into(),
    ] {
        assert!(root_pool(&v), "{v:?}");
    }
    for v in ["Resources/apps".into(), "apps".into(), Attr::Unknown] {
        assert!(!root_pool(&v), "{v:?}");
    }
}

#[test]
fn the_registration_help_never_carries_the_pairing_code() {
    let text = registration_help(
        "pcg",
        "https://console.example.com",
        "SECRET42",
        "DC0/vm/pcg-installer",
        &["Warning: pairing code SECRET42 is not known".to_string()],
    );
    assert!(!text.contains("SECRET42"), "{text}");
    assert!(text.contains("\u{2026}42"), "{text}");
}

#[test]
fn console_defaults_follow_the_api_endpoint() {
    assert_eq!(
        default_console("https://api.spectrocloud.com"),
        "https://console.spectrocloud.com"
    );
    assert_eq!(
        default_console("http://127.0.0.1:8080/"),
        "http://127.0.0.1:8080"
    );
}
