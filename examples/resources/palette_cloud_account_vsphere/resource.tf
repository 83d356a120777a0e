variable "vcenter_password" {
  type      = string
  sensitive = true
  ephemeral = true # Terraform 1.10 or later; leave this line out before 1.10
}

resource "palette_cloud_account_vsphere" "dc1" {
  name           = "vsphere-dc1"
  gateway_id     = data.palette_private_cloud_gateway.dc1.id
  vcenter_server = "vcenter.dc1.example.com" # or "https://vcenter.dc1.example.com/"
  username       = "svc-palette@vsphere.local"
  insecure       = false
  # context = "tenant" shares the account with every project.

  # Terraform 1.11 or later: write-only, never stored in plan or state.
  password_wo         = var.vcenter_password
  password_wo_version = 1 # bump it with each new password: the only change Terraform sees

  # Any Terraform (1.0 and later), instead of the two lines above: kept in
  # state, marked sensitive.
  # password = var.vcenter_password
}
