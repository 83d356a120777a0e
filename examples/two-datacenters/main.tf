# Two data centers from one module (../modules/datacenter). A plan for both reads
# per data center in a pull request: module.dc1... and module.dc2...
#
# Against palette-lab: `palette-lab --datacenters 2 --time-scale 0.01` serves one
# vcsim with DC0 and DC1, so both modules use the same vCenter address here; in a
# real estate each data center has its own.
terraform {
  required_version = ">= 1.0"
  required_providers {
    palette = {
      source = "palette-community/palette"
    }
  }
}

variable "palette_endpoint" {
  type = string
}

variable "palette_api_key" {
  type      = string
  sensitive = true
}

variable "vcenter_server_dc1" {
  type = string
}

variable "vcenter_server_dc2" {
  type = string
}

variable "vcenter_user" {
  type    = string
  default = "administrator@vsphere.local"
}

variable "vcenter_password_dc1" {
  type      = string
  sensitive = true
}

variable "vcenter_password_dc2" {
  type      = string
  sensitive = true
}

variable "vcenter_insecure" {
  type    = bool
  default = false
}

provider "palette" {
  endpoint = var.palette_endpoint
  api_key  = var.palette_api_key
  project  = "Default"
}

data "palette_cluster_profile" "infra" {
  name = "vsphere-ubuntu-k8s"
}

module "dc1" {
  source             = "../modules/datacenter"
  name               = "dc1"
  vcenter_server     = var.vcenter_server_dc1
  vcenter_user       = var.vcenter_user
  vcenter_password   = var.vcenter_password_dc1
  vcenter_insecure   = var.vcenter_insecure
  datacenter         = "DC0"
  compute_clusters   = ["DC0_C0", "DC0_C1"]
  node_subnet        = "10.10.183.0/24"
  workload_subnet    = "10.10.184.0/24"
  cluster_profile_id = data.palette_cluster_profile.infra.id
}

module "dc2" {
  source             = "../modules/datacenter"
  name               = "dc2"
  vcenter_server     = var.vcenter_server_dc2
  vcenter_user       = var.vcenter_user
  vcenter_password   = var.vcenter_password_dc2
  vcenter_insecure   = var.vcenter_insecure
  datacenter         = "DC1"
  compute_clusters   = ["DC1_C0"]
  node_subnet        = "10.20.183.0/24"
  workload_subnet    = "10.20.184.0/24"
  cluster_profile_id = data.palette_cluster_profile.infra.id
}

output "clusters" {
  value = {
    dc1 = "${module.dc1.cluster_state}: ${join(", ", module.dc1.nodes)}"
    dc2 = "${module.dc2.cluster_state}: ${join(", ", module.dc2.nodes)}"
  }
}
