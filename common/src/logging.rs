use tracing_subscriber::EnvFilter;

/// Starts logging to stderr. `RUST_LOG` overrides the default level `info`;
/// `json` switches to one JSON object per line for log shippers.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber, hence the ignored results.
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.with_ansi(false).try_init();
    }
}
