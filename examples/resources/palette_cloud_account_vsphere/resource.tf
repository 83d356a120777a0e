variable "vcenter_password" {
  type      = string
  sensitive = true
}

resource "palette_cloud_account_vsphere" "dc1" {
  name           = "vsphere-dc1"
  gateway_id     = data.palette_private_cloud_gateway.dc1.id
  vcenter_server = "vcenter.dc1.example.com" # or "https://vcenter.dc1.example.com/"
  username       = "svc-palette@vsphere.local"
  password       = var.vcenter_password
  insecure       = false
  # context = "tenant" shares the account with every project.
}
