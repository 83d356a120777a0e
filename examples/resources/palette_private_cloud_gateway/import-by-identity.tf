# Terraform 1.12 or later: by name (or `id = "<uid>"`).
import {
  to = palette_private_cloud_gateway.dc1
  identity = {
    name = "pcg-dc1"
  }
}
