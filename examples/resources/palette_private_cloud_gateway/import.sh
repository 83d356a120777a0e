# By uid or by name. Palette does not hold how a gateway was installed, so the
# import reads it back from vCenter (through the provider's vcenter block): the
# installer VM's OVF properties and place, the node VMs' placement, SSH keys and
# NTP servers, and the nodes' IP pool. A configuration that describes the gateway
# as it is then plans nothing. What cannot be read (the password of a vCenter
# other than the provider's, an installer VM deleted after install) is recorded
# by the first apply from the configuration, without touching the gateway and
# never by replacing it. The node VMs are the machines Palette reports for the
# gateway. An installer VM deployed from the console is read but not owned:
# destroy leaves it in vCenter (only an installer this provider deployed and
# marked is deleted).
terraform import palette_private_cloud_gateway.dc1 pcg-dc1
