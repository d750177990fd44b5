//! The `warroom` command line.

mod bench_cli;
mod change_cli;
mod token_cli;
mod user_cli;

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
    /// Record changes and ask the change gate (talks to a running warroom over HTTP).
    Change {
        #[command(subcommand)]
        cmd: Box<change_cli::ChangeCmd>,
    },
    /// API tokens that belong to a person or a service account.
    Token {
        #[command(subcommand)]
        cmd: token_cli::TokenCmd,
    },
    /// Local accounts for web sign-in (`auth.local_accounts`).
    User {
        #[command(subcommand)]
        cmd: user_cli::UserCmd,
    },
    /// Print the postmortem draft of an incident.
    Postmortem {
        /// The incident number.
        id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: PostmortemFormat,
    },
    /// Slack set-up helpers.
    Slack {
        #[command(subcommand)]
        command: SlackCommand,
    },
    /// Discord set-up helpers.
    Discord {
        #[command(subcommand)]
        command: DiscordCommand,
    },
    /// Benchmarks (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// A scripted end-to-end run on a throw-away database: alert storm, incident, war room, postmortem.
    Demo {
        /// Keep the temporary directory (database and catalog) and print its path.
        #[arg(long)]
        keep: bool,
    },
}

/// How `warroom postmortem` prints the draft.
#[derive(Clone, Copy, clap::ValueEnum)]
enum PostmortemFormat {
    /// Markdown, through the `postmortem.md` template.
    Md,
    /// The JSON draft.
    Json,
}

#[derive(Subcommand)]
enum SlackCommand {
    /// Print a Slack app manifest (JSON) for server.public_url.
    Manifest,
}

#[derive(Subcommand)]
enum DiscordCommand {
    /// Register /inc, /oncall and /change (a bulk overwrite: running it again changes nothing).
    RegisterCommands {
        /// Register in this guild only (instant) instead of globally; default discord.guild_id if
        /// set, `--global` for every server.
        #[arg(long)]
        guild: Option<String>,
        /// Register globally even when discord.guild_id is set.
        #[arg(long, conflicts_with = "guild")]
        global: bool,
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
    /// Default configuration: critical alert → room creation request at a local Slack-like server, and
    /// resolution → `alert_resolved`.
    FirstAlert {
        /// Alerts, one new service each.
        #[arg(long, default_value_t = 40)]
        count: usize,
        /// Milliseconds between alerts (Slack allows a burst of 20 room creations, then one every 3 s).
        #[arg(long, default_value_t = 2000)]
        interval_ms: u64,
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
    if matches!(cli.command, Command::Demo { .. }) {
        // The demo narrates on stdout; only warnings go to stderr unless RUST_LOG says otherwise.
        telemetry::init_with(cli.log_format, "warn");
    } else {
        telemetry::init(cli.log_format);
    }
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
        Command::Change { cmd } => change_cli::run(*cmd).await,
        Command::Token { cmd } => token_cli::run(cmd, config::load(cli.config.as_deref())?).await,
        Command::User { cmd } => user_cli::run(cmd, config::load(cli.config.as_deref())?).await,
        Command::Slack {
            command: SlackCommand::Manifest,
        } => {
            let config = config::load(cli.config.as_deref())?;
            let Some(url) = config.server.public_url.as_deref() else {
                anyhow::bail!(
                    "server.public_url is not set: Slack must reach warroom at a public https URL \
                     (set it in the config or WARROOM_SERVER__PUBLIC_URL)"
                );
            };
            let manifest =
                warroom::chat::slack::manifest::manifest(url).map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Discord {
            command: DiscordCommand::RegisterCommands { guild, global },
        } => {
            let config = config::load(cli.config.as_deref())?;
            let d = &config.discord;
            let (Some(token), Some(app)) = (d.bot_token.as_deref(), d.application_id.as_deref())
            else {
                anyhow::bail!(
                    "discord.bot_token and discord.application_id must be set to register commands"
                );
            };
            let guild = if global {
                None
            } else {
                guild.or_else(|| d.guild_id.clone())
            };
            let client = warroom::chat::discord::DiscordClient::new(&d.api_url, token, app);
            let defs = warroom::chat::discord::commands::definitions();
            let registered = client
                .register_commands(guild.as_deref(), &defs)
                .await
                .map_err(|e| anyhow::anyhow!("Discord refused the commands: {e}"))?;
            let names: Vec<&str> = registered
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            match guild {
                Some(g) => println!("registered /{} in guild {g}", names.join(", /")),
                None => println!(
                    "registered /{} globally (may take up to an hour to show)",
                    names.join(", /")
                ),
            }
            println!(
                "add the bot to a server: {}",
                warroom::chat::discord::invite_url(app)
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
                    bench_cli::ingest(bench_cli::IngestOptions {
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
                    interval_ms,
                    database_url,
                } => {
                    bench_cli::first_alert(bench_cli::FirstAlertOptions {
                        count,
                        interval: std::time::Duration::from_millis(interval_ms),
                        database_url,
                    })
                    .await?
                }
                BenchCommand::Storm {
                    alerts,
                    fingerprints,
                    services,
                    seconds,
                    connections,
                    database_url,
                } => {
                    bench_cli::storm(bench_cli::StormOptions {
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
        Command::Demo { keep } => {
            warroom::demo::run(keep).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Postmortem { id, format } => {
            let config = config::load(cli.config.as_deref())?;
            print_postmortem(config, id, format).await
        }
    }
}

/// Opens the configured database, builds the draft and prints it.
async fn print_postmortem(
    config: config::Config,
    id: i64,
    format: PostmortemFormat,
) -> anyhow::Result<ExitCode> {
    use std::sync::Arc;
    use warroom::engine::{Engine, EngineError, Hub, SystemClock};
    let store = warroom::app::open_store(&config).await?;
    let renderer = warroom::render::Renderer::new(config.templates.dir.clone().map(Into::into))
        .with_public_url(config.server.public_url.as_deref());
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        Hub::default(),
        vec![warroom::engine::outbound::WEB.to_string()],
        Arc::new(config),
        Arc::new(warroom::domain::Catalog::default()),
    );
    let result = engine.postmortem(id).await;
    store.close().await;
    let pm = match result {
        Ok(pm) => pm,
        Err(EngineError::NotFound(_)) => {
            eprintln!("error: incident {id} not found");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    match format {
        PostmortemFormat::Json => println!("{}", serde_json::to_string_pretty(&pm)?),
        PostmortemFormat::Md => println!("{}", renderer.postmortem_markdown(&pm)?),
    }
    Ok(ExitCode::SUCCESS)
}
