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
    assert_eq!(
        at.created_folders,
        ["DC0/vm/palette", "DC0/vm/palette/installers"],
        "the resolve made both levels"
    );
    // The folders now exist in vCenter, and a second resolve makes none.
    s.find("VM folder", "DC0/vm/palette/installers")
        .await
        .unwrap();
    let again = s.resolve(&placement("palette/installers")).await.unwrap();
    assert!(
        again.created_folders.is_empty(),
        "{:?}",
        again.created_folders
    );

    let spec = VmSpec {
        name: "pcg-installer".into(),
        cpus: 2,
        memory_mb: 4096,
        annotation: Some("made by a test".into()),
        extra_config: BTreeMap::from([("guestinfo.pairing".to_string(), "ABC123".to_string())]),
    };
    let vm = s.create_vm(&spec, &at).await.unwrap();
    // Its NIC carries the allocation vCenter gives every NIC, which other
    // tools (HashiCorp's vsphere provider) read without checking.
    assert_eq!(
        s.nic_allocations(&vm).await.unwrap(),
        vec![Some(vsphere::vm::NicAllocation {
            reservation: Some(0),
            limit: Some(-1),
            shares: 50,
            level: "normal".into(),
        })]
    );
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
    // A folder holding a VM stays.
    assert!(!s
        .remove_folder_if_empty("DC0/vm/palette/installers")
        .await
        .unwrap());
    s.destroy_vm(&vm).await.unwrap();
    assert!(s.vm_location(&vm).await.unwrap_err().is_not_found());
    let gone = s.vm_info(&vm).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    assert!(s
        .find("virtual machine", "DC0/vm/palette/installers/pcg-installer")
        .await
        .unwrap_err()
        .is_not_found());
    // Empty now: the folders go, innermost first; a second call finds
    // nothing to remove.
    for f in at.created_folders.iter().rev() {
        assert!(s.remove_folder_if_empty(f).await.unwrap(), "{f}");
        assert!(s.find("VM folder", f).await.unwrap_err().is_not_found());
        assert!(!s.remove_folder_if_empty(f).await.unwrap(), "{f}");
    }
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

/// A real OVA (the lab's installer) imported into vcsim: properties land
/// where vcsim keeps them (extraConfig), the disk goes through the NFC lease.
#[tokio::test]
async fn an_ova_imports_with_its_properties() {
    let sim = Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
    let s = session(&sim).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("installer.ova");
    std::fs::write(&path, ova()).unwrap();
    let ova = vsphere::ovf::Ova::open(&path).unwrap();
    assert!(ova.descriptor.contains("ProductSection"));
    assert_eq!(ova.files.len(), 1);
    let at = s.resolve(&placement("palette/installers")).await.unwrap();
    let props = BTreeMap::from([
        ("installer.name".to_string(), "pcg-dc1".to_string()),
        ("installer.pairing_code".to_string(), "ABC234".to_string()),
    ]);
    let vm = s
        .import_ova(&ova, "pcg-dc1-installer", &at, &props)
        .await
        .unwrap();
    let info = s.vm_info(&vm).await.unwrap();
    assert_eq!(info.name, "pcg-dc1-installer");
    // vcsim builds the NICs from the descriptor; each has vCenter's allocation.
    let nics = s.nic_allocations(&vm).await.unwrap();
    assert!(!nics.is_empty(), "the OVA's network adapter is there");
    assert!(
        nics.iter()
            .all(|a| a.as_ref().is_some_and(|a| a.limit == Some(-1))),
        "{nics:?}"
    );
    assert_eq!(
        info.extra_config
            .get("installer.pairing_code")
            .map(String::as_str),
        Some("ABC234")
    );
    // Read back as OVF properties (vcsim's extraConfig standing in for
    // vCenter's vAppConfig), without the guestinfo keys.
    let prop = |k: &str| {
        info.properties
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.clone())
    };
    assert_eq!(prop("installer.name").as_deref(), Some("pcg-dc1"));
    assert_eq!(prop("installer.pairing_code").as_deref(), Some("ABC234"));
    assert!(info
        .properties
        .iter()
        .all(|p| !p.key.starts_with("guestinfo.")));
    // And where it landed, as a placement an import can write back.
    let at = s.vm_location(&vm).await.unwrap();
    assert_eq!(at.path, "DC0/vm/palette/installers/pcg-dc1-installer");
    assert_eq!(
        at.placement,
        Placement {
            resource_pool: String::new(),
            ..placement("palette/installers")
        }
    );
    s.find(
        "virtual machine",
        "DC0/vm/palette/installers/pcg-dc1-installer",
    )
    .await
    .unwrap();
    s.power_on(&vm).await.unwrap();
    s.destroy_vm(&vm).await.unwrap();
}

/// A small OVA built like the lab's: descriptor, then one disk file.
fn ova() -> Vec<u8> {
    let ovf = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk" ovf:size="4096"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
  <NetworkSection><Info>nets</Info><Network ovf:name="VM Network"><Description>n</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="t">
    <Info>test</Info>
    <ProductSection><Info>p</Info>
      <Property ovf:key="installer.name" ovf:type="string" ovf:value=""/>
      <Property ovf:key="installer.pairing_code" ovf:type="string" ovf:value=""/>
    </ProductSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>"#;
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("t.ovf", ovf.as_bytes().to_vec()),
        ("disk1.vmdk", vec![7u8; 4096]),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// Ctrl-C (Terraform cancelling the operation) ends a task wait at once,
/// and the operation's deadline ends it too, naming the task and saying it
/// may go on in vCenter.
#[tokio::test]
async fn task_waits_obey_cancellation_and_the_deadline() {
    let sim = Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let s = session(&sim).await.with_cancel(token.clone());
    let at = s.resolve(&placement("")).await.unwrap();
    let spec = VmSpec {
        name: "waits".into(),
        cpus: 1,
        memory_mb: 256,
        ..Default::default()
    };
    let vm = s.create_vm(&spec, &at).await.unwrap();

    token.cancel();
    let started = std::time::Instant::now();
    let e = s.power_on(&vm).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        matches!(&e, Error::Cancelled { what, still_running: true } if what.starts_with("vCenter task ")),
        "{e:?}"
    );

    let s = session(&sim)
        .await
        .with_deadline(Some(std::time::Instant::now()));
    let e = s.destroy_vm(&vm).await.unwrap_err();
    assert!(matches!(e, Error::TimedOut { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("vCenter task task-"), "{text}");
    assert!(text.contains("may still be running in vCenter"), "{text}");
}
