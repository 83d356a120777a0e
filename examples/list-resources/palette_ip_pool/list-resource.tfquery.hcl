# The pools of one gateway (its uid or name); leave `config` out for every gateway's.
list "palette_ip_pool" "dc1" {
  provider = palette
  config {
    gateway_id = "pcg-dc1"
  }
}
