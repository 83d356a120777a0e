# By gateway and pool, each a name or a uid:
terraform import palette_ip_pool.workloads pcg-dc1/dc1-workloads

# The official provider's id (`<gateway>:<pool>`) works as well:
terraform import palette_ip_pool.workloads pcg-dc1:dc1-workloads

# Or by the pool's uid alone:
terraform import palette_ip_pool.workloads 5f1e2d3c4b5a697887766554
