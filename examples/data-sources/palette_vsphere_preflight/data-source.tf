# The reference document's vSphere prerequisites for data center dc-1, checked
# with the provider's `vcenter` block (the account Palette will use). Reading
# it after the zone tags are applied makes the zone check see them.
data "palette_vsphere_preflight" "dc1" {
  datacenter       = "dc-1"
  compute_clusters = ["cluster-1", "cluster-2", "cluster-3"]
  datastore        = "vsanDatastore"
  resource_pool    = "palette"
  network          = "vm-network-dc1"
  folder           = "palette/clusters"
  depends_on       = [palette_vsphere_zones.dc1]
}

# Terraform 1.5+: a failed prerequisite shows in every plan, named.
check "vsphere_ready" {
  assert {
    condition     = data.palette_vsphere_preflight.dc1.ready
    error_message = join("\n", data.palette_vsphere_preflight.dc1.problems)
  }
}

# Or stop before anything is installed, on any Terraform 1.2+:
resource "palette_private_cloud_gateway" "dc1" {
  # ...
  lifecycle {
    precondition {
      condition     = data.palette_vsphere_preflight.dc1.ready
      error_message = join("\n", data.palette_vsphere_preflight.dc1.problems)
    }
  }
}
