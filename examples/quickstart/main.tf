# Quickstart: one data center on Palette + vSphere. It grows with the provider:
# today it configures the provider; the gateway, IP pool, cloud account and
# cluster resources (see ../../../shared/ux/quickstart.tf for the target)
# are added as they land.
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

provider "palette" {
  endpoint = var.palette_endpoint
  api_key  = var.palette_api_key
}
