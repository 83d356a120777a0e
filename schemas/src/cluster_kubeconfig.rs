//! `ephemeral "palette_cluster_kubeconfig"`: a cluster's kubeconfig and the
//! fields a kubernetes or helm provider block takes, never stored.

use tfplugin::validate::{one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema};

pub const TYPE_NAME: &str = "palette_cluster_kubeconfig";

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A cluster's kubeconfig, read from Palette when Terraform needs it and never written to the \
                 plan or state, with the fields a `kubernetes` or `helm` provider block takes. Needs \
                 Terraform 1.10 or later (ephemeral resources). With an older Terraform, use the `kubeconfig` \
                 attribute of `palette_cluster_vsphere`, which is kept in state (marked sensitive); with this \
                 ephemeral resource, set `store_kubeconfig = false` on the cluster to keep it out of state.",
            )
            .attr(
                Attribute::string("cluster_id")
                    .optional()
                    .computed()
                    .validator(NotBlank)
                    .description(
                        "Uid of the cluster, such as `palette_cluster_vsphere.apps.id`. Set exactly one of \
                         `cluster_id` and `name`; when looked up by name, the uid found.",
                    ),
            )
            .attr(
                Attribute::string("name")
                    .optional()
                    .computed()
                    .validator(NotBlank)
                    .description(
                        "Name of the cluster, looked up in the provider's project (or the tenant, see \
                         `context`). Set exactly one of `cluster_id` and `name`; when looked up by uid, the \
                         cluster's name.",
                    ),
            )
            .attr(
                Attribute::string("context")
                    .optional()
                    .validator(one_of(["project", "tenant"]))
                    .description(
                        "Where the cluster lives: `project` (the provider's project, when not set) or `tenant`.",
                    ),
            )
            .attr(
                Attribute::string("kubeconfig")
                    .computed()
                    .sensitive()
                    .description("The kubeconfig as Palette serves it (YAML)."),
            )
            .attr(Attribute::string("host").computed().description(
                "The API server's URL (`server` of the kubeconfig's cluster entry), such as \
                 `https://10.10.183.50:6443`.",
            ))
            .attr(Attribute::string("cluster_ca_certificate").computed().description(
                "The cluster's CA certificate, PEM (decoded from `certificate-authority-data`); null when \
                 the kubeconfig has none.",
            ))
            .attr(Attribute::string("client_certificate").computed().description(
                "Client certificate, PEM (decoded from `client-certificate-data`); null when the kubeconfig \
                 has none.",
            ))
            .attr(
                Attribute::string("client_key")
                    .computed()
                    .sensitive()
                    .description(
                        "Client key, PEM (decoded from `client-key-data`); null when the kubeconfig has none.",
                    ),
            )
            .attr(
                Attribute::string("token")
                    .computed()
                    .sensitive()
                    .description("Bearer token of the kubeconfig's user; null when it has none."),
            )
            .attr(
                Attribute::string("username")
                    .computed()
                    .description("Basic-auth user name of the kubeconfig's user; null when it has none."),
            )
            .attr(
                Attribute::string("password")
                    .computed()
                    .sensitive()
                    .description("Basic-auth password of the kubeconfig's user; null when it has none."),
            )
            .attr(Attribute::bool("insecure").computed().description(
                "Whether the kubeconfig skips the server's certificate check (`insecure-skip-tls-verify`).",
            ))
            .attr(Attribute::string("tls_server_name").computed().description(
                "Name to check the server's certificate against, when it differs from the host; null when \
                 not set.",
            ))
            .attr(
                Attribute::string("proxy_url")
                    .computed()
                    .description("Proxy for the API server; null when not set."),
            ),
    )
}
