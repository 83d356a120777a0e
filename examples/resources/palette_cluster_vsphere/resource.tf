data "palette_cluster_profile" "infra" {
  name    = "vsphere-ubuntu-k8s"
  version = "1.1.0"
}

resource "palette_cluster_vsphere" "apps" {
  name             = "apps-dc1"
  description      = "Applications, data center 1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  tags             = ["env:prod", "team:platform"]

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
    ssh_keys    = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example.com"]
    ntp_servers = ["0.pool.ntp.org"]
    static_ip   = true
  }

  machine_pool {
    name          = "control-plane"
    control_plane = true
    count         = 3 # 1, 3 or 5
    cpu           = 4
    memory_mb     = 8192
    disk_gb       = 60
    placement {
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }
  }

  machine_pool {
    name      = "workers"
    count     = 3
    cpu       = 8
    memory_mb = 16384
    disk_gb   = 100
    labels    = { "workload" = "apps" }
    # Nodes are spread round-robin over the placements, in order.
    placement {
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }
    # Or by zone: the compute cluster carrying the k8s-zone tag "az2"
    # (palette_vsphere_zones), found in vCenter at plan time through the
    # provider's vcenter block. One module then serves every data center.
    placement {
      zone       = "az2"
      datastore  = "LocalDS_0"
      network    = "VM Network"
      ip_pool_id = palette_ip_pool.workloads.id
    }
  }

  # On destroy, force-delete the cluster if it is still Deleting after 20
  # minutes (never less than 15); then check vCenter and the IP pool by hand.
  force_delete       = true
  force_delete_delay = "20m"

  timeouts {
    create = "60m"
    delete = "30m"
  }
}
