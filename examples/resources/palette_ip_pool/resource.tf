# A range of addresses for cluster nodes on a private cloud gateway.
resource "palette_ip_pool" "nodes" {
  gateway_id  = palette_private_cloud_gateway.dc1.id
  name        = "dc1-nodes"
  start       = "10.10.183.1"
  end         = "10.10.183.50"
  prefix      = 24
  gateway     = "10.10.183.254"
  nameservers = ["10.10.0.2"]
}

# The same as a subnet: its host addresses form the pool.
resource "palette_ip_pool" "workloads" {
  gateway_id                 = palette_private_cloud_gateway.dc1.id
  name                       = "dc1-workloads"
  subnet                     = "10.10.184.0/24"
  prefix                     = 24
  gateway                    = "10.10.184.1"
  nameservers                = ["10.10.0.2"]
  search_domains             = ["dc1.example.com"]
  restrict_to_single_cluster = false
}
