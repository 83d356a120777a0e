# Quickstart: one data center on Palette + vSphere. It grows with the provider;
# ../../../shared/ux/quickstart.tf is the target. Today: an IP pool on a gateway.
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

variable "gateway_id" {
  type        = string
  description = "Uid of a Running private cloud gateway (the lab makes one; the gateway resource comes next)."
}

provider "palette" {
  endpoint = var.palette_endpoint
  api_key  = var.palette_api_key
}

resource "palette_ip_pool" "workloads" {
  gateway_id                 = var.gateway_id
  name                       = "dc1-workloads"
  subnet                     = "10.10.184.0/24"
  prefix                     = 24
  gateway                    = "10.10.184.1"
  nameservers                = ["10.10.0.2"]
  restrict_to_single_cluster = false
}

output "pool_id" {
  value = palette_ip_pool.workloads.id
}

output "pool_in_use" {
  value = palette_ip_pool.workloads.in_use
}
