//! What several check types share: pooled HTTP clients, the latency verdict,
//! and error text with its causes.

use std::collections::HashMap;

use lightbulb_common::Status;

use super::Outcome;

/// What makes two checks' HTTP clients interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    /// Redirects followed; `None`: none.
    pub redirects: Option<usize>,
    pub insecure: bool,
    pub ca: Option<std::path::PathBuf>,
    pub timeout: Option<std::time::Duration>,
}

/// One client (TLS roots, connection pool) per distinct setting, shared by
/// every check that uses it: hundreds of checks must not hold hundreds of
/// root stores.
pub(crate) fn shared_client(key: ClientKey) -> Result<reqwest::Client, String> {
    static CLIENTS: std::sync::Mutex<Option<HashMap<ClientKey, reqwest::Client>>> =
        std::sync::Mutex::new(None);
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    let clients = clients.get_or_insert_with(HashMap::new);
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    lightbulb_common::tls::install_crypto_provider();
    let policy = match key.redirects {
        Some(n) => reqwest::redirect::Policy::limited(n),
        None => reqwest::redirect::Policy::none(),
    };
    let mut builder = reqwest::Client::builder()
        .redirect(policy)
        .tls_danger_accept_invalid_certs(key.insecure)
        .user_agent(concat!("lightbulb-agent/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = key.timeout {
        builder = builder.timeout(t);
    }
    if let Some(path) = &key.ca {
        builder = trust(builder, path, "ca")?;
    }
    let client = builder
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// `builder` also trusting the CA certificates in the PEM file `path`
/// (named `key` in errors).
pub(crate) fn trust(
    mut builder: reqwest::ClientBuilder,
    path: &std::path::Path,
    key: &str,
) -> Result<reqwest::ClientBuilder, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read {key} {}: {e}", path.display()))?;
    for root in reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{key} {}: {e}", path.display()))?
    {
        builder = builder.add_root_certificate(root);
    }
    Ok(builder)
}

/// OK with the time taken, or DEGRADED past `degraded_ms`.
pub(crate) fn latency_outcome(what: String, elapsed_ms: f64, degraded_ms: Option<u64>) -> Outcome {
    match degraded_ms {
        Some(limit) if elapsed_ms > limit as f64 => Outcome::new(
            Status::Degraded,
            format!("{what} in {elapsed_ms:.0} ms, over degraded_ms {limit}"),
        ),
        _ => Outcome::new(Status::Ok, format!("{what} in {elapsed_ms:.0} ms")),
    }
}

/// The error with its causes, e.g. `error sending request: connection refused`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
