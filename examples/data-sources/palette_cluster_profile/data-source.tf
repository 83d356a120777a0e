# The latest version of a profile, or pin one with version = "1.0.0".
data "palette_cluster_profile" "infra" {
  name = "vsphere-ubuntu-k8s"
}

output "kubernetes_version" {
  value = one([for p in data.palette_cluster_profile.infra.packs : p.tag if p.layer == "k8s"])
}
