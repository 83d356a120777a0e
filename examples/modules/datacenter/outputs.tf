output "gateway_id" {
  value = palette_private_cloud_gateway.this.id
}

output "cluster_id" {
  value = palette_cluster_vsphere.apps.id
}

output "cluster_state" {
  value = palette_cluster_vsphere.apps.state
}

output "nodes" {
  value = [for n in palette_cluster_vsphere.apps.nodes : "${n.name} ${n.ip}"]
}
