# By uid, or by name (a project cluster first, then a tenant one):
terraform import palette_cluster_vsphere.apps apps-dc1

# With the context spelled out:
terraform import palette_cluster_vsphere.apps project/apps-dc1

# The official provider's id (`<uid or name>:<project|tenant>`) works as well:
terraform import palette_cluster_vsphere.apps apps-dc1:project

# Pack values the cluster overrides become `pack` blocks; the first plan is
# empty when the configuration says what Palette has.
