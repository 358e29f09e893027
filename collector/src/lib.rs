//! lightbulb collector: receives results from agents over mutual-TLS gRPC,
//! stores them, and serves the REST API, the live status stream and metrics.

pub mod api;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

pub use error::{Error, ErrorCode, Result};
use lightbulb_common::tls::{read_certs_pem, read_key_pem};
use lightbulb_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::info;

use crate::config::CollectorConfig;
use crate::state::AppState;
use crate::store::sqlite::SqliteStore;

/// Binds the configured listeners and serves until `shutdown`.
pub async fn run(config: CollectorConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let http = TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on http.listen {}: {e}", config.http.listen))?;
    let grpc = TcpListener::bind(config.grpc.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on grpc.listen {}: {e}", config.grpc.listen))?;
    serve(config, http, grpc, shutdown).await
}

/// Addresses the collector serves on.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
}

/// Serves on already bound listeners (tests bind port 0 and pass them in).
pub async fn serve(
    config: CollectorConfig,
    http: TcpListener,
    grpc: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            read_certs_pem(&config.tls.cert)?,
            read_key_pem(&config.tls.key)?,
        ))
        .client_ca_root(Certificate::from_pem(read_certs_pem(&config.tls.ca)?));
    let store = Arc::new(SqliteStore::open(&config.store.path)?);
    let state = AppState::new(config, store, shutdown.clone()).await?;
    let bound = Bound {
        http: http.local_addr()?,
        grpc: grpc.local_addr()?,
    };
    info!(http = %bound.http, grpc = %bound.grpc, "collector listening");
    let grpc_server = Server::builder()
        .tls_config(tls)?
        .add_service(
            IngestServer::new(ingest::IngestService::new(state.clone()))
                .max_decoding_message_size(16 << 20),
        )
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(grpc),
            shutdown.clone().cancelled_owned(),
        );
    let http_server = axum::serve(http, api::router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let (g, h) = tokio::join!(grpc_server, async { http_server.await });
    g?;
    h?;
    info!("collector stopped");
    Ok(())
}
