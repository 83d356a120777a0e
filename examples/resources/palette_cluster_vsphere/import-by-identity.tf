# Terraform 1.12 or later: by name and context (or `id = "<uid>"`).
import {
  to = palette_cluster_vsphere.apps
  identity = {
    name    = "apps-dc1"
    context = "project"
  }
}
