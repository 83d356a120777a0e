# Terraform 1.12 or later: by the gateway and the pool's name (or `id = "<pool uid>"`).
import {
  to = palette_ip_pool.workloads
  identity = {
    gateway_id = palette_private_cloud_gateway.dc1.id
    name       = "dc1-workloads"
  }
}
