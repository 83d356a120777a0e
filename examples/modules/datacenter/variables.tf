variable "name" {
  type        = string
  description = "Short name of the data center, such as `dc1`; prefixes every object's name."
}

variable "vcenter_server" {
  type        = string
  description = "vCenter of this data center: host, host:port or https URL."
}

variable "vcenter_user" {
  type    = string
  default = "administrator@vsphere.local"
}

variable "vcenter_password" {
  type      = string
  sensitive = true
}

variable "vcenter_insecure" {
  type        = bool
  default     = false
  description = "Skip vCenter certificate checks (self-signed vCenters, such as palette-lab's vcsim)."
}

variable "datacenter" {
  type        = string
  description = "vSphere datacenter, such as `DC0`."
}

variable "compute_clusters" {
  type        = list(string)
  description = "Compute clusters; the gateway and the control plane use the first, workers spread over all."
  validation {
    condition     = length(var.compute_clusters) > 0
    error_message = "Name at least one compute cluster."
  }
}

variable "datastore" {
  type    = string
  default = "LocalDS_0"
}

variable "network" {
  type    = string
  default = "VM Network"
}

variable "node_subnet" {
  type        = string
  description = "Network of the gateway's own nodes, as a CIDR; they take addresses .10 to .20."
}

variable "workload_subnet" {
  type        = string
  description = "Network of the cluster's nodes, as a CIDR; its first address is the network's gateway."
}

variable "cluster_profile_id" {
  type        = string
  description = "Uid of the infrastructure cluster profile the cluster is built from."
}

variable "workers" {
  type    = number
  default = 2
}
