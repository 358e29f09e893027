use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use lightbulb_agent::config::AgentConfig;
use tokio_util::sync::CancellationToken;

/// lightbulb agent: runs health checks, spools the results on disk and ships
/// them to the collector over mutual-TLS gRPC.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML). Every key can also be set as
    /// LIGHTBULB_<SECTION>__<KEY>, e.g. LIGHTBULB_SPOOL_DIR or LIGHTBULB_TLS__CA.
    #[arg(long, short, global = true, env = "LIGHTBULB_CONFIG")]
    config: Option<PathBuf>,
    /// Log one JSON object per line.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the checks and ship results (the default).
    Run,
    /// Push synthetic results through the real spool and shipper and print
    /// the rate once all are acknowledged.
    Bench {
        /// Results to generate (0 only drains what the spool holds).
        #[arg(long, default_value_t = 100_000)]
        results: u64,
        /// Services `PREFIX-0`… to spread them over.
        #[arg(long, default_value_t = 100)]
        services: u64,
        /// Service id prefix of the synthetic results.
        #[arg(long, default_value = "bench")]
        prefix: String,
        /// Exit 0 even if the full spool dropped results (by default a drop
        /// fails the run: its rate would not count them).
        #[arg(long)]
        allow_drops: bool,
    },
    /// Print the effective configuration and exit.
    PrintConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    lightbulb_common::logging::init(cli.log_json);
    lightbulb_common::tls::install_crypto_provider();
    let config = match AgentConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lightbulb-agent: {e}");
            return ExitCode::from(64);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let reload = Arc::new(AtomicBool::new(false));
    let hangup = reload.clone();
    let code = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(lightbulb_common::signal::cancel_on_signal(shutdown.clone()));
        tokio::spawn(stop_on_hangup(shutdown.clone(), hangup));
        let max_bytes = config.spool.max_bytes;
        let mut allow = false;
        let result = match cli.command.unwrap_or(Command::Run) {
            Command::Run => lightbulb_agent::run(config, shutdown).await.map(|()| None),
            Command::Bench {
                results,
                services,
                prefix,
                allow_drops,
            } => {
                allow = allow_drops;
                if let Err(e) =
                    lightbulb_common::status::validate_service_id(&format!("{prefix}-0"))
                {
                    eprintln!("error: --prefix: {e}");
                    return ExitCode::from(64);
                }
                lightbulb_agent::bench::run(&config, results, services, &prefix, shutdown).await
            }
            Command::PrintConfig => {
                print!(
                    "{}",
                    toml::to_string_pretty(&config).expect("config serializes")
                );
                Ok(None)
            }
        };
        match result {
            Ok(Some(report)) => {
                println!("{report}");
                if report.dropped > 0 && !allow {
                    eprintln!(
                        "lightbulb-agent: the spool (spool.max_bytes {}) was full and dropped {} results; \
                         raise spool.max_bytes or pass --allow-drops",
                        max_bytes, report.dropped
                    );
                    return ExitCode::from(1);
                }
                ExitCode::SUCCESS
            }
            Ok(None) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "agent failed");
                eprintln!("lightbulb-agent: {e}");
                ExitCode::from(1)
            }
        }
    });
    if reload.load(Ordering::Acquire) && code == ExitCode::SUCCESS {
        return ExitCode::from(RELOAD_EXIT);
    }
    code
}

/// Exit status after SIGHUP: the service manager starts the agent again
/// (`RestartForceExitStatus=75`), which then reads its configuration anew.
const RELOAD_EXIT: u8 = 75;

/// SIGHUP stops the agent cleanly (results stay spooled) to be started
/// again with the configuration as it is now.
async fn stop_on_hangup(shutdown: CancellationToken, reload: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP");
        return;
    };
    tokio::select! {
        _ = hangup.recv() => {}
        _ = shutdown.cancelled() => return,
    }
    tracing::info!(
        exit = RELOAD_EXIT,
        "SIGHUP: stopping to be started again with the configuration re-read"
    );
    reload.store(true, Ordering::Release);
    shutdown.cancel();
}
