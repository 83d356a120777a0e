# One data center on Palette + vSphere: a private cloud gateway installed into its
# vCenter, an IP pool for workloads, the vSphere account, and a VMware cluster whose
# workers spread over the data center's compute clusters. Use it once per data center.
terraform {
  required_version = ">= 1.0"
  required_providers {
    palette = {
      source = "palette-community/palette"
    }
  }
}

locals {
  node_prefix     = tonumber(split("/", var.node_subnet)[1])
  workload_prefix = tonumber(split("/", var.workload_subnet)[1])
}

resource "palette_private_cloud_gateway" "this" {
  name       = "pcg-${var.name}"
  node_count = 1

  vcenter {
    server   = var.vcenter_server
    username = var.vcenter_user
    password = var.vcenter_password
    insecure = var.vcenter_insecure
  }

  installer {
    datacenter      = var.datacenter
    compute_cluster = var.compute_clusters[0]
    datastore       = var.datastore
    network         = var.network
    folder          = "palette/installers"
  }

  placement {
    datacenter      = var.datacenter
    compute_cluster = var.compute_clusters[0]
    datastore       = var.datastore
    network         = var.network
    folder          = "palette/gateways"
  }

  static_ip_pool {
    name    = "pcg-${var.name}-nodes"
    start   = cidrhost(var.node_subnet, 10)
    end     = cidrhost(var.node_subnet, 20)
    prefix  = local.node_prefix
    gateway = cidrhost(var.node_subnet, 1)
  }
}

resource "palette_ip_pool" "workloads" {
  gateway_id = palette_private_cloud_gateway.this.id
  name       = "${var.name}-workloads"
  subnet     = var.workload_subnet
  prefix     = local.workload_prefix
  gateway    = cidrhost(var.workload_subnet, 1)
}

resource "palette_cloud_account_vsphere" "this" {
  name           = "vsphere-${var.name}"
  gateway_id     = palette_private_cloud_gateway.this.id
  vcenter_server = var.vcenter_server
  username       = var.vcenter_user
  password       = var.vcenter_password
  insecure       = var.vcenter_insecure
}

resource "palette_cluster_vsphere" "apps" {
  name             = "apps-${var.name}"
  cloud_account_id = palette_cloud_account_vsphere.this.id
  tags             = ["datacenter:${var.name}"]

  cluster_profile {
    id = var.cluster_profile_id
  }

  cloud_config {
    datacenter = var.datacenter
    folder     = "palette/clusters/apps-${var.name}"
    static_ip  = true
  }

  machine_pool {
    name          = "control-plane"
    control_plane = true
    count         = 1
    placement {
      compute_cluster = var.compute_clusters[0]
      datastore       = var.datastore
      network         = var.network
      ip_pool_id      = palette_ip_pool.workloads.id
    }
  }

  machine_pool {
    name  = "workers"
    count = var.workers
    dynamic "placement" {
      for_each = var.compute_clusters
      content {
        compute_cluster = placement.value
        datastore       = var.datastore
        network         = var.network
        ip_pool_id      = palette_ip_pool.workloads.id
      }
    }
  }
}
