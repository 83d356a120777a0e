//! vSphere tagging against vcsim's vAPI REST endpoints, with Palette's
//! documented zone tagging as the case: `k8s-region` on the datacenter,
//! `k8s-zone` on each compute cluster.

use vsphere::tags::Cardinality;
use vsphere::vcsim::Vcsim;
use vsphere::{CategorySpec, Error, ObjectRef, Session, TagSpec, Tagging, Target};

const USER: &str = "tagger@vsphere.local";
const PASSWORD: &str = "Tag-s3cret-Pa55";

async fn connect(sim: &Vcsim) -> (Session, Tagging) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = Target::parse(&sim.url(), true).unwrap();
    let s = Session::login(&target, &sim.user, &sim.password)
        .await
        .unwrap();
    let t = Tagging::login(&s, &sim.user, &sim.password).await.unwrap();
    (s, t)
}

fn start() -> Vcsim {
    Vcsim::start(USER, PASSWORD, &["-cluster", "2"]).expect("vcsim")
}

fn category(name: &str, on: &str) -> CategorySpec {
    CategorySpec {
        name: name.into(),
        description: format!("Palette {name}"),
        cardinality: Cardinality::Single,
        associable_types: vec![on.into()],
    }
}

fn tag(category_id: &str, name: &str) -> TagSpec {
    TagSpec {
        name: name.into(),
        description: String::new(),
        category_id: category_id.into(),
    }
}

fn names(tags: &[vsphere::Tag]) -> Vec<&str> {
    tags.iter().map(|t| t.name.as_str()).collect()
}

#[tokio::test]
async fn zone_tagging_lifecycle() {
    let sim = start();
    let (s, t) = connect(&sim).await;

    let region = t
        .ensure_category(&category("k8s-region", "Datacenter"))
        .await
        .unwrap();
    let zone = t
        .ensure_category(&category("k8s-zone", "ClusterComputeResource"))
        .await
        .unwrap();
    let region_a = t.ensure_tag(&tag(&region.id, "region-a")).await.unwrap();
    let zone_1 = t.ensure_tag(&tag(&zone.id, "zone-1")).await.unwrap();
    let zone_2 = t.ensure_tag(&tag(&zone.id, "zone-2")).await.unwrap();

    let dc = s.datacenter_ref("DC0").await.unwrap();
    assert_eq!(dc.kind, "Datacenter");
    let c0 = s.cluster_ref("DC0", "DC0_C0").await.unwrap();
    let c1 = s.cluster_ref("DC0", "DC0_C1").await.unwrap();
    assert_eq!(c0.kind, "ClusterComputeResource");
    assert_ne!(c0.id, c1.id);

    t.attach(&region_a.id, &dc).await.unwrap();
    t.attach(&zone_1.id, &c0).await.unwrap();
    t.attach(&zone_2.id, &c1).await.unwrap();
    // Attaching again is no error and no second attachment.
    t.attach(&zone_1.id, &c0).await.unwrap();

    // Read back from vCenter: categories, tags and both directions of the
    // association.
    let read = t.category(&zone.id).await.unwrap();
    assert_eq!(read, zone);
    assert_eq!(read.associable_types, ["ClusterComputeResource"]);
    assert_eq!(
        t.category_by_name("k8s-region").await.unwrap(),
        Some(region.clone())
    );
    let mut in_zone = names(&t.tags_in(&zone.id).await.unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    in_zone.sort();
    assert_eq!(in_zone, ["zone-1", "zone-2"]);
    assert_eq!(t.tag(&zone_2.id).await.unwrap(), zone_2);
    assert_eq!(names(&t.attached_tags(&dc).await.unwrap()), ["region-a"]);
    assert_eq!(names(&t.attached_tags(&c0).await.unwrap()), ["zone-1"]);
    assert_eq!(names(&t.attached_tags(&c1).await.unwrap()), ["zone-2"]);
    assert_eq!(
        t.attached_objects(&zone_1.id).await.unwrap(),
        std::slice::from_ref(&c0)
    );
    assert_eq!(
        t.attached_objects(&region_a.id).await.unwrap(),
        std::slice::from_ref(&dc)
    );

    t.detach(&zone_1.id, &c0).await.unwrap();
    assert!(t.attached_tags(&c0).await.unwrap().is_empty());
    assert!(t.attached_objects(&zone_1.id).await.unwrap().is_empty());
    // The other cluster keeps its zone.
    assert_eq!(names(&t.attached_tags(&c1).await.unwrap()), ["zone-2"]);
    t.detach(&zone_2.id, &c1).await.unwrap();
    t.detach(&region_a.id, &dc).await.unwrap();

    t.delete_tag(&zone_1.id).await.unwrap();
    assert_eq!(
        names(&t.tags_in(&zone.id).await.unwrap()),
        ["zone-2"],
        "only zone-1 was deleted"
    );
    t.delete_category(&zone.id).await.unwrap();
    t.delete_category(&region.id).await.unwrap();
    assert_eq!(t.category_by_name("k8s-zone").await.unwrap(), None);
    assert!(t.categories().await.unwrap().is_empty());
    // A category's tags go with it.
    assert!(t.tags().await.unwrap().is_empty());

    t.logout().await.unwrap();
    s.logout().await.unwrap();
}

#[tokio::test]
async fn ensure_is_idempotent_and_create_is_not() {
    let sim = start();
    let (s, t) = connect(&sim).await;
    let spec = category("k8s-zone", "ClusterComputeResource");
    let first = t.ensure_category(&spec).await.unwrap();
    let again = t.ensure_category(&spec).await.unwrap();
    assert_eq!(first.id, again.id);
    let all = t.categories().await.unwrap();
    assert_eq!(all.iter().filter(|c| c.name == "k8s-zone").count(), 1);

    let z1 = t.ensure_tag(&tag(&first.id, "zone-1")).await.unwrap();
    let z1_again = t.ensure_tag(&tag(&first.id, "zone-1")).await.unwrap();
    assert_eq!(z1.id, z1_again.id);
    assert_eq!(t.tags_in(&first.id).await.unwrap().len(), 1);
    assert_eq!(
        t.tag_by_name(&first.id, "zone-1")
            .await
            .unwrap()
            .map(|t| t.id),
        Some(z1.id.clone())
    );
    assert_eq!(t.tag_by_name(&first.id, "zone-9").await.unwrap(), None);

    // The same tag name in another category is another tag.
    let other = t
        .ensure_category(&category("k8s-other", "Datacenter"))
        .await
        .unwrap();
    let z1_other = t.ensure_tag(&tag(&other.id, "zone-1")).await.unwrap();
    assert_ne!(z1_other.id, z1.id);

    match t.create_category(&spec).await.unwrap_err() {
        Error::AlreadyExists { kind, name } => {
            assert_eq!((kind, name.as_str()), ("tag category", "k8s-zone"))
        }
        e => panic!("{e:?}"),
    }
    let e = t.create_tag(&tag(&first.id, "zone-1")).await.unwrap_err();
    assert!(
        matches!(&e, Error::AlreadyExists { kind: "tag", name } if name == "zone-1"),
        "{e:?}"
    );
    assert!(e.to_string().contains("already exists"), "{e}");

    t.logout().await.unwrap();
    s.logout().await.unwrap();
}

#[tokio::test]
async fn deleted_tags_and_categories_are_not_found() {
    let sim = start();
    let (s, t) = connect(&sim).await;
    let cat = t
        .ensure_category(&category("k8s-region", "Datacenter"))
        .await
        .unwrap();
    let region = t.ensure_tag(&tag(&cat.id, "region-a")).await.unwrap();
    let dc = s.datacenter_ref("DC0").await.unwrap();
    t.delete_tag(&region.id).await.unwrap();

    for e in [
        t.tag(&region.id).await.unwrap_err(),
        t.delete_tag(&region.id).await.unwrap_err(),
        t.attach(&region.id, &dc).await.unwrap_err(),
        t.attached_objects(&region.id).await.unwrap_err(),
    ] {
        match e {
            Error::NotFound { kind, path, .. } => {
                assert_eq!((kind, path.as_str()), ("tag", region.id.as_str()))
            }
            e => panic!("{e:?}"),
        }
    }

    t.delete_category(&cat.id).await.unwrap();
    for e in [
        t.category(&cat.id).await.unwrap_err(),
        t.delete_category(&cat.id).await.unwrap_err(),
        t.tags_in(&cat.id).await.unwrap_err(),
        t.ensure_tag(&tag(&cat.id, "region-b")).await.unwrap_err(),
    ] {
        match e {
            Error::NotFound { kind, path, .. } => {
                assert_eq!((kind, path.as_str()), ("tag category", cat.id.as_str()))
            }
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(t.category_by_name("k8s-region").await.unwrap(), None);
    t.logout().await.unwrap();
    s.logout().await.unwrap();
}

#[tokio::test]
async fn inventory_refs_name_what_is_missing_or_mistyped() {
    let sim = start();
    let (s, t) = connect(&sim).await;
    match s.cluster_ref("DC0", "NoSuchCluster").await.unwrap_err() {
        Error::NotFound { kind, path, .. } => {
            assert_eq!(
                (kind, path.as_str()),
                ("compute cluster", "DC0/host/NoSuchCluster")
            )
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        s.cluster_ref("DC9", "DC0_C0").await.unwrap_err(),
        Error::NotFound {
            kind: "datacenter",
            ..
        }
    ));
    // A standalone host is a ComputeResource, not a cluster.
    let e = s.cluster_ref("DC0", "DC0_H0").await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("is a ComputeResource"), "{e}");
    let vm_folder = s.object_ref("VM folder", "DC0/vm").await.unwrap();
    assert_eq!(vm_folder.kind, "Folder");
    assert_eq!(
        ObjectRef::virtual_machine("vm-42"),
        ObjectRef::new("VirtualMachine", "vm-42")
    );
    t.logout().await.unwrap();
    s.logout().await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_invalid_login_and_never_shown() {
    let sim = start();
    let (s, t) = connect(&sim).await;
    let wrong = "wr0ng-Tag-Pa55word";
    let err = Tagging::login(&s, &sim.user, wrong).await.unwrap_err();
    assert!(matches!(err, Error::InvalidLogin { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains(&sim.server), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    // Nor does a working session show the right one.
    let shown = format!("{t:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains(USER), "{shown}");
    t.logout().await.unwrap();
    s.logout().await.unwrap();
}
