# Quickstart: one data center on Palette + vSphere: the private cloud gateway (the
# whole install procedure), an IP pool and a vSphere cloud account on it, and a
# VMware cluster built from a cluster profile, its workers spread over two compute
# clusters with static IPs from the pool.
terraform {
  required_version = ">= 1.0"
  required_providers {
    palette = {
      source = "palette-community/palette"
    }
  }
}

variable "palette_endpoint" {
  type        = string
  description = "Palette API URL: https://api.spectrocloud.com, or the palette-lab URL."
}

variable "palette_api_key" {
  type      = string
  sensitive = true
}

variable "vcenter_server" {
  type        = string
  description = "vCenter address: host, host:port or https URL."
}

variable "vcenter_user" {
  type    = string
  default = "administrator@vsphere.local"
}

variable "vcenter_password" {
  type      = string
  sensitive = true
}

variable "vcenter_insecure" {
  type        = bool
  default     = false
  description = "Skip vCenter certificate checks (self-signed vCenters such as the lab's vcsim)."
}

provider "palette" {
  endpoint = var.palette_endpoint
  api_key  = var.palette_api_key
  project  = "Default"
}

# The document's prerequisites first: zone tags on the datacenter and the two
# compute clusters the cluster's workers use...
resource "palette_vsphere_zones" "dc1" {
  vcenter {
    server   = var.vcenter_server
    username = var.vcenter_user
    password = var.vcenter_password
    insecure = var.vcenter_insecure
  }
  datacenter = "DC0"
  region     = "region1"
  zones = {
    "DC0_C0" = "az1"
    "DC0_C1" = "az2"
  }
}

# ...then every other prerequisite checked as the account Palette will use:
# version, privileges, NTP on every host, shared datastore, zone tags. See the
# `vsphere_preflight` output; on Terraform 1.2+ a `precondition` on ready can
# stop the install (docs/data-sources/vsphere_preflight.md).
data "palette_vsphere_preflight" "dc1" {
  vcenter {
    server   = var.vcenter_server
    username = var.vcenter_user
    password = var.vcenter_password
    insecure = var.vcenter_insecure
  }
  datacenter       = "DC0"
  compute_clusters = ["DC0_C0", "DC0_C1"]
  datastore        = "LocalDS_0"
  network          = "VM Network"
  folder           = "palette/clusters/apps-dc1"
  depends_on       = [palette_vsphere_zones.dc1]
}

# Pairing code, installer OVA into vCenter, registration, vCenter account,
# placement, IP allocation, provisioning, installer powered off.
resource "palette_private_cloud_gateway" "dc1" {
  name       = "pcg-dc1"
  node_count = 1
  depends_on = [palette_vsphere_zones.dc1]

  vcenter {
    server   = var.vcenter_server
    username = var.vcenter_user
    password = var.vcenter_password
    insecure = var.vcenter_insecure
  }

  installer {
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
  }

  placement {
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }

  ntp_servers = ["0.pool.ntp.org"]

  static_ip_pool {
    name        = "pcg-dc1-nodes"
    start       = "10.10.183.1"
    end         = "10.10.183.10"
    prefix      = 24
    gateway     = "10.10.183.254"
    nameservers = ["10.10.0.2"]
  }
}

resource "palette_ip_pool" "workloads" {
  gateway_id                 = palette_private_cloud_gateway.dc1.id
  name                       = "dc1-workloads"
  subnet                     = "10.10.184.0/24"
  prefix                     = 24
  gateway                    = "10.10.184.1"
  nameservers                = ["10.10.0.2"]
  restrict_to_single_cluster = false
}

resource "palette_cloud_account_vsphere" "dc1" {
  name           = "vsphere-dc1"
  gateway_id     = palette_private_cloud_gateway.dc1.id
  vcenter_server = var.vcenter_server
  username       = var.vcenter_user
  password       = var.vcenter_password
  insecure       = var.vcenter_insecure
}

data "palette_cluster_profile" "infra" {
  name = "vsphere-ubuntu-k8s"
}

resource "palette_cluster_vsphere" "apps" {
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  tags             = ["env:demo", "team:platform"]

  cluster_profile {
    id = data.palette_cluster_profile.infra.id
    pack {
      name   = "kubernetes"
      values = file("${path.module}/kubernetes-values.yaml")
    }
  }

  cloud_config {
    datacenter  = "DC0"
    folder      = "palette/clusters/apps-dc1"
    ssh_keys    = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyOnly ops@example.com"]
    ntp_servers = ["0.pool.ntp.org"]
    static_ip   = true
  }

  machine_pool {
    name          = "control-plane"
    control_plane = true
    count         = 1 # 1, 3 or 5
    placement {
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }
  }

  machine_pool {
    name      = "workers"
    count     = 2
    cpu       = 8
    memory_mb = 16384
    disk_gb   = 100
    # Nodes spread round-robin over the placement domains.
    placement {
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }
    placement {
      compute_cluster = "DC0_C1"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }
  }

  force_delete       = true
  force_delete_delay = "20m" # never less than 15m
}

output "vsphere_preflight" {
  value = data.palette_vsphere_preflight.dc1.ready ? "ready: every prerequisite passed" : join("\n", data.palette_vsphere_preflight.dc1.problems)
}

output "cluster_state" {
  value = palette_cluster_vsphere.apps.state
}

output "nodes" {
  value = [for n in palette_cluster_vsphere.apps.nodes : "${n.name} ${n.ip} ${n.vm_path}"]
}

output "gateway" {
  value = "${palette_private_cloud_gateway.dc1.name} is ${palette_private_cloud_gateway.dc1.state} at ${palette_private_cloud_gateway.dc1.ip_address}"
}

output "account_id" {
  value = palette_cloud_account_vsphere.dc1.id
}

output "cluster_profile" {
  value = "${data.palette_cluster_profile.infra.name} ${data.palette_cluster_profile.infra.version} (${data.palette_cluster_profile.infra.id})"
}

output "pool_id" {
  value = palette_ip_pool.workloads.id
}
