# Force Delete Cluster, for a cluster stuck in deletion for 15 minutes or more:
#   terraform apply -invoke=action.palette_cluster_force_delete.apps
action "palette_cluster_force_delete" "apps" {
  config {
    cluster_id = "5f1e2d3c4b5a697887766554"
    context    = "project"
  }
}
