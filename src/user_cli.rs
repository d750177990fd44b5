//! `warroom user add|passwd|disable NAME`: local accounts for web sign-in, straight on the database.
//! The password is read from the terminal (asked twice), or from stdin's first line when stdin is not
//! a terminal, so that scripts and tests can pipe it.

use anyhow::Context;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use warroom::config::Config;
use warroom::engine::{AccountSaved, Engine, Hub, SignInError, SystemClock};

/// `warroom user …`
#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a local account (the name is the person id, as in `[[person]] id`), or reset its password.
    Add {
        /// The account name = the person id.
        name: String,
        /// The name shown when it is not a `[[person]]` of the catalog.
        #[arg(long = "name")]
        display_name: Option<String>,
    },
    /// Set a new password for an account.
    Passwd {
        /// The account name.
        name: String,
    },
    /// Refuse sign-in for an account and end its sessions.
    Disable {
        /// The account name.
        name: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn report(name: &str, what: &str, saved: &AccountSaved, config: &Config) {
    println!("{what} local account `{name}`");
    if !saved.in_directory {
        eprintln!(
            "note: `{name}` is not a [[person]] id in {}; it signs in as person `{name}` with no \
             directory entry (add a [[person]] with id = \"{name}\" to give it an e-mail, teams and roles)",
            config.catalog.path
        );
    }
    if !config.auth.local_accounts {
        eprintln!("note: auth.local_accounts is false: set it to true to allow local sign-in");
    }
}

/// Runs a `warroom user` command.
pub async fn run(cmd: UserCmd, config: Config) -> anyhow::Result<ExitCode> {
    let store = warroom::app::open_store(&config).await?;
    let catalog = warroom::catalog::load(&config.catalog.path)
        .with_context(|| format!("catalog.path: cannot load {}", config.catalog.path))?;
    let config = Arc::new(config);
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        Hub::default(),
        vec![warroom::engine::outbound::WEB.to_string()],
        config.clone(),
        Arc::new(catalog),
    );
    let signin = engine.signin();
    let result = match &cmd {
        UserCmd::Add { name, display_name } => {
            let password = read_password()?;
            signin
                .add_account(name, display_name.as_deref(), &password)
                .await
                .map(|saved| report(name, "saved", &saved, &config))
        }
        UserCmd::Passwd { name } => {
            let password = read_password()?;
            signin
                .set_password(name, &password)
                .await
                .map(|saved| report(name, "new password for", &saved, &config))
        }
        UserCmd::Disable { name } => signin
            .disable_account(name)
            .await
            .map(|()| println!("disabled local account `{name}`; its sessions are ended")),
    };
    store.close().await;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ SignInError::Invalid { .. }) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}
