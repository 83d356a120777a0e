data "palette_ip_pool" "workloads" {
  gateway_id = data.palette_private_cloud_gateway.dc1.id
  name       = "dc1-workloads"
}

output "free_pool_addresses_in_use" {
  value = data.palette_ip_pool.workloads.allotted_ips
}
