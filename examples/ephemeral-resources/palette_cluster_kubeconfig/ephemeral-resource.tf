# Terraform 1.10 or later. The kubeconfig is read from Palette when a run
# needs it and never written to the plan or state.
resource "palette_cluster_vsphere" "apps" {
  # ...
  store_kubeconfig = false # keep the cluster's kubeconfig out of state too
}

ephemeral "palette_cluster_kubeconfig" "apps" {
  cluster_id = palette_cluster_vsphere.apps.id
  # or, for a cluster this configuration does not manage:
  # name = "apps-dc1"
}

provider "kubernetes" {
  host                   = ephemeral.palette_cluster_kubeconfig.apps.host
  cluster_ca_certificate = ephemeral.palette_cluster_kubeconfig.apps.cluster_ca_certificate
  token                  = ephemeral.palette_cluster_kubeconfig.apps.token
  client_certificate     = ephemeral.palette_cluster_kubeconfig.apps.client_certificate
  client_key             = ephemeral.palette_cluster_kubeconfig.apps.client_key
}

provider "helm" {
  kubernetes {
    host                   = ephemeral.palette_cluster_kubeconfig.apps.host
    cluster_ca_certificate = ephemeral.palette_cluster_kubeconfig.apps.cluster_ca_certificate
    token                  = ephemeral.palette_cluster_kubeconfig.apps.token
    client_certificate     = ephemeral.palette_cluster_kubeconfig.apps.client_certificate
    client_key             = ephemeral.palette_cluster_kubeconfig.apps.client_key
  }
}
