variable "vcenter_password" {
  type      = string
  sensitive = true
  ephemeral = true # Terraform 1.10 or later; leave this line out before 1.10
}

# With `password_wo`, refresh (which reads the gateway's VMs) and destroy
# (which deletes them) log in with the provider's `vcenter` block, as they
# run without the resource's configuration: it must name the same server.
# (A gateway without a `vcenter` block uses this one for everything.)
provider "palette" {
  vcenter {
    server   = "vcenter.dc1.example.com"
    username = "svc-palette@vsphere.local"
    password = var.vcenter_password
  }
}

resource "palette_private_cloud_gateway" "dc1" {
  name       = "pcg-dc1"
  node_count = 1 # 1 or 3; 1 -> 3 is an in-place resize

  vcenter {
    server   = "vcenter.dc1.example.com"
    username = "svc-palette@vsphere.local"
    # Terraform 1.11 or later: write-only, never stored in plan or state.
    password_wo         = var.vcenter_password
    password_wo_version = 1 # bump it with each new password: the only change Terraform sees
    # Any Terraform (1.0 and later), instead of the two lines above: kept in
    # state, marked sensitive; refresh and destroy then need no provider block.
    # password = var.vcenter_password
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
