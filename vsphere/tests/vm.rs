//! Inventory and VM operations against vcsim, checked through vCenter's
//! own answers rather than the crate's word.

use std::collections::BTreeMap;

use vsphere::vcsim::Vcsim;
use vsphere::vm::{Placement, VmSpec};
use vsphere::{Error, Session, Target};

fn placement(folder: &str) -> Placement {
    Placement {
        datacenter: "DC0".into(),
        compute_cluster: "DC0_C0".into(),
        datastore: "LocalDS_0".into(),
        network: "VM Network".into(),
        resource_pool: String::new(),
        folder: folder.into(),
    }
}

async fn session(sim: &Vcsim) -> Session {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = Target::parse(&sim.url(), true).unwrap();
    Session::login(&target, &sim.user, &sim.password)
        .await
        .unwrap()
}

#[tokio::test]
async fn create_power_read_and_destroy_a_vm() {
    let sim = Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
    let s = session(&sim).await;
    let at = s.resolve(&placement("palette/installers")).await.unwrap();
    assert_eq!(at.folder_path, "DC0/vm/palette/installers");
    // The folders now exist in vCenter.
    s.find("VM folder", "DC0/vm/palette/installers")
        .await
        .unwrap();

    let spec = VmSpec {
        name: "pcg-installer".into(),
        cpus: 2,
        memory_mb: 4096,
        annotation: Some("made by a test".into()),
        extra_config: BTreeMap::from([("guestinfo.pairing".to_string(), "ABC123".to_string())]),
    };
    let vm = s.create_vm(&spec, &at).await.unwrap();
    let info = s.vm_info(&vm).await.unwrap();
    assert_eq!(info.name, "pcg-installer");
    assert!(!info.powered_on);
    assert_eq!(info.annotation.as_deref(), Some("made by a test"));
    assert_eq!(
        info.extra_config
            .get("guestinfo.pairing")
            .map(String::as_str),
        Some("ABC123")
    );

    s.power_on(&vm).await.unwrap();
    assert!(s.vm_info(&vm).await.unwrap().powered_on);
    let listed = s.list_vms().await.unwrap();
    let mine = listed.iter().find(|v| v.moref == vm).expect("listed");
    assert!(mine.powered_on);

    s.power_off(&vm).await.unwrap();
    assert!(!s.vm_info(&vm).await.unwrap().powered_on);
    s.destroy_vm(&vm).await.unwrap();
    let gone = s.vm_info(&vm).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    assert!(s
        .find("virtual machine", "DC0/vm/palette/installers/pcg-installer")
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn missing_placement_parts_are_named() {
    let sim = Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
    let s = session(&sim).await;
    let mut p = placement("");
    p.compute_cluster = "NoSuchCluster".into();
    match s.resolve(&p).await.unwrap_err() {
        Error::NotFound { kind, path, .. } => {
            assert_eq!(kind, "compute cluster");
            assert_eq!(path, "DC0/host/NoSuchCluster");
        }
        other => panic!("{other:?}"),
    }
    let mut p = placement("");
    p.datastore = "NoDS".into();
    let e = s.resolve(&p).await.unwrap_err();
    assert!(e.to_string().contains("DC0/datastore/NoDS"), "{e}");
    let mut p = placement("");
    p.datacenter = "DC9".into();
    assert!(matches!(
        s.resolve(&p).await.unwrap_err(),
        Error::NotFound {
            kind: "datacenter",
            ..
        }
    ));
}
