//! Reading the configuration from defaults, file and environment.

use super::sections::Config;
use super::validate::validate;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use std::fmt;
use std::path::{Path, PathBuf};

/// The file used when `--config` is not given, if it exists.
pub const DEFAULT_PATH: &str = "config/warroom.toml";

/// One problem with the configuration, named by its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path (`slack.signing_secret`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One or more keys are wrong.
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Loads the configuration and refuses it if anything is wrong.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let (config, problems) = load_for_check(path);
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigError::Invalid(problems)),
    }
}

/// Loads the configuration and lists every problem found, by key.
pub fn load_for_check(path: Option<&Path>) -> (Option<Config>, Vec<Problem>) {
    let mut problems = Vec::new();
    let file = match path {
        Some(p) if !p.exists() => {
            problems.push(Problem {
                key: "--config".into(),
                message: format!("file {} does not exist", p.display()),
            });
            None
        }
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| p.exists()),
    };
    if let Some(file) = &file {
        problems.extend(unknown_keys(file));
    }
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = &file {
        figment = figment.merge(Toml::file(file));
    }
    figment = figment.merge(
        Env::prefixed("WARROOM_")
            .split("__")
            .ignore(&["test_postgres_url"]),
    );
    let mut config: Config = match figment.extract() {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                let key = if e.path.is_empty() {
                    "(file)".to_string()
                } else {
                    e.path.join(".")
                };
                problems.push(Problem {
                    key,
                    message: e.kind.to_string(),
                });
            }
            return (None, problems);
        }
    };
    resolve_secret_files(&mut config, &mut problems);
    problems.extend(validate(&config));
    (Some(config), problems)
}

/// Keys in the file that no section knows (usually typos).
fn unknown_keys(file: &Path) -> Vec<Problem> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return vec![Problem {
            key: "--config".into(),
            message: format!("cannot read {}", file.display()),
        }];
    };
    let mut unknown = Vec::new();
    let de = toml::Deserializer::new(&text);
    let parsed: Result<Config, _> = serde_ignored::deserialize(de, |path| {
        unknown.push(Problem {
            key: path.to_string(),
            message: "unknown key".into(),
        })
    });
    match parsed {
        Ok(_) => unknown,
        Err(e) => vec![Problem {
            key: "(file)".into(),
            message: e.message().to_string(),
        }],
    }
}

/// Replaces `file:/path` secret values by the file's trimmed contents.
fn resolve_secret_files(config: &mut Config, problems: &mut Vec<Problem>) {
    let mut secrets: Vec<(&str, &mut Option<String>)> = vec![
        ("slack.bot_token", &mut config.slack.bot_token),
        ("slack.signing_secret", &mut config.slack.signing_secret),
        ("discord.bot_token", &mut config.discord.bot_token),
        ("discord.public_key", &mut config.discord.public_key),
        (
            "ingest.alertmanager.token",
            &mut config.ingest.alertmanager.token,
        ),
        ("ingest.grafana.token", &mut config.ingest.grafana.token),
        ("ingest.alerts.token", &mut config.ingest.alerts.token),
        ("ingest.changes.token", &mut config.ingest.changes.token),
        ("ingest.argocd.token", &mut config.ingest.argocd.token),
        ("ingest.github.secret", &mut config.ingest.github.secret),
        ("oncall.calendar_secret", &mut config.oncall.calendar_secret),
    ];
    for (key, value) in secrets.iter_mut() {
        if let Some(path) = value.as_deref().and_then(|v| v.strip_prefix("file:")) {
            match std::fs::read_to_string(path) {
                Ok(s) => **value = Some(s.trim().to_string()),
                Err(e) => problems.push(Problem {
                    key: key.to_string(),
                    message: format!("cannot read {path}: {e}"),
                }),
            }
        }
    }
    for (i, token) in config.api.tokens.iter_mut().enumerate() {
        if let Some(path) = token.strip_prefix("file:") {
            match std::fs::read_to_string(path) {
                Ok(s) => *token = s.trim().to_string(),
                Err(e) => problems.push(Problem {
                    key: format!("api.tokens[{i}]"),
                    message: format!("cannot read {path}: {e}"),
                }),
            }
        }
    }
}
