//! terraform-provider-palette: Spectro Cloud Palette on VMware vSphere.

mod actions;
mod cloud_account;
mod cluster;
mod cluster_kubeconfig;
mod cluster_profile_data;
mod config;
mod consequences;
mod gateway;
mod gateway_data;
mod identity;
mod ip_pool;
mod list;
mod official;
mod placement;
mod shared;
mod vsphere_preflight;
mod vsphere_zones;

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    Ctx, DataSource, Diagnostics, EphemeralResource, Model, Provider, Resource, Schema, Value,
};

use shared::Shared;

struct PaletteProvider {
    shared: Arc<Shared>,
}

#[async_trait]
impl Provider for PaletteProvider {
    fn schema(&self) -> Schema {
        schemas::provider::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(cloud_account::CloudAccount {
                shared: self.shared.clone(),
            }),
            Arc::new(cluster::Cluster {
                shared: self.shared.clone(),
            }),
            Arc::new(gateway::Gateway {
                shared: self.shared.clone(),
            }),
            Arc::new(ip_pool::IpPool {
                shared: self.shared.clone(),
            }),
            Arc::new(vsphere_zones::VsphereZones {
                shared: self.shared.clone(),
            }),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![
            Arc::new(cloud_account::CloudAccountData {
                shared: self.shared.clone(),
            }),
            Arc::new(cluster_profile_data::ClusterProfileData {
                shared: self.shared.clone(),
            }),
            Arc::new(gateway_data::GatewayData {
                shared: self.shared.clone(),
            }),
            Arc::new(ip_pool::IpPoolData {
                shared: self.shared.clone(),
            }),
            Arc::new(vsphere_preflight::VspherePreflight {
                shared: self.shared.clone(),
            }),
        ]
    }

    fn list_resources(&self) -> Vec<Arc<dyn tfplugin::ListResource>> {
        use list::{ImportingList, Kind};
        let by_type = |kind: Kind| -> Arc<dyn tfplugin::ListResource> {
            let resource: Arc<dyn Resource> = match kind {
                Kind::Gateway => Arc::new(gateway::Gateway {
                    shared: self.shared.clone(),
                }),
                Kind::IpPool => Arc::new(ip_pool::IpPool {
                    shared: self.shared.clone(),
                }),
                Kind::CloudAccount => Arc::new(cloud_account::CloudAccount {
                    shared: self.shared.clone(),
                }),
                Kind::Cluster => Arc::new(cluster::Cluster {
                    shared: self.shared.clone(),
                }),
            };
            Arc::new(ImportingList {
                kind,
                resource,
                shared: self.shared.clone(),
            })
        };
        [
            Kind::Gateway,
            Kind::IpPool,
            Kind::CloudAccount,
            Kind::Cluster,
        ]
        .into_iter()
        .map(by_type)
        .collect()
    }

    fn actions(&self) -> Vec<Arc<dyn tfplugin::Action>> {
        vec![
            Arc::new(actions::ClusterForceDelete {
                shared: self.shared.clone(),
            }),
            Arc::new(actions::GatewayReset {
                shared: self.shared.clone(),
            }),
            Arc::new(gateway::upgrade::GatewayUpgrade {
                shared: self.shared.clone(),
            }),
        ]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource>> {
        vec![Arc::new(cluster_kubeconfig::ClusterKubeconfig {
            shared: self.shared.clone(),
        })]
    }

    async fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(config) = config::ProviderModel::from_value(config) else {
            return d;
        };
        if config.insecure.is_true() && !config.ca_file.is_null() {
            d.error_at(
                tfplugin::AttrPath::attr("insecure"),
                "Conflicting TLS settings",
                "`insecure = true` skips certificate checks, which makes `ca_file` pointless. Set one of them.",
            );
        }
        d
    }

    async fn configure(&self, config: &Value, ctx: &Ctx) -> Diagnostics {
        match config::resolve(config, |k| std::env::var(k).ok()) {
            Ok(settings) => {
                tracing::debug!(endpoint = %settings.endpoint, project = ?settings.project, "provider configured");
                if let Err(d) = self.shared.configure(settings) {
                    return d;
                }
                match self.shared.resolve_project(ctx).await {
                    Ok(()) => Diagnostics::new(),
                    Err(d) => d,
                }
            }
            Err(d) => d,
        }
    }
}

fn main() -> std::process::ExitCode {
    tfplugin::serve::main(
        Arc::new(PaletteProvider {
            shared: Arc::new(Shared::default()),
        }),
        tfplugin::serve::ServeOptions {
            address: schemas::PROVIDER_ADDRESS.into(),
            binary_name: "terraform-provider-palette".into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::proto::tfplugin6 as pb;
    use tfplugin::proto::tfplugin6::provider_server::Provider as _;
    use tfplugin::server::ProviderService;

    fn service() -> ProviderService {
        ProviderService::new(Arc::new(PaletteProvider {
            shared: Arc::new(Shared::default()),
        }))
    }

    fn config(pairs: &[(&str, Value)]) -> pb::DynamicValue {
        let ty = schemas::provider::schema().ty();
        let mut v = Value::null_object(&ty);
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        pb::DynamicValue {
            msgpack: tfplugin::codec::to_msgpack(&v, &ty).unwrap(),
            json: Vec::new(),
        }
    }

    fn paths(diags: &[pb::Diagnostic]) -> Vec<String> {
        use pb::attribute_path::step::Selector;
        diags
            .iter()
            .map(|d| {
                d.attribute
                    .as_ref()
                    .and_then(|a| a.steps.first())
                    .and_then(|s| match &s.selector {
                        Some(Selector::AttributeName(n)) => Some(n.clone()),
                        _ => None,
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    #[tokio::test]
    async fn validation_over_the_wire_names_each_bad_attribute() {
        let req = pb::validate_provider_config::Request {
            config: Some(config(&[
                ("endpoint", "ftp://palette.example.com".into()),
                ("max_retries", Value::int(99)),
                ("retry_max_wait", "soon".into()),
                ("insecure", true.into()),
                ("ca_file", "/etc/ssl/certs/ca-certificates.crt".into()),
            ])),
        };
        let resp = service()
            .validate_provider_config(tonic::Request::new(req))
            .await
            .unwrap()
            .into_inner();
        let mut got = paths(&resp.diagnostics);
        got.sort();
        assert_eq!(
            got,
            vec!["endpoint", "insecure", "max_retries", "retry_max_wait"],
            "{:?}",
            resp.diagnostics
        );
        let details: String = resp.diagnostics.iter().map(|d| d.detail.clone()).collect();
        assert!(
            details.contains("https://api.spectrocloud.com"),
            "a valid example is shown: {details}"
        );
    }

    async fn configure(pairs: &[(&str, Value)]) -> Vec<pb::Diagnostic> {
        let req = pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(config(pairs)),
            client_capabilities: None,
        };
        service()
            .configure_provider(tonic::Request::new(req))
            .await
            .unwrap()
            .into_inner()
            .diagnostics
    }

    #[tokio::test]
    async fn configure_without_key_fails_and_never_echoes_secrets() {
        std::env::remove_var("PALETTE_API_KEY");
        let diags = configure(&[("endpoint", "http://127.0.0.1:1".into())]).await;
        assert_eq!(paths(&diags), vec!["api_key"]);

        let diags = configure(&[
            ("api_key", "very-secret-key".into()),
            ("ca_file", "/nonexistent.pem".into()),
        ])
        .await;
        assert_eq!(paths(&diags), vec!["ca_file"]);
        assert!(!format!("{diags:?}").contains("very-secret-key"));
    }
}
