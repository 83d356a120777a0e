# Terraform 1.12 or later: by name and context (or `id = "<uid>"`).
import {
  to = palette_cloud_account_vsphere.dc1
  identity = {
    name    = "vsphere-dc1"
    context = "project"
  }
}
