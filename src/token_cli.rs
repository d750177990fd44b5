//! `warroom token create|list|revoke`: API tokens that belong to a person or a service account.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use std::process::ExitCode;
use std::sync::Arc;
use warroom::config::Config;
use warroom::domain::token::{Scopes, TokenOwner};
use warroom::engine::tokens::{NewToken, Tokens};
use warroom::engine::{EngineError, SystemClock};

/// `warroom token …`
#[derive(Subcommand)]
pub enum TokenCmd {
    /// Make a token; prints it once (store it now: only its hash is kept).
    Create {
        /// The directory person it acts as (`[[person]] id`).
        #[arg(
            long,
            required_unless_present = "service_account",
            conflicts_with = "service_account"
        )]
        person: Option<String>,
        /// A service account it acts as instead (`ci`).
        #[arg(long)]
        service_account: Option<String>,
        /// Comma-separated scopes: incidents:read, incidents:write, changes:read, changes:write, alerts:read,
        /// reports:read, people:read, audit:read, admin, act-as.
        #[arg(long, required = true)]
        scope: String,
        /// What it is for (default: the owner).
        #[arg(long)]
        name: Option<String>,
        /// How long it works (`90d`, `12h`); default until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by id or prefix; it stops working at once.
    Revoke {
        /// The id or prefix `warroom token list` shows.
        id: String,
    },
}

/// Runs a `token` subcommand against the configured database.
pub async fn run(cmd: TokenCmd, config: Config) -> anyhow::Result<ExitCode> {
    let catalog = warroom::catalog::load(&config.catalog.path)
        .with_context(|| format!("catalog.path: cannot load {}", config.catalog.path))?;
    let store = warroom::app::open_store(&config).await?;
    let tokens = Tokens::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(config),
        Arc::new(catalog),
    );
    let result = execute(&tokens, cmd).await;
    store.close().await;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Refused(message)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(2))
        }
    }
}

/// A refusal the operator can fix (exit 2).
struct Refused(String);

impl From<EngineError> for Refused {
    fn from(e: EngineError) -> Refused {
        Refused(e.to_string())
    }
}

async fn execute(tokens: &Tokens, cmd: TokenCmd) -> Result<(), Refused> {
    match cmd {
        TokenCmd::Create {
            person,
            service_account,
            scope,
            name,
            expires,
        } => {
            let owner = match (person, service_account) {
                (Some(p), _) => TokenOwner::Person(p),
                (None, Some(s)) => TokenOwner::Service(s),
                (None, None) => return Err(Refused("give --person or --service-account".into())),
            };
            let scopes =
                Scopes::parse_list(&scope).map_err(|e| Refused(format!("--scope: {e}")))?;
            let expires_in = expires
                .map(|e| {
                    humantime::parse_duration(&e)
                        .map_err(|_| Refused(format!("--expires: `{e}` is not like 90d, 12h")))
                })
                .transpose()?;
            let created = tokens
                .create(NewToken {
                    owner,
                    scopes,
                    name,
                    expires_in,
                })
                .await?;
            let t = &created.token;
            eprintln!(
                "token {} ({}) for {} with {}{}; it is shown only this once:",
                t.id,
                t.prefix,
                t.owner,
                t.scopes,
                t.expires_at
                    .map(|e| format!(", expires {}", when(e)))
                    .unwrap_or_default()
            );
            println!("{}", created.secret);
        }
        TokenCmd::List => {
            let now = Utc::now();
            let list = tokens.list().await?;
            println!(
                "{:<4} {:<12} {:<20} {:<22} {:<8} {:<17} {:<17} {:<17} SCOPES",
                "ID", "PREFIX", "NAME", "OWNER", "STATE", "CREATED", "LAST USED", "EXPIRES"
            );
            for t in list {
                println!(
                    "{:<4} {:<12} {:<20} {:<22} {:<8} {:<17} {:<17} {:<17} {}",
                    t.id,
                    t.prefix,
                    t.name,
                    t.owner.to_string(),
                    t.state(now),
                    when(t.created_at),
                    t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
                    t.expires_at.map(when).unwrap_or_else(|| "never".into()),
                    t.scopes
                );
            }
        }
        TokenCmd::Revoke { id } => {
            let t = tokens.revoke(&id).await?;
            println!("revoked token {} ({}) of {}", t.id, t.prefix, t.owner);
        }
    }
    Ok(())
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}
