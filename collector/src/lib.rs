//! lightbulb collector: receives results from agents over mutual-TLS gRPC,
//! stores them, and serves the REST API, the live status stream and metrics.

pub mod access;
pub mod alerting;
pub mod api;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod catalog;
pub mod config;
pub mod error;
pub mod evaluator;
pub mod file_alerting;
pub mod fleet;
pub mod https;
pub mod ingest;
pub mod insights;
pub mod lifecycle;
pub mod metrics;
pub mod push;
pub mod search;
pub mod staleness;
pub mod state;
pub mod stats;
pub mod status_pushes;
pub mod store;
pub mod thresholds;
pub mod views;

use std::sync::Arc;

pub use error::{Error, ErrorCode, Result};

/// A boxed future, as the store traits return them.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
use lightbulb_common::tls::{read_certs_pem, read_key_pem};
use lightbulb_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::info;

use crate::config::{CollectorConfig, StoreKind};
use crate::state::AppState;
use crate::store::clickhouse::ClickHouseStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Retention, Store};

/// Why the collector could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("key `{key}`: {source}")]
    TlsFile {
        key: &'static str,
        source: lightbulb_common::Error,
    },
    #[error("cannot listen on {key} {addr}: {source}")]
    Listen {
        key: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Collector(#[from] Error),
    /// The catalog file is invalid (the text names file, item and key).
    #[error("{0}")]
    CatalogFile(String),
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
    /// `[http.tls]` names a file that cannot be used (the text says which and why).
    #[error("{0}")]
    HttpsCertificate(String),
}

/// Binds the configured listeners and serves until `shutdown`.
pub async fn run(config: CollectorConfig, shutdown: CancellationToken) -> Result<(), StartError> {
    // TLS files first: a wrong path fails before any port is taken.
    let tls = server_tls(&config)?;
    let bind = |key: &'static str, addr: std::net::SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { key, addr, source })
    };
    let http = bind("http.listen", config.http.listen).await?;
    let grpc = bind("grpc.listen", config.grpc.listen).await?;
    serve_with(config, tls, http, grpc, shutdown).await
}

/// Mutual TLS for the gRPC listener: the collector's identity, and the CA
/// every agent certificate must be signed by.
fn server_tls(config: &CollectorConfig) -> Result<ServerTlsConfig, StartError> {
    let file = |key: &'static str, read: lightbulb_common::Result<Vec<u8>>| {
        read.map_err(|source| StartError::TlsFile { key, source })
    };
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(
            file("tls.cert", read_certs_pem(&config.tls.cert))?,
            file("tls.key", read_key_pem(&config.tls.key))?,
        ))
        .client_ca_root(Certificate::from_pem(file(
            "tls.ca",
            read_certs_pem(&config.tls.ca),
        )?)))
}

/// Opens the configured store.
pub async fn open_store(config: &CollectorConfig) -> Result<Arc<dyn Store>> {
    let retention = Retention::from_config(&config.store);
    Ok(match config.store.kind {
        StoreKind::Clickhouse => Arc::new(ClickHouseStore::open(&config.store, retention).await?),
        StoreKind::Sqlite => Arc::new(SqliteStore::open(&config.store.path, retention)?),
    })
}

/// Applies retention at start and then every hour.
async fn expire_hourly(store: Arc<dyn Store>, shutdown: CancellationToken) {
    loop {
        if let Err(e) = store.expire(lightbulb_common::time::now_ms()).await {
            tracing::warn!(error = %e, "retention could not be applied; will retry in an hour");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Serves on already bound listeners (tests bind port 0 and pass them in).
pub async fn serve(
    config: CollectorConfig,
    http: TcpListener,
    grpc: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let tls = server_tls(&config)?;
    serve_with(config, tls, http, grpc, shutdown).await
}

async fn serve_with(
    config: CollectorConfig,
    tls: ServerTlsConfig,
    http: TcpListener,
    grpc: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let https = match &config.http.tls {
        Some(t) => Some(https::Certificates::load(t).map_err(StartError::HttpsCertificate)?),
        None => None,
    };
    let store = open_store(&config).await?;
    // Taken before anything reads, so nothing other collectors write is missed.
    let others = store.watch();
    tokio::spawn(expire_hourly(store.clone(), shutdown.clone()));
    let state = AppState::new(config, store, shutdown.clone()).await?;
    tokio::spawn(applications::run(state.clone()));
    if let Some(updates) = others {
        tokio::spawn(state::follow_store(Arc::downgrade(&state), updates));
    }
    if state.store.catalog_stamp().await?.is_some() {
        tokio::spawn(state::follow_catalog(Arc::downgrade(&state)));
    }
    // Statuses silent since before this start are UNKNOWN before anyone asks.
    staleness::pass(&state, lightbulb_common::time::now_ms()).await?;
    tokio::spawn(staleness::run(state.clone()));
    tokio::spawn(lifecycle::run(state.clone()));
    tokio::spawn(evaluator::run(state.clone()));
    tokio::spawn(state.anomalies.clone().run(state.clone()));
    tokio::spawn(insights::sla::scheduled::run(state.clone()));
    if let Some(analyst) = state.analyst.clone() {
        tokio::spawn(analyst.run(state.clone()));
    }
    let (leads, names) = (state.clone(), state.clone());
    tokio::spawn(status_pushes::run(
        state.push.clone(),
        state.events.subscribe(),
        state.shutdown.clone(),
        move || leads.alerting.outbox.leading(),
        move |id| {
            names.catalog.read(|c| {
                c.services
                    .get(id)
                    .map(|s| s.label.clone())
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| id.to_string())
            })
        },
    ));
    if let Some(file) = &state.catalog_file {
        // An invalid catalog file stops the start, naming file, item and key.
        file.apply(&state.catalog, &file_alerting::FileAlerting(&state))
            .await
            .map_err(StartError::CatalogFile)?;
        let watched = state.clone();
        tokio::spawn(async move {
            if let Some(file) = &watched.catalog_file {
                let rules = file_alerting::FileAlerting(&watched);
                file.watch(&watched.catalog, &rules, watched.shutdown.clone())
                    .await;
            }
        });
    }
    // Tests and scripts read the bound addresses from this line.
    info!(http = %http.local_addr()?, grpc = %grpc.local_addr()?, https = https.is_some(), "collector listening");
    let grpc_server = Server::builder()
        // Finds connections to agents that vanished without closing them.
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(20)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(10)))
        .tls_config(tls)?
        .add_service(
            IngestServer::new(ingest::IngestService::new(state.clone()))
                .max_decoding_message_size(16 << 20),
        )
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(grpc),
            shutdown.clone().cancelled_owned(),
        );
    let app = api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let stopped = shutdown.clone().cancelled_owned();
    let http_server = async {
        match https {
            Some(certs) => {
                tokio::spawn(certs.clone().reload_on_hangup(shutdown.clone()));
                use axum::serve::ListenerExt;
                // Tapped only for axum's client-address support of any listener.
                let tls = https::TlsListener::new(http, certs, shutdown.clone())?.tap_io(|_| {});
                axum::serve(tls, app).with_graceful_shutdown(stopped).await
            }
            None => axum::serve(http, app).with_graceful_shutdown(stopped).await,
        }
    };
    let (g, h) = tokio::join!(grpc_server, http_server);
    g?;
    h?;
    info!("collector stopped");
    Ok(())
}
