# Every vSphere cloud account, in the provider's project and the tenant.
list "palette_cloud_account_vsphere" "all" {
  provider = palette
}
