# Every vSphere gateway whose name starts with "pcg-" and that is Running.
list "palette_private_cloud_gateway" "all" {
  provider = palette
  config {
    name  = "pcg-*"
    state = "Running"
  }
}
