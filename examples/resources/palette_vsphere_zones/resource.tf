# The reference document's zone tagging for data center dc-1: the datacenter
# carries k8s-region "region1", each compute cluster its own k8s-zone.
resource "palette_vsphere_zones" "dc1" {
  datacenter = "dc-1"
  region     = "region1"
  zones = {
    "cluster-1" = "az1"
    "cluster-2" = "az2"
    "cluster-3" = "az3"
  }
}

# With a vCenter of its own instead of the provider's `vcenter` block. The
# write-only password (Terraform 1.11+) is never stored, so refresh and
# destroy log in with the provider's block for the same server.
resource "palette_vsphere_zones" "dc2" {
  vcenter {
    server      = "vcenter.dc2.example.com"
    username    = "svc-palette@vsphere.local"
    password_wo = var.vcenter_password_dc2
  }
  datacenter = "dc-2"
  region     = "region2"
  zones = {
    "cluster-1" = "az4"
    "cluster-2" = "az5"
  }
}
