# Quickstart: one data center on Palette + vSphere. It grows with the provider;
# ../../../shared/ux/quickstart.tf is the target. Today: the private cloud gateway
# (the whole install procedure), an IP pool and a vSphere cloud account on it, and
# the cluster profile a cluster will be built from.
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

# Pairing code, installer OVA into vCenter, registration, vCenter account,
# placement, IP allocation, provisioning, installer powered off.
resource "palette_private_cloud_gateway" "dc1" {
  name       = "pcg-dc1"
  node_count = 1

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

output "pool_in_use" {
  value = palette_ip_pool.workloads.in_use
}
