//! HTTPS on the REST/UI listener (`[http.tls]`): rustls with the ring
//! provider, the certificate read again on SIGHUP (a broken new one is
//! logged and the current one kept). Handshakes run in their own tasks, so
//! a slow or silent client never holds up the others.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

/// `[http.tls]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTlsConfig {
    /// The certificate chain (PEM), read again on SIGHUP.
    pub cert: PathBuf,
    /// Its private key (PEM), read again on SIGHUP.
    pub key: PathBuf,
    /// `Strict-Transport-Security: max-age` sent on every response.
    /// Default `365d`; `0s` sends none.
    #[serde(
        with = "lightbulb_common::time::serde_duration",
        default = "default_hsts"
    )]
    pub hsts_max_age: Duration,
}

fn default_hsts() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}

/// The server configuration in use, swapped on reload.
#[derive(Clone)]
pub struct Certificates {
    config: HttpTlsConfig,
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl Certificates {
    /// Reads the certificate and key; the error names the file and why.
    pub fn load(config: &HttpTlsConfig) -> Result<Certificates, String> {
        Ok(Certificates {
            current: Arc::new(RwLock::new(server_config(&config.cert, &config.key)?)),
            config: config.clone(),
        })
    }

    /// Reads the files again; on error the current certificate stays.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = server_config(&self.config.cert, &self.config.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    /// Reloads on every SIGHUP until `shutdown`.
    pub async fn reload_on_hangup(self, shutdown: CancellationToken) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(h) => h,
            Err(e) => {
                error!(error = %e, "cannot watch SIGHUP; the HTTPS certificate is read only at start");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hangup.recv() => match self.reload() {
                    Ok(()) => info!(cert = %self.config.cert.display(), "SIGHUP: HTTPS certificate reloaded"),
                    Err(e) => error!(error = %e, "SIGHUP: cannot reload the HTTPS certificate; keeping the current one"),
                },
            }
        }
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("http.tls.cert `{}`: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "http.tls.cert `{}`: no certificate in the file",
            cert.display()
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("http.tls.key `{}`: {e}", key.display()))?;
    lightbulb_common::tls::install_crypto_provider();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            format!(
                "http.tls.key `{}` does not fit http.tls.cert: {e}",
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepted TLS connections, for `axum::serve`.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

/// The longest a client may take over its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        certs: Certificates,
        shutdown: CancellationToken,
    ) -> std::io::Result<TlsListener> {
        let addr = tcp.local_addr()?;
        let (tx, accepted) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = tcp.accept() => match r {
                        Ok(s) => s,
                        Err(e) => {
                            // Out of file descriptors and the like: pause, then go on.
                            warn!(error = %e, "cannot accept an HTTPS connection");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let acceptor = certs.acceptor();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { accepted, addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept loop ended at shutdown: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
