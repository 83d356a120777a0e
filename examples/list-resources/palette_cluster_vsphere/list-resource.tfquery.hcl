# Every cluster carrying these tags; leave `config` out for all.
list "palette_cluster_vsphere" "prod" {
  provider = palette
  config {
    tags = ["env:prod"]
  }
}
