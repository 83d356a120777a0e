//! A server for Terraform's plugin protocol 6: the go-plugin handshake with
//! AutoMTLS, the tfplugin6 service, the value codec, declarative schemas
//! and the planning helpers resources share. It knows nothing of Palette.

pub mod codec;
pub mod diag;
pub mod duration;
pub mod logging;
pub mod model;
pub mod plan;
pub mod provider;
pub mod schema;
pub mod serve;
pub mod server;
pub mod timeouts;
pub mod tls;
pub mod validate;
pub mod value;

/// Code generated from the .proto files under proto/.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use diag::{AttrPath, Diagnostic, Diagnostics};
pub use model::{Attr, Model};
pub use provider::{
    Action, ApplyRequest, ApplyResult, Ctx, DataSource, EphemeralResource, Imported, ListRequest,
    ListResource, ListSink, Listed, MoveRequest, MoveSource, Opened, PlanRequest, PlanResponse,
    Progress, Provider, ReadResult, Renewed, Resource,
};
pub use schema::{
    Attribute, Block, IdentityAttribute, IdentitySchema, NestedBlock, Nesting, Schema,
};
pub use value::{Number, Type, Value};
