terraform {
  required_providers {
    palette = {
      source = "palette-community/palette"
    }
  }
}

# Endpoint and key can also come from PALETTE_ENDPOINT and PALETTE_API_KEY,
# the project from PALETTE_PROJECT.
provider "palette" {
  endpoint = "https://api.spectrocloud.com"
  api_key  = var.palette_api_key
  project  = "Default"

  max_retries    = 5
  retry_max_wait = "30s"

  # Default vCenter connection for resources that do not name their own.
  vcenter {
    server   = "vcenter.dc1.example.com"
    username = "svc-palette@vsphere.local"
    password = var.vcenter_password
  }
}

variable "palette_api_key" {
  type      = string
  sensitive = true
}

variable "vcenter_password" {
  type      = string
  sensitive = true
}
