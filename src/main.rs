//! The `warroom` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use warroom::config;
use warroom::telemetry::{self, LogFormat};

/// mimalloc: the hot ingest path allocates many small labels maps; glibc malloc contends under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// warroom: incident war rooms, alerts and changes in one service.
#[derive(Parser)]
#[command(name = "warroom", version, about)]
struct Cli {
    /// Configuration file (default: config/warroom.toml if present).
    #[arg(long, global = true, env = "WARROOM_CONFIG")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Check a configuration file; lists every problem by key and exits non-zero if there is any.
    CheckConfig {
        /// The file to check (default: --config, else config/warroom.toml).
        file: Option<PathBuf>,
    },
    /// Benchmarks (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Alert ingest over HTTP (10-alert Alertmanager batches), side by side with Alertmanager if installed.
    Ingest {
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds each side is loaded.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// PostgreSQL URL to bench on (a fresh schema is made); default a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Distinct fingerprints cycled through.
        #[arg(long, default_value_t = 1000)]
        fingerprints: usize,
        /// Distinct services.
        #[arg(long, default_value_t = 20)]
        services: usize,
        /// Skip the Alertmanager side.
        #[arg(long)]
        no_peer: bool,
    },
    /// Latency from a new alert to its committed incident (group_wait 0s).
    FirstAlert {
        /// Alerts, one new service each.
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// PostgreSQL URL; default a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// An alert storm: incidents opened, alerts lost, time to drain.
    Storm {
        /// Alerts in total.
        #[arg(long, default_value_t = 100_000)]
        alerts: usize,
        /// Distinct fingerprints.
        #[arg(long, default_value_t = 1000)]
        fingerprints: usize,
        /// Distinct services.
        #[arg(long, default_value_t = 20)]
        services: usize,
        /// Seconds the storm lasts.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// PostgreSQL URL; default a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { listen } => {
            let mut config = config::load(cli.config.as_deref())?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            warroom::app::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = config::load(cli.config.as_deref())?;
            let store = warroom::app::open_store(&config).await.context("migrate")?;
            store.close().await;
            println!(
                "migrations applied to {}",
                warroom::app::redact(&config.database.url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { what } => {
            match what {
                BenchCommand::Ingest {
                    connections,
                    seconds,
                    database_url,
                    fingerprints,
                    services,
                    no_peer,
                } => {
                    warroom::bench::ingest(warroom::bench::IngestOptions {
                        connections,
                        duration: std::time::Duration::from_secs(seconds),
                        database_url,
                        fingerprints,
                        services,
                        peer: !no_peer,
                    })
                    .await?
                }
                BenchCommand::FirstAlert {
                    count,
                    database_url,
                } => warroom::bench::first_alert(count, database_url).await?,
                BenchCommand::Storm {
                    alerts,
                    fingerprints,
                    services,
                    seconds,
                    connections,
                    database_url,
                } => {
                    warroom::bench::storm(warroom::bench::StormOptions {
                        alerts,
                        fingerprints,
                        services,
                        seconds,
                        connections,
                        database_url,
                    })
                    .await?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => {
            let path = file.or(cli.config);
            let (_, problems) = config::load_for_check(path.as_deref());
            if problems.is_empty() {
                println!("configuration is valid");
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &problems {
                    println!("{p}");
                }
                eprintln!("{} problem(s) found", problems.len());
                Ok(ExitCode::from(2))
            }
        }
    }
}
