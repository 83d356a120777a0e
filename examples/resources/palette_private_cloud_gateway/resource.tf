variable "vcenter_password" {
  type      = string
  sensitive = true
}

resource "palette_private_cloud_gateway" "dc1" {
  name       = "pcg-dc1"
  node_count = 1 # 1 or 3; 1 -> 3 is an in-place resize

  vcenter {
    server   = "vcenter.dc1.example.com"
    username = "svc-palette@vsphere.local"
    password = var.vcenter_password
  }

  # Where the installer VM is deployed, and its OVF properties.
  installer {
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
    ssh_public_key  = "ssh-ed25519 AAAA... ops@example.com"
    pod_cidr        = "192.168.0.0/16"
    service_cidr    = "10.96.0.0/12"
    # proxy {
    #   http_proxy  = "http://proxy.dc1.example.com:3128"
    #   https_proxy = "http://proxy.dc1.example.com:3128"
    #   no_proxy    = ["vcenter.dc1.example.com", ".dc1.example.com"]
    # }
  }

  # Where the gateway's own nodes run.
  placement {
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }

  ssh_keys    = ["ssh-ed25519 AAAA... ops@example.com"]
  ntp_servers = ["0.pool.ntp.org"]

  # Static IPs for the nodes; leave the block out for DHCP.
  static_ip_pool {
    name        = "pcg-dc1-nodes"
    start       = "10.10.183.1"
    end         = "10.10.183.10"
    prefix      = 24
    gateway     = "10.10.183.254"
    nameservers = ["10.10.0.2"]
  }

  timeouts {
    create = "40m"
    delete = "20m"
  }
}
