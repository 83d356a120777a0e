//! Ownership evidence against vcsim: a marker written into a VM's
//! extraConfig reads back, and a VM is found by its exact path only.

use std::collections::BTreeMap;

use vsphere::vcsim::Vcsim;
use vsphere::vm::{Placement, VmSpec};
use vsphere::{Session, Target};

async fn session(sim: &Vcsim) -> Session {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = Target::parse(&sim.url(), true).unwrap();
    Session::login(&target, &sim.user, &sim.password)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_marker_reads_back_and_vms_are_found_by_exact_path() {
    let sim = Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
    let s = session(&sim).await;
    let at = s
        .resolve(&Placement {
            datacenter: "DC0".into(),
            compute_cluster: "DC0_C0".into(),
            datastore: "LocalDS_0".into(),
            network: "VM Network".into(),
            resource_pool: String::new(),
            folder: "palette/gateways".into(),
        })
        .await
        .unwrap();
    let spec = VmSpec {
        name: "pcg-node-0".into(),
        cpus: 1,
        memory_mb: 512,
        annotation: None,
        extra_config: BTreeMap::from([("guestinfo.other".to_string(), "x".to_string())]),
    };
    let vm = s.create_vm(&spec, &at).await.unwrap();
    s.power_on(&vm).await.unwrap();

    let key = "guestinfo.terraform-provider-palette.gateway".to_string();
    s.set_extra_config(&vm, &BTreeMap::from([(key.clone(), "uid-1".to_string())]))
        .await
        .unwrap();
    let info = s.vm_info(&vm).await.unwrap();
    assert_eq!(
        info.extra_config.get(&key).map(String::as_str),
        Some("uid-1")
    );
    // Other keys are left alone.
    assert_eq!(
        info.extra_config.get("guestinfo.other").map(String::as_str),
        Some("x")
    );

    let path = vsphere::owner::vm_path("DC0", "palette/gateways", "pcg-node-0");
    assert_eq!(
        s.vm_at(&path).await.unwrap().map(|v| v.moref),
        Some(vm.clone())
    );
    // A prefix, another folder or a folder itself is not the VM.
    for other in [
        vsphere::owner::vm_path("DC0", "palette/gateways", "pcg-node"),
        vsphere::owner::vm_path("DC0", "palette", "pcg-node-0"),
        "DC0/vm/palette/gateways".to_string(),
    ] {
        assert!(s.vm_at(&other).await.unwrap().is_none(), "{other}");
    }

    s.destroy_vm(&vm).await.unwrap();
    assert!(s
        .set_extra_config(&vm, &BTreeMap::new())
        .await
        .unwrap_err()
        .is_not_found());
    let _ = s.logout().await;
}
