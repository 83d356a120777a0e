//! A cluster profile as the lab stores it, and the profiles a new tenant has.

use palette_api::models::V1PackRef;

use super::Scope;
use crate::ids;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub uid: String,
    pub name: String,
    pub version: String,
    pub cloud_type: String,
    pub profile_type: String,
    pub scope: Scope,
    pub packs: Vec<V1PackRef>,
}

fn pack(name: &str, tag: &str, layer: &str, values: &str) -> V1PackRef {
    V1PackRef {
        name: Some(name.into()),
        tag: Some(tag.into()),
        layer: Some(layer.into()),
        r#type: Some("spectro".into()),
        pack_uid: Some(ids::new_uid()),
        values: Some(values.into()),
        ..Default::default()
    }
}

/// Infrastructure profiles for vSphere: Ubuntu, Kubernetes, a CNI and the
/// vSphere CSI, in two versions that differ in the Kubernetes release.
pub fn seeded() -> Vec<Profile> {
    let make = |version: &str, k8s: &str| {
        Profile {
        uid: ids::new_uid(),
        name: "vsphere-ubuntu-k8s".into(),
        version: version.into(),
        cloud_type: "vsphere".into(),
        profile_type: "cluster".into(),
        scope: Scope::Tenant,
        packs: vec![
            pack(
                "ubuntu-vsphere",
                "22.04",
                "os",
                "kubeadmconfig:\n  preKubeadmCommands:\n    - echo \"Executing pre kube admin config commands\"\n",
            ),
            pack(
                "kubernetes",
                k8s,
                "k8s",
                "pack:\n  podCIDR: \"192.168.0.0/16\"\n  serviceClusterIpRange: \"10.96.0.0/12\"\ncluster:\n  config: |\n    clusterName: \"{{ .spectro.system.cluster.name }}\"\n",
            ),
            pack(
                "cni-calico",
                "3.27.0",
                "cni",
                "manifests:\n  calico:\n    calicoNetworkConfig:\n      ipam:\n        type: \"calico-ipam\"\n",
            ),
            pack(
                "csi-vsphere-csi",
                "3.1.2",
                "csi",
                "manifests:\n  vsphere-csi:\n    storageClass:\n      isDefaultClass: \"true\"\n",
            ),
        ],
    }
    };
    vec![make("1.0.0", "1.29.4"), make("1.1.0", "1.30.2")]
}
