# By uid, or by name (a project account first, then a tenant one):
terraform import palette_cloud_account_vsphere.dc1 vsphere-dc1

# A tenant account by name:
terraform import palette_cloud_account_vsphere.dc1 tenant/vsphere-dc1

# Palette never returns the password: the first plan after an import sets it
# from the configuration (one in-place change, checked against vCenter).

# The official provider's id (`<uid or name>:<project|tenant>`) works as well:
terraform import palette_cloud_account_vsphere.dc1 vsphere-dc1:project
