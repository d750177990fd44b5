//! Reading the configuration from defaults, file and environment.

use super::sections::Config;
use super::validate::validate;
use figment::Figment;
use figment::error::{Actual, Kind};
use figment::providers::{Format, Serialized, Toml};
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
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = &file {
        figment = figment.merge(Toml::file(file));
    }
    figment = super::env::merge_env(figment, &defaults);
    let mut config: Config = match figment.extract() {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                let key = if e.path.is_empty() {
                    "(file)".to_string()
                } else {
                    e.path.join(".")
                };
                let message = describe(&e.kind, &e.path, &defaults);
                problems.push(Problem { key, message });
            }
            return (None, problems);
        }
    };
    super::secrets::resolve_secret_files(&mut config, &mut problems);
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
        // A type error: figment names the key without printing the value (it may be a secret).
        Err(_) if text.parse::<toml::Table>().is_ok() => unknown,
        Err(e) => vec![Problem {
            key: "(file)".into(),
            message: e.message().to_string(),
        }],
    }
}

/// A figment error without the offending value, unless the key is a number or boolean (never a
/// secret): "invalid type: found unsigned int 123456" must not print a signing secret.
fn describe(kind: &Kind, path: &[String], defaults: &serde_json::Value) -> String {
    let typed = path
        .iter()
        .try_fold(defaults, |at, k| at.get(k))
        .is_some_and(|v| v.is_number() || v.is_boolean());
    let what = |a: &Actual| match a {
        Actual::Bool(_) => "a boolean".to_string(),
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer".to_string(),
        Actual::Float(_) => "a number".to_string(),
        Actual::Char(_) | Actual::Str(_) => "a string".to_string(),
        Actual::Bytes(_) => "bytes".to_string(),
        other => other.to_string(),
    };
    match kind {
        Kind::InvalidType(a, expected) if !typed => {
            format!(
                "invalid type: found {} (value not shown), expected {expected}",
                what(a)
            )
        }
        Kind::InvalidValue(a, expected) if !typed => {
            format!(
                "invalid value: found {} (value not shown), expected {expected}",
                what(a)
            )
        }
        Kind::UnknownVariant(_, expected) if !typed => {
            format!("unknown variant (value not shown), expected one of {expected:?}")
        }
        other => other.to_string(),
    }
}
