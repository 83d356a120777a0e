data "palette_cloud_account_vsphere" "dc1" {
  name = "vsphere-dc1"
}

output "vsphere_dc1_gateway" {
  value = data.palette_cloud_account_vsphere.dc1.gateway_id
}
