//! Resource identity (Terraform 1.12+) with the real terraform CLI against
//! palette-lab and vcsim: every resource stores an identity beside its
//! state (uid plus the names a user knows), and `import` blocks naming
//! objects by identity, uid or names, adopt a gateway, a pool, an account
//! and a cluster with nothing planned but the imports (and the account's
//! password, which Palette never returns). Older Terraforms never ask for
//! identities; every other suite runs on them unchanged.

mod common;

use acceptance_tests::{change_of, for_each_terraform_where, TerraformBin, Workdir, IDENTITY};
use common::{palette, Lab};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Id-Vc-Pa55-for-identity";
const GATEWAY: &str = "palette_private_cloud_gateway.dc1";
const POOL: &str = "palette_ip_pool.nodes";
const ACCOUNT: &str = "palette_cloud_account_vsphere.dc1";
const CLUSTER: &str = "palette_cluster_vsphere.apps";

fn config(lab: &Lab, sim: &Vcsim, imports: &str) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
  project  = "Default"
  vcenter {{
    server   = "{server}"
    username = "{user}"
    password = "{PASSWORD}"
    insecure = true
  }}
}}

# No vcenter block: the gateway uses the provider's, which an import
# reads the installation back through.
resource "palette_private_cloud_gateway" "dc1" {{
  name = "pcg-id"
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C1"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }}
}}

resource "palette_ip_pool" "nodes" {{
  gateway_id = palette_private_cloud_gateway.dc1.id
  name       = "apps-nodes"
  start      = "10.10.183.50"
  end        = "10.10.183.60"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-dc1"
  gateway_id     = palette_private_cloud_gateway.dc1.id
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{PASSWORD}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id

  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
  }}

  cloud_config {{
    datacenter = "DC0"
    folder     = "palette/clusters/apps-dc1"
    ssh_keys   = ["ssh-ed25519 AAAAC3Nza ops@example.com"]
    static_ip  = true
  }}

  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.nodes.id
    }}
  }}
}}
{imports}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    )
}

/// The identity Terraform stored for `address`, from the state file.
fn stored_identity(w: &Workdir, address: &str) -> Value {
    let state: Value = serde_json::from_slice(
        &std::fs::read(w.work().join("terraform.tfstate")).expect("a state file"),
    )
    .unwrap();
    let (ty, name) = address.split_once('.').unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == "managed" && r["type"] == ty && r["name"] == name)
        .map(|r| r["instances"][0]["identity"].clone())
        .unwrap_or_else(|| panic!("{address} is not in state"))
}

#[test]
fn identities_are_stored_and_import_blocks_by_identity_adopt_everything() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &["-cluster", "2"]).expect("vcsim");
    for_each_terraform_where(&palette(), IDENTITY, TerraformBin::supports_identity, |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&config(&lab, &sim, ""));
        w.init();
        w.apply();
        w.assert_plan_empty();

        let uid = |address: &str| {
            w.state_resource(address).unwrap()["values"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (gw, pool, account, cluster) = (uid(GATEWAY), uid(POOL), uid(ACCOUNT), uid(CLUSTER));
        assert_eq!(
            stored_identity(w, GATEWAY),
            json!({"id": gw, "name": "pcg-id"})
        );
        assert_eq!(
            stored_identity(w, POOL),
            json!({"id": pool, "gateway_id": gw, "name": "apps-nodes"})
        );
        assert_eq!(
            stored_identity(w, ACCOUNT),
            json!({"id": account, "name": "vsphere-dc1", "context": "project"})
        );
        assert_eq!(
            stored_identity(w, CLUSTER),
            json!({"id": cluster, "name": "apps-dc1", "context": "project"})
        );

        // Forgotten by Terraform, then adopted by identity: by names for
        // three of them, by uid for the cluster.
        for a in [CLUSTER, ACCOUNT, POOL, GATEWAY] {
            w.state_rm(a);
        }
        let imports = format!(
            r#"
import {{
  to = {GATEWAY}
  identity = {{
    name = "pcg-id"
  }}
}}
import {{
  to = {POOL}
  identity = {{
    gateway_id = "{gw}"
    name       = "apps-nodes"
  }}
}}
import {{
  to = {ACCOUNT}
  identity = {{
    name    = "vsphere-dc1"
    context = "project"
  }}
}}
import {{
  to = {CLUSTER}
  identity = {{
    id = "{cluster}"
  }}
}}
"#
        );
        w.config(&config(&lab, &sim, &imports));
        let plan = w.plan_json();
        for (address, actions) in [
            (GATEWAY, json!(["no-op"])),
            (POOL, json!(["no-op"])),
            // Palette never returns the password: setting it is the one change.
            (ACCOUNT, json!(["update"])),
            (CLUSTER, json!(["no-op"])),
        ] {
            let change = change_of(&plan, address);
            assert_eq!(change["actions"], actions, "{address}: {change}");
            assert!(
                change["importing"]["identity"].is_object(),
                "{address} is not imported by identity: {change}"
            );
        }
        w.apply();
        w.assert_plan_empty();
        assert_eq!(stored_identity(w, CLUSTER)["name"], "apps-dc1");
        assert_eq!(stored_identity(w, POOL)["id"], json!(pool));

        // An identity that names nothing is an error at plan, not a create.
        w.state_rm(ACCOUNT);
        let missing = imports.replace("name    = \"vsphere-dc1\"", "name    = \"no-such-account\"");
        w.config(&config(&lab, &sim, &missing));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.flat().contains("vSphere cloud account not found"), "{r}");
        w.config(&config(&lab, &sim, &imports));
        w.apply();
        w.assert_plan_empty();

        w.config(&config(&lab, &sim, ""));
        w.destroy();
    });
}
