# The gateway widget's Reset button, for a gateway stuck in provisioning:
#   terraform apply -invoke=action.palette_gateway_reset.dc1
action "palette_gateway_reset" "dc1" {
  config {
    gateway_id = palette_private_cloud_gateway.dc1.id
  }
}
