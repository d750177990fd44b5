//! Loading the service catalog: `config/services.toml` and Backstage `catalog-info.yaml` files.

mod backstage;
mod schedules;

pub use backstage::parse_backstage;

use crate::domain::catalog::{Catalog, CatalogError, Service};
use crate::domain::oncall::escalation::{EscalationError, EscalationSpec};
use crate::domain::oncall::{ScheduleError, ScheduleSpec};
use crate::domain::people::{Directory, PeopleError, Person, Team};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The catalog path used when `catalog.path` is not set; a missing file there means an empty catalog.
pub const DEFAULT_PATH: &str = "config/services.toml";

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML does not parse.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The YAML does not parse.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The entries do not hold together.
    #[error("{0}")]
    Invalid(#[from] CatalogError),
    /// The people and teams do not hold together.
    #[error("{0}")]
    People(#[from] PeopleError),
    /// A schedule does not hold together.
    #[error("{0}")]
    Schedule(#[from] ScheduleError),
    /// An escalation policy does not hold together.
    #[error("{0}")]
    Escalation(#[from] EscalationError),
}

/// `services.toml`: `[[service]]` tables, plus Backstage files to import.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ServicesFile {
    /// The services.
    service: Vec<Service>,
    /// Backstage `catalog-info.yaml` files, relative to this file.
    import: Vec<String>,
    /// The people.
    person: Vec<Person>,
    /// The teams.
    team: Vec<Team>,
    /// The on-call schedules.
    schedule: Vec<ScheduleSpec>,
    /// The escalation policies.
    escalation: Vec<EscalationSpec>,
}

/// Loads the catalog at `path` (TOML, or a Backstage YAML file); a missing default file is an empty catalog.
pub fn load(path: &str) -> Result<Catalog, LoadError> {
    let p = Path::new(path);
    if !p.exists() && path == DEFAULT_PATH {
        return Ok(Catalog::default());
    }
    let entries = read_entries(p)?;
    let directory = Directory::new(entries.people, entries.teams)?;
    let feeds = read_feeds(p, &entries.schedules)?;
    let schedules = schedules::build(&entries.schedules, &directory, &feeds, &entries.services)?;
    let escalations = schedules::policies(
        &entries.escalations,
        &directory,
        &schedules,
        &entries.services,
    )?;
    Ok(Catalog::new(entries.services)?
        .with_directory(directory)
        .with_schedules(schedules)
        .with_escalations(escalations))
}

/// Reads every layer's `ical` feed, relative to the catalog file, keyed as written.
fn read_feeds(
    catalog: &Path,
    specs: &[ScheduleSpec],
) -> Result<BTreeMap<String, String>, LoadError> {
    let dir = catalog.parent().unwrap_or(Path::new("."));
    let mut feeds = BTreeMap::new();
    for path in specs
        .iter()
        .flat_map(|s| &s.layer)
        .filter_map(|l| l.ical.as_ref())
    {
        if !feeds.contains_key(path) {
            feeds.insert(path.clone(), read(&dir.join(path))?);
        }
    }
    Ok(feeds)
}

/// What a catalog file (and its imports) holds.
#[derive(Debug, Default)]
struct Entries {
    services: Vec<Service>,
    people: Vec<Person>,
    teams: Vec<Team>,
    schedules: Vec<ScheduleSpec>,
    escalations: Vec<EscalationSpec>,
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn read_entries(path: &Path) -> Result<Entries, LoadError> {
    let text = read(path)?;
    if is_yaml(path) {
        let services = parse_backstage(&text).map_err(|message| LoadError::Yaml {
            path: path.to_path_buf(),
            message,
        })?;
        return Ok(Entries {
            services,
            ..Entries::default()
        });
    }
    let file: ServicesFile = toml::from_str(&text).map_err(|e| LoadError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut services = file.service;
    let dir = path.parent().unwrap_or(Path::new("."));
    for import in &file.import {
        let p = dir.join(import);
        let text = read(&p)?;
        let imported = parse_backstage(&text).map_err(|message| LoadError::Yaml {
            path: p.clone(),
            message,
        })?;
        for s in imported {
            // Entries written in services.toml win over imported ones of the same name.
            if !services.iter().any(|x| x.name == s.name) {
                services.push(s);
            }
        }
    }
    Ok(Entries {
        services,
        people: file.person,
        teams: file.team,
        schedules: file.schedule,
        escalations: file.escalation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_a_backstage_import_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("catalog-info.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\n\
             spec:\n  type: service\n  owner: group:default/pay\n  dependsOn: [\"resource:default/db\"]\n",
        )
        .unwrap();
        let toml_path = dir.path().join("services.toml");
        std::fs::write(
            &toml_path,
            "import = [\"catalog-info.yaml\"]\n[[service]]\nname = \"db\"\nowner = \"dba\"\ntier = 1\n\
             runbook = \"https://runbooks/db\"\n",
        )
        .unwrap();
        let c = load(toml_path.to_str().unwrap()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("payments").unwrap().owner.as_deref(), Some("pay"));
        assert_eq!(c.dependents("db"), ["payments".to_string()].into());
    }

    #[test]
    fn people_and_teams_load_with_numeric_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("services.toml");
        std::fs::write(
            &p,
            "[[service]]\nname = \"checkout\"\nowner = \"payments\"\nescalation = \"payments\"\n\
             [[person]]\nid = \"alice\"\nname = \"Alice Ng\"\nemail = \"alice@example.com\"\n\
             slack = \"U0123ABCD\"\ndiscord = 112233445566778899\n\
             notify = [{ via = \"dm\", after = \"0m\" }, { via = \"webhook\", after = \"2m\" }]\n\
             [[person]]\nid = \"bob\"\n[[team]]\nid = \"payments\"\nmembers = [\"alice\", \"bob\"]\n",
        )
        .unwrap();
        let c = load(p.to_str().unwrap()).unwrap();
        let d = c.directory();
        assert_eq!(d.by_discord("112233445566778899").unwrap().id, "alice");
        assert_eq!(d.get("alice").unwrap().notify.len(), 2);
        assert_eq!(d.teams_of("alice"), vec!["payments".to_string()]);
        assert_eq!(
            c.get("checkout").unwrap().escalation.as_deref(),
            Some("payments")
        );
        std::fs::write(&p, "[[team]]\nid = \"t\"\nmembers = [\"ghost\"]\n").unwrap();
        assert_eq!(
            load(p.to_str().unwrap()).unwrap_err().to_string(),
            "team `t`: member `ghost` is not a [[person]]"
        );
    }

    #[test]
    fn problems_name_the_file() {
        assert!(load(DEFAULT_PATH).is_ok() || Path::new(DEFAULT_PATH).exists());
        let err = load("/nonexistent/services.toml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/services.toml"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("services.toml");
        std::fs::write(&p, "[[service]]\nname = \"a\"\n[[service]]\nname = \"a\"\n").unwrap();
        assert_eq!(
            load(p.to_str().unwrap()).unwrap_err().to_string(),
            "service `a` is defined twice"
        );
    }
}
