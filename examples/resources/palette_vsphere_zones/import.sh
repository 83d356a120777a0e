# By the datacenter's name (or inventory path, such as "emea/dc-1"). The
# provider's `vcenter` block logs in; every compute cluster of the datacenter
# that carries a k8s-zone tag is read into `zones`. An imported resource made
# nothing, so destroying it leaves every tag in vCenter.
terraform import palette_vsphere_zones.dc1 dc-1
