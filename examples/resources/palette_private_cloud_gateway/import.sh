# By uid or by name. Palette cannot return the installer and placement inputs
# (nor the vCenter password): the first apply after an import records them
# from the configuration in state, without touching the gateway.
terraform import palette_private_cloud_gateway.dc1 pcg-dc1
