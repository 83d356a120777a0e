//! terraform-provider-palette: Spectro Cloud Palette on VMware vSphere.

mod config;

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tfplugin::{Ctx, DataSource, Diagnostics, Provider, Resource, Schema, Value};

/// What resources share once the provider is configured.
#[derive(Default)]
pub struct Shared {
    pub settings: RwLock<Option<config::Settings>>,
}

struct PaletteProvider {
    shared: Arc<Shared>,
}

#[async_trait]
impl Provider for PaletteProvider {
    fn schema(&self) -> Schema {
        schemas::provider::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    async fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        if config.get("insecure").as_bool() == Some(true) && !config.get("ca_file").is_null() {
            d.error_at(
                tfplugin::AttrPath::attr("insecure"),
                "Conflicting TLS settings",
                "`insecure = true` skips certificate checks, which makes `ca_file` pointless. Set one of them.",
            );
        }
        d
    }

    async fn configure(&self, config: &Value, _ctx: &Ctx) -> Diagnostics {
        match config::resolve(config, |k| std::env::var(k).ok()) {
            Ok(settings) => {
                tracing::debug!(endpoint = %settings.endpoint, project = ?settings.project, "provider configured");
                *self.shared.settings.write().expect("settings lock") = Some(settings);
                Diagnostics::new()
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
