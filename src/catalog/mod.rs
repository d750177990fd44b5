//! Loading the service catalog: `config/services.toml` and Backstage `catalog-info.yaml` files.

mod backstage;
mod schedules;

pub use backstage::{Imported, parse_backstage, parse_entities};

use crate::domain::catalog::{Catalog, CatalogError, Service};
use crate::domain::heartbeat::{Heartbeat, HeartbeatError, HeartbeatSpec};
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
    /// A heartbeat does not hold together.
    #[error("{0}")]
    Heartbeat(#[from] HeartbeatError),
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
    /// The heartbeats (dead man's switches).
    heartbeat: Vec<HeartbeatSpec>,
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
    let catalog = Catalog::new(entries.services)?
        .with_directory(directory)
        .with_schedules(schedules)
        .with_escalations(escalations);
    let heartbeats = Heartbeat::build_all(&entries.heartbeats, &catalog)?;
    Ok(catalog.with_heartbeats(heartbeats))
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
    heartbeats: Vec<HeartbeatSpec>,
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

fn parse_yaml(path: &Path) -> Result<Imported, LoadError> {
    let text = read(path)?;
    parse_entities(&text).map_err(|message| LoadError::Yaml {
        path: path.to_path_buf(),
        message,
    })
}

fn read_entries(path: &Path) -> Result<Entries, LoadError> {
    if is_yaml(path) {
        let mut entries = Entries::default();
        merge(&mut entries, vec![parse_yaml(path)?]);
        return Ok(entries);
    }
    let text = read(path)?;
    let file: ServicesFile = toml::from_str(&text).map_err(|e| LoadError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let imports = file
        .import
        .iter()
        .map(|import| parse_yaml(&dir.join(import)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entries = Entries {
        services: file.service,
        people: file.person,
        teams: file.team,
        schedules: file.schedule,
        escalations: file.escalation,
        heartbeats: file.heartbeat,
    };
    merge(&mut entries, imports);
    Ok(entries)
}

/// Whether two people are the same human: one e-mail address or platform identity.
fn same_person(a: &Person, b: &Person) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| matches!((x, y), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
    eq(&a.email, &b.email) || eq(&a.slack, &b.slack) || eq(&a.discord, &b.discord)
}

/// Adds imported entries after the written ones: a written entry wins over an imported one of the
/// same name, an imported user who is a written person (same e-mail or platform id) is that person,
/// and an imported group keeps only members the directory knows.
fn merge(entries: &mut Entries, imports: Vec<Imported>) {
    let mut alias: std::collections::BTreeMap<String, String> = Default::default();
    let mut teams = Vec::new();
    for imported in imports {
        for s in imported.services {
            if !entries.services.iter().any(|x| x.name == s.name) {
                entries.services.push(s);
            }
        }
        for p in imported.people {
            if entries.people.iter().any(|x| x.id == p.id) {
                continue;
            }
            match entries.people.iter().find(|x| same_person(x, &p)) {
                Some(known) => {
                    tracing::info!(imported = %p.id, person = %known.id, "Backstage user is a known person");
                    alias.insert(p.id, known.id.clone());
                }
                None => entries.people.push(p),
            }
        }
        teams.extend(imported.teams);
    }
    // A written team may name an imported user who turned out to be a written person.
    for t in &mut entries.teams {
        for m in &mut t.members {
            if let Some(known) = alias.get(m) {
                *m = known.clone();
            }
        }
    }
    for mut t in teams {
        if entries.teams.iter().any(|x| x.id == t.id) {
            continue;
        }
        let mut members = Vec::new();
        for m in t.members.drain(..) {
            let m = alias.get(&m).cloned().unwrap_or(m);
            if !entries.people.iter().any(|p| p.id == m) {
                tracing::warn!(team = %t.id, member = %m, "Backstage group member is not a known user; left out");
            } else if !members.contains(&m) {
                members.push(m);
            }
        }
        t.members = members;
        entries.teams.push(t);
    }
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
    fn heartbeats_load_beside_the_services() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("services.toml");
        std::fs::write(
            &p,
            "[[service]]\nname = \"checkout\"\n[[heartbeat]]\nname = \"prometheus\"\n\
             service = \"checkout\"\ninterval = \"5m\"\nseverity = \"P2\"\n",
        )
        .unwrap();
        let c = load(p.to_str().unwrap()).unwrap();
        let hb = c.heartbeat("prometheus").unwrap();
        assert_eq!(hb.service, "checkout");
        assert_eq!(hb.interval, chrono::Duration::minutes(5));
        assert_eq!(hb.severity, crate::domain::Severity::P2);
        std::fs::write(
            &p,
            "[[heartbeat]]\nname = \"prometheus\"\nservice = \"ghost\"\ninterval = \"5m\"\n",
        )
        .unwrap();
        assert_eq!(
            load(p.to_str().unwrap()).unwrap_err().to_string(),
            "heartbeat `prometheus`: service `ghost` is not a [[service]]"
        );
    }

    const FIXTURES: &str = "../shared/fixtures/realworld/backstage";

    #[test]
    fn every_real_backstage_file_loads() {
        for entry in std::fs::read_dir(FIXTURES).unwrap() {
            let p = entry.unwrap().path();
            if is_yaml(&p) {
                load(p.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
        }
    }

    #[test]
    fn backstage_users_and_groups_become_people_and_teams() {
        let c = load(&format!(
            "{FIXTURES}/examples-acme-team-a-group.multidoc.yaml"
        ))
        .unwrap();
        let d = c.directory();
        assert_eq!(
            d.len(),
            4,
            "the second `guest` (namespace development) is the same name"
        );
        let janelle = d.get("janelle.dawe").unwrap();
        assert_eq!(janelle.name.as_deref(), Some("Janelle Dawe"));
        assert_eq!(janelle.email.as_deref(), Some("janelle-dawe@example.com"));
        assert_eq!(d.get("breanna.davison").unwrap().name, None);
        assert_eq!(d.get("guest").unwrap().name.as_deref(), Some("Guest User"));
        let team = d.team("team-a").unwrap();
        assert_eq!(team.email.as_deref(), Some("team-a@example.com"));
        assert_eq!(
            team.members,
            ["breanna.davison", "janelle.dawe", "nigel.manning", "guest"]
        );
    }

    #[test]
    fn written_people_win_over_imported_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            format!("{FIXTURES}/examples-acme-team-a-group.multidoc.yaml"),
            dir.path().join("team-a.yaml"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("more.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ops.bot\n  annotations:\n    \
             slack.com/user-id: U0OPS0001\n    warroom.io/discord: \"112233\"\n    warroom.io/timezone: Asia/Tokyo\n\
             spec:\n  profile: {displayName: Ops}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\n\
             metadata: {name: ops}\nspec:\n  type: team\n  children: []\n  members: [user:default/ops.bot, janelle.dawe, ghost]\n",
        )
        .unwrap();
        let p = dir.path().join("services.toml");
        std::fs::write(
            &p,
            "import = [\"team-a.yaml\", \"more.yaml\"]\n[[person]]\nid = \"nigel.manning\"\nname = \"Nigel M.\"\n\
             [[person]]\nid = \"jd\"\nemail = \"Janelle-Dawe@example.com\"\nslack = \"U0JD00001\"\n\
             [[team]]\nid = \"written\"\nmembers = [\"janelle.dawe\", \"ops.bot\"]\n",
        )
        .unwrap();
        let c = load(p.to_str().unwrap()).unwrap();
        let d = c.directory();
        assert_eq!(
            d.get("nigel.manning").unwrap().name.as_deref(),
            Some("Nigel M.")
        );
        assert!(
            d.get("janelle.dawe").is_none(),
            "the same e-mail is the written person"
        );
        let ops = d.get("ops.bot").unwrap();
        assert_eq!(ops.slack.as_deref(), Some("U0OPS0001"));
        assert_eq!(ops.discord.as_deref(), Some("112233"));
        assert_eq!(ops.timezone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(d.team("ops").unwrap().members, ["ops.bot", "jd"]);
        assert_eq!(d.teams_of("jd"), ["ops", "team-a", "written"]);
        assert_eq!(d.team("written").unwrap().members, ["jd", "ops.bot"]);
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
