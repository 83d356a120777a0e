# The gateway's Update button, at a time that suits you (the gateway's
# upgrade_available says when Palette has released one):
#   terraform apply -invoke=action.palette_gateway_upgrade.dc1
action "palette_gateway_upgrade" "dc1" {
  config {
    gateway_id = palette_private_cloud_gateway.dc1.id
    timeout    = "45m"
  }
}
