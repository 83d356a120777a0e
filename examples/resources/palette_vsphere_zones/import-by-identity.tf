# Terraform 1.12 or later: by the datacenter.
import {
  to = palette_vsphere_zones.dc1
  identity = {
    datacenter = "dc-1"
  }
}
