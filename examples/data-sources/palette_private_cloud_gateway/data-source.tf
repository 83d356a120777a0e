data "palette_private_cloud_gateway" "dc1" {
  name = "pcg-dc1"
}

output "gateway_state" {
  value = data.palette_private_cloud_gateway.dc1.state # "Running"
}
