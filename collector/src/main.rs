use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lightbulb_collector::config::CollectorConfig;
use tokio_util::sync::CancellationToken;

/// lightbulb collector: receives check results from agents over mutual-TLS
/// gRPC, stores them and serves the REST API, live status stream and metrics.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML). Every key can also be set as
    /// LIGHTBULB_<SECTION>__<KEY>, e.g. LIGHTBULB_HTTP__LISTEN=0.0.0.0:8080.
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
    /// Serve (the default).
    Run,
    /// Certificates for mutual TLS.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Print the effective configuration and exit.
    PrintConfig,
    /// Back up the store while the collector runs: a consistent copy of a
    /// SQLite store (catalog, results, alerting, audit), or the catalog as
    /// JSON (`--catalog-only`; the only kind for ClickHouse, whose results
    /// ClickHouse's BACKUP keeps).
    Backup {
        /// File to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Only the catalog (services and relations), as import JSON.
        #[arg(long)]
        catalog_only: bool,
    },
    /// Restore a backup into the configured store: a SQLite copy replaces
    /// the store's file (stop the collector first); a catalog backup is
    /// imported into any store.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing SQLite store.
        #[arg(long)]
        force: bool,
    },
    /// The catalog file, checked without a running collector (for CI).
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Read a password from standard input and print its argon2 hash, for
    /// `[auth.local_admin] password_hash`.
    HashPassword,
    /// Print the OpenAPI document of the REST API (what /api/openapi.json
    /// serves) and exit; the dashboard's types are generated from it.
    Openapi,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Read the catalog file as the collector would apply it (to an empty
    /// catalog), with an environment's overrides: every problem names the
    /// item and field, exit status 64; valid, a summary and exit 0.
    Check {
        /// The file (TOML, or YAML by its .yaml/.yml name). Default
        /// `[catalog] file` of the configuration.
        file: Option<PathBuf>,
        /// The environment whose `environments.<name>` overrides apply.
        /// Default `[catalog] environment` of the configuration.
        #[arg(long, short)]
        environment: Option<String>,
        /// Also print the effective catalog as a TOML catalog file.
        #[arg(long)]
        print: bool,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Create a development CA plus collector and agent certificates (PEM):
    /// ca.crt, ca.key, collector.crt, collector.key, agent-NAME.crt, agent-NAME.key.
    Init {
        /// Directory to write into (created if missing; existing files are replaced).
        #[arg(long)]
        out: PathBuf,
        /// Agent id to issue a client certificate for (repeatable).
        #[arg(long = "agent", value_name = "NAME")]
        agents: Vec<String>,
        /// Extra DNS name or IP the collector certificate is valid for
        /// (repeatable; localhost and 127.0.0.1 are always included).
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
    },
    /// Issue certificates for more agents from the CA `certs init` made:
    /// agent-NAME.crt, agent-NAME.key and a copy of ca.crt, for the agent's
    /// host (/etc/lightbulb/certs/ there).
    Issue {
        /// Directory holding the CA's ca.crt and ca.key.
        #[arg(long)]
        ca_dir: PathBuf,
        /// Agent id to issue a client certificate for (repeatable; at least one).
        #[arg(long = "agent", value_name = "NAME", required = true)]
        agents: Vec<String>,
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    lightbulb_common::logging::init(cli.log_json);
    lightbulb_common::tls::install_crypto_provider();
    if let Some(Command::Certs { command }) = &cli.command {
        let written = match command {
            CertsCommand::Init { out, agents, hosts } => {
                lightbulb_common::certs::init(out, agents, hosts)
            }
            CertsCommand::Issue {
                ca_dir,
                agents,
                out,
            } => lightbulb_common::certs::issue(ca_dir, agents, out),
        };
        return match written {
            Ok(files) => {
                for f in files {
                    println!("wrote {}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lightbulb-collector: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(Command::HashPassword) = &cli.command {
        let mut password = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut password) {
            eprintln!("lightbulb-collector: cannot read the password: {e}");
            return ExitCode::from(1);
        }
        let password = password.trim_end_matches(['\r', '\n']);
        if password.len() < 12 {
            eprintln!("lightbulb-collector: the password must be at least 12 characters");
            return ExitCode::from(64);
        }
        println!("{}", lightbulb_collector::auth::hash_password(password));
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Openapi) = &cli.command {
        println!("{}", lightbulb_collector::api::openapi::document());
        return ExitCode::SUCCESS;
    }
    let config = match CollectorConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lightbulb-collector: {e}");
            return ExitCode::from(64);
        }
    };
    if let Some(Command::Catalog {
        command:
            CatalogCommand::Check {
                file,
                environment,
                print,
            },
    }) = &cli.command
    {
        return check_catalog(&config, file.as_ref(), environment.as_deref(), *print);
    }
    if let Some(Command::PrintConfig) = cli.command {
        print!(
            "{}",
            toml::to_string_pretty(&config).expect("config serializes")
        );
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Backup { .. } | Command::Restore { .. }) = &cli.command {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let done = runtime.block_on(async {
            match &cli.command {
                Some(Command::Backup { out, catalog_only }) => {
                    lightbulb_collector::backup::backup(&config, out, *catalog_only)
                        .await
                        .map(|s| format!("backed up {s} to {}", out.display()))
                }
                Some(Command::Restore { from, force }) => {
                    lightbulb_collector::backup::restore(&config, from, *force)
                        .await
                        .map(|s| format!("restored {s} from {}", from.display()))
                }
                _ => unreachable!("matched above"),
            }
        });
        return match done {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                let field = e.field().map(|f| format!("{f}: ")).unwrap_or_default();
                eprintln!("lightbulb-collector: {field}{e}");
                ExitCode::from(if e.code() == lightbulb_collector::ErrorCode::Invalid {
                    64
                } else {
                    1
                })
            }
        };
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(lightbulb_common::signal::cancel_on_signal(shutdown.clone()));
        match lightbulb_collector::run(config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "collector failed");
                eprintln!("lightbulb-collector: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// `lightbulb-collector catalog check`.
fn check_catalog(
    config: &CollectorConfig,
    file: Option<&PathBuf>,
    environment: Option<&str>,
    print: bool,
) -> ExitCode {
    let Some(file) = file.or(config.catalog.file.as_ref()) else {
        eprintln!("lightbulb-collector: no catalog file: name one, or set [catalog] file");
        return ExitCode::from(64);
    };
    let environment = environment.or(config.catalog.environment.as_deref());
    let targets =
        lightbulb_collector::catalog::targets::Targets::new(config.checks.deny_networks.clone())
            .unwrap_or_default();
    let checked = lightbulb_collector::catalog::file::check(
        file,
        environment,
        &targets,
        lightbulb_collector::file_alerting::check_alone,
    );
    match checked {
        Ok(c) => {
            if print {
                print!("{}", c.effective);
            }
            eprintln!(
                "catalog file `{}`{} is valid: {} services, {} relations, {} alert channels, {} alert rules",
                file.display(),
                environment
                    .map(|e| format!(" (environment {e})"))
                    .unwrap_or_default(),
                c.services,
                c.relations,
                c.channels,
                c.rules
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("{problems}");
            ExitCode::from(64)
        }
    }
}
