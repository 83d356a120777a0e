//! Process start-up as go-plugin expects it: check the magic cookie,
//! negotiate the protocol version, listen on a unix socket, announce it on
//! stdout in the handshake line, and serve the provider, the health check,
//! the controller and stdio services until Terraform shuts us down.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::proto::plugin as goplugin;
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::provider::Provider;
use crate::server::ProviderService;
use crate::tls;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const CORE_PROTOCOL_VERSION: u32 = 1;
pub const PROTOCOL_VERSION: u32 = 6;

/// How the binary was asked to run.
pub struct ServeOptions {
    /// Full provider address, e.g. registry.terraform.io/ns/name; used in the
    /// TF_REATTACH_PROVIDERS line of debug mode.
    pub address: String,
    /// Name shown to a person who runs the binary by hand.
    pub binary_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    NotUnderTerraform(String),
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Tls(#[from] tls::TlsSetupError),
    #[error("listening: {0}")]
    Io(#[from] std::io::Error),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Entry point of a provider binary: parses `--debug`, then serves.
pub fn main(provider: Arc<dyn Provider>, opts: ServeOptions) -> std::process::ExitCode {
    crate::logging::init("provider");
    let debug = std::env::args()
        .skip(1)
        .any(|a| a == "--debug" || a == "-debug");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", opts.binary_name);
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        if debug {
            serve_debug(provider, &opts).await
        } else {
            serve(provider, &opts).await
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Checks the environment Terraform sets and returns the client
/// certificate PEM, if AutoMTLS is on.
pub fn check_environment(
    get: impl Fn(&str) -> Option<String>,
    binary_name: &str,
) -> Result<Option<String>, ServeError> {
    if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotUnderTerraform(format!(
            "{binary_name} is a Terraform provider plugin: Terraform starts it and talks to it over gRPC, so it is \
             not meant to be run by hand.\n\
             To use it, install it in a provider mirror or a dev_overrides block and run `terraform init` and \
             `terraform plan` in a configuration that uses it.\n\
             To debug it, run `{binary_name} --debug` and set the TF_REATTACH_PROVIDERS value it prints in the \
             shell that runs terraform."
        )));
    }
    let offered = get("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default();
    let speaks6 = offered
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(PROTOCOL_VERSION));
    if !speaks6 {
        return Err(ServeError::Protocol(format!(
            "Terraform offered plugin protocol versions {offered:?}, but {binary_name} speaks only protocol \
             {PROTOCOL_VERSION}, which Terraform 1.0 and later support. Upgrade Terraform to 1.0 or later."
        )));
    }
    Ok(get("PLUGIN_CLIENT_CERT").filter(|s| !s.trim().is_empty()))
}

fn socket_path() -> PathBuf {
    let dir = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    dir.join(format!("plugin-palette-{}-{nanos}", std::process::id()))
}

/// Removes the socket file when serving ends, however it ends.
struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn serve(provider: Arc<dyn Provider>, opts: &ServeOptions) -> Result<(), ServeError> {
    let client_cert = check_environment(|k| std::env::var(k).ok(), &opts.binary_name)?;
    tls::install_default_crypto_provider();
    let mtls = client_cert.as_deref().map(tls::auto_mtls).transpose()?;

    let path = socket_path();
    let listener = UnixListener::bind(&path)?;
    let _guard = SocketGuard(path.clone());

    // Terraform forwards Ctrl-C to its whole process group; the provider
    // must outlive it to receive StopProvider and report what it did.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::spawn(async move {
        while sigint.recv().await.is_some() {
            tracing::debug!("ignoring SIGINT; waiting for Terraform's StopProvider");
        }
    });

    let cert_field = mtls
        .as_ref()
        .map(|m| base64::engine::general_purpose::STANDARD_NO_PAD.encode(&m.server_cert_der))
        .unwrap_or_default();
    let line = format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|unix|{}|grpc|{cert_field}\n",
        path.display()
    );

    let shutdown = CancellationToken::new();
    let incoming = accept_loop(listener, mtls.map(|m| m.config), shutdown.clone());
    let server = run_grpc(provider, incoming, shutdown.clone());
    {
        let mut out = std::io::stdout().lock();
        out.write_all(line.as_bytes())?;
        out.flush()?;
    }
    server.await
}

async fn serve_debug(provider: Arc<dyn Provider>, opts: &ServeOptions) -> Result<(), ServeError> {
    tls::install_default_crypto_provider();
    let path = socket_path();
    let listener = UnixListener::bind(&path)?;
    let _guard = SocketGuard(path.clone());
    let shutdown = CancellationToken::new();
    let incoming = accept_loop(listener, None, shutdown.clone());
    let reattach = reattach_json(&opts.address, &path);
    println!(
        "{} is running in debug mode. To attach Terraform to it, run this in the shell that runs terraform:\n\n\
         \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
         Press Ctrl-C to stop it.",
        opts.binary_name
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    run_grpc(provider, incoming, shutdown).await
}

pub fn reattach_json(address: &str, socket: &Path) -> String {
    serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "unix", "String": socket.display().to_string() },
        }
    })
    .to_string()
}

/// Accepts connections, doing each TLS handshake in its own task so that a
/// stalled client cannot hold up the others.
fn accept_loop(
    listener: UnixListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<Conn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        continue;
                    }
                },
            };
            let tx = tx.clone();
            match acceptor.clone() {
                None => {
                    let _ = tx.send(Ok(Conn::Plain(stream))).await;
                }
                Some(acceptor) => {
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(s) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(s)))).await;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "TLS handshake with a client failed")
                            }
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

async fn run_grpc(
    provider: Arc<dyn Provider>,
    incoming: ReceiverStream<Result<Conn, std::io::Error>>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let controller = Controller {
        shutdown: shutdown.clone(),
    };
    let stdio = Stdio {
        shutdown: shutdown.clone(),
    };
    let service = ProviderService::new(provider);
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(goplugin::grpc_controller_server::GrpcControllerServer::new(
            controller,
        ))
        .add_service(goplugin::grpc_stdio_server::GrpcStdioServer::new(stdio))
        .add_service(
            ProviderServer::new(service)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
        )
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    tracing::debug!("provider server stopped");
    Ok(())
}

struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl goplugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _req: Request<goplugin::Empty>,
    ) -> Result<Response<goplugin::Empty>, Status> {
        tracing::debug!("Terraform asked the provider to shut down");
        self.shutdown.cancel();
        Ok(Response::new(goplugin::Empty {}))
    }
}

/// The provider writes its logs to stderr, which go-plugin reads directly,
/// so the stdio stream carries nothing; it stays open until shutdown, as a
/// closed stream would make Terraform log a spurious error.
struct Stdio {
    shutdown: CancellationToken,
}

type StdioStream = Pin<Box<dyn futures::Stream<Item = Result<goplugin::StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl goplugin::grpc_stdio_server::GrpcStdio for Stdio {
    async fn stream_stdio(&self, _req: Request<()>) -> Result<Response<StdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        let s = futures::stream::once(async move {
            shutdown.cancelled_owned().await;
            None
        })
        .filter_map(futures::future::ready);
        Ok(Response::new(Box::pin(s)))
    }
}

use futures::StreamExt as _;

/// A client connection, with or without TLS.
pub enum Conn {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn refuses_to_run_without_the_cookie() {
        let e = check_environment(env(&[]), "tp").unwrap_err();
        assert!(e.to_string().contains("not meant to be run by hand"), "{e}");
    }

    #[test]
    fn needs_protocol_6() {
        let e = check_environment(
            env(&[
                (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "4,5"),
            ]),
            "tp",
        )
        .unwrap_err();
        assert!(e.to_string().contains("speaks only protocol 6"), "{e}");
        let ok = check_environment(
            env(&[
                (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
                ("PLUGIN_CLIENT_CERT", "x"),
            ]),
            "tp",
        )
        .unwrap();
        assert_eq!(ok.as_deref(), Some("x"));
    }

    #[test]
    fn reattach_line_names_the_socket() {
        let j: serde_json::Value = serde_json::from_str(&reattach_json(
            "registry.terraform.io/a/b",
            Path::new("/tmp/s"),
        ))
        .unwrap();
        assert_eq!(j["registry.terraform.io/a/b"]["Addr"]["String"], "/tmp/s");
        assert_eq!(j["registry.terraform.io/a/b"]["ProtocolVersion"], 6);
    }
}
