use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use lightbulb_agent::config::AgentConfig;
use tokio_util::sync::CancellationToken;

/// Reads the configuration on a thread of its own and keeps a copy made on
/// this one. Parsing a file of 10,000 checks peaks at ~45 MB of short-lived
/// values; made in that thread's own malloc arena, they go back to the
/// system once the parse result is dropped, instead of staying resident
/// (measured: 72 MiB RSS at 10,000 checks before, 46 after). The drop is on
/// a thread too: one that exits hands its cached chunks back, where this
/// thread would keep some and pin the arena.
fn load(
    file: Option<&std::path::Path>,
) -> Result<AgentConfig, lightbulb_common::config::ConfigError> {
    let parsed = std::thread::scope(|s| s.spawn(|| AgentConfig::load(file)).join())
        .expect("configuration thread")?;
    let kept = parsed.clone();
    std::thread::scope(|s| s.spawn(move || drop(parsed)).join()).expect("configuration thread");
    Ok(kept)
}

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
        /// Results per second at most, as checks would produce them while
        /// the shipper ships (0: as fast as the spool takes them).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Stamp the results over this past (`35d`) instead of now: all OK,
        /// response times of a daily shape; a history to try the charts
        /// and unusual hours on.
        #[arg(long, value_parser = lightbulb_common::time::parse_duration)]
        history: Option<std::time::Duration>,
        /// Only spool the results and exit; a later `bench --results 0`
        /// ships them as a backlog (to measure how fast a collector takes
        /// many agents' backlogs at once).
        #[arg(long)]
        spool_only: bool,
        /// Exit 0 even if the full spool dropped results (by default a drop
        /// fails the run: its rate would not count them).
        #[arg(long)]
        allow_drops: bool,
    },
    /// Print the effective configuration and exit.
    PrintConfig,
    /// Run one check once, here, and print its result as JSON; for trying a
    /// `status_config` before adding the service. Exit status 0 OK,
    /// 1 DEGRADED, 2 FAILED, 3 any other status (as monitoring plugins do).
    Check {
        /// Service type: api_endpoint, python_process, database,
        /// temporal_workflow or kubernetes_pod.
        service_type: String,
        /// The `status_config` as JSON, e.g. '{"url": "ping://10.0.0.1"}'.
        status_config: String,
    },
}

/// `lightbulb-agent check`: the result, or why the definition is invalid.
fn check_once(service_type: &str, config: &str) -> ExitCode {
    use lightbulb_common::{ServiceType, Status, spec::CheckSpec};
    let Some(service_type) = ServiceType::parse(service_type) else {
        eprintln!("error: SERVICE_TYPE: `{service_type}` is not a service type");
        return ExitCode::from(64);
    };
    let spec = serde_json::from_str(config)
        .map_err(|e| ("".to_string(), format!("is not JSON: {e}")))
        .and_then(|v| CheckSpec::parse(service_type, &v));
    let spec = match spec {
        Ok(s) => s,
        Err((key, why)) => {
            eprintln!("error: STATUS_CONFIG {key}: {why}");
            return ExitCode::from(64);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let outcome = runtime.block_on(lightbulb_agent::checks::build(&spec).run());
    let shown = serde_json::json!({
        "status": outcome.status.name(),
        "message": outcome.message,
        "metrics": outcome.metrics,
        "details": outcome.details,
    });
    println!("{}", serde_json::to_string_pretty(&shown).expect("JSON"));
    ExitCode::from(match outcome.status {
        Status::Ok => 0,
        Status::Degraded => 1,
        Status::Failed => 2,
        _ => 3,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    lightbulb_common::logging::init(cli.log_json);
    lightbulb_common::tls::install_crypto_provider();
    if let Some(Command::Check {
        service_type,
        status_config,
    }) = &cli.command
    {
        return check_once(service_type, status_config);
    }
    let config = match load(cli.config.as_deref()) {
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
                rate,
                history,
                spool_only,
                allow_drops,
            } => {
                allow = allow_drops;
                if let Err(e) =
                    lightbulb_common::status::validate_service_id(&format!("{prefix}-0"))
                {
                    eprintln!("error: --prefix: {e}");
                    return ExitCode::from(64);
                }
                let history_ms = history.map_or(0, |h| h.as_millis() as i64);
                lightbulb_agent::bench::run_paced(
                    &config,
                    results,
                    services,
                    &prefix,
                    rate,
                    history_ms,
                    !spool_only,
                    shutdown,
                )
                .await
            }
            Command::Check { .. } => unreachable!("run before the configuration is read"),
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
