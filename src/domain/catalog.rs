//! The service catalog: owners, on-call, rooms, runbooks and the dependency graph.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One service as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Service {
    /// Unique name (`checkout`).
    pub name: String,
    /// Owning team.
    pub owner: Option<String>,
    /// On-call schedule that is paged for it.
    pub oncall: Option<String>,
    /// Escalation policy that pages for it.
    pub escalation: Option<String>,
    /// Chat channel of the owning team.
    pub channel: Option<String>,
    /// Services this one needs to work.
    pub depends_on: Vec<String>,
    /// Runbook URL.
    pub runbook: Option<String>,
    /// Criticality tier (1 = most critical).
    pub tier: Option<u8>,
    /// Availability objective in percent (99.9).
    pub slo: Option<f64>,
    /// Free-form description.
    pub description: Option<String>,
}

/// A catalog entry that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Two entries share a name.
    #[error("service `{0}` is defined twice")]
    Duplicate(String),
    /// An entry has no name.
    #[error("a service has no name")]
    Unnamed,
    /// An SLO outside (0, 100).
    #[error("service `{0}`: slo must be a percentage between 0 and 100")]
    BadSlo(String),
}

/// All known services, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalog {
    services: BTreeMap<String, Service>,
    directory: super::people::Directory,
    #[serde(skip)]
    schedules: BTreeMap<String, super::oncall::Schedule>,
    #[serde(skip)]
    escalations: BTreeMap<String, super::oncall::escalation::EscalationPolicy>,
    #[serde(skip)]
    heartbeats: BTreeMap<String, super::heartbeat::Heartbeat>,
}

impl Catalog {
    /// Builds a catalog, refusing duplicates, nameless entries and impossible SLOs.
    pub fn new(services: Vec<Service>) -> Result<Catalog, CatalogError> {
        let mut map = BTreeMap::new();
        for s in services {
            if s.name.trim().is_empty() {
                return Err(CatalogError::Unnamed);
            }
            if s.slo.is_some_and(|v| !(v > 0.0 && v < 100.0)) {
                return Err(CatalogError::BadSlo(s.name));
            }
            if map.contains_key(&s.name) {
                return Err(CatalogError::Duplicate(s.name));
            }
            map.insert(s.name.clone(), s);
        }
        Ok(Catalog {
            services: map,
            directory: super::people::Directory::default(),
            schedules: BTreeMap::new(),
            escalations: BTreeMap::new(),
            heartbeats: BTreeMap::new(),
        })
    }

    /// The same catalog with `directory` as its people and teams.
    pub fn with_directory(mut self, directory: super::people::Directory) -> Catalog {
        self.directory = directory;
        self
    }

    /// The people and teams.
    pub fn directory(&self) -> &super::people::Directory {
        &self.directory
    }

    /// The same catalog with `schedules` as its on-call schedules (by name).
    pub fn with_schedules(
        mut self,
        schedules: BTreeMap<String, super::oncall::Schedule>,
    ) -> Catalog {
        self.schedules = schedules;
        self
    }

    /// The on-call schedules, by name.
    pub fn schedules(&self) -> impl Iterator<Item = &super::oncall::Schedule> {
        self.schedules.values()
    }

    /// One on-call schedule.
    pub fn schedule(&self, name: &str) -> Option<&super::oncall::Schedule> {
        self.schedules.get(name)
    }

    /// The same catalog with `escalations` as its escalation policies (by name).
    pub fn with_escalations(
        mut self,
        escalations: BTreeMap<String, super::oncall::escalation::EscalationPolicy>,
    ) -> Catalog {
        self.escalations = escalations;
        self
    }

    /// The escalation policies, by name.
    pub fn escalations(
        &self,
    ) -> impl Iterator<Item = &super::oncall::escalation::EscalationPolicy> {
        self.escalations.values()
    }

    /// One escalation policy.
    pub fn escalation(&self, name: &str) -> Option<&super::oncall::escalation::EscalationPolicy> {
        self.escalations.get(name)
    }

    /// The same catalog with `heartbeats` as its heartbeats (by name).
    pub fn with_heartbeats(
        mut self,
        heartbeats: BTreeMap<String, super::heartbeat::Heartbeat>,
    ) -> Catalog {
        self.heartbeats = heartbeats;
        self
    }

    /// The heartbeats, by name.
    pub fn heartbeats(&self) -> impl Iterator<Item = &super::heartbeat::Heartbeat> {
        self.heartbeats.values()
    }

    /// One heartbeat.
    pub fn heartbeat(&self, name: &str) -> Option<&super::heartbeat::Heartbeat> {
        self.heartbeats.get(name)
    }

    /// One service.
    pub fn get(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    /// Every service, by name.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// How many services there are.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Everything `name` depends on, directly or not (not including itself).
    pub fn dependencies(&self, name: &str) -> BTreeSet<String> {
        self.walk(name, |s| s.depends_on.clone())
    }

    /// Everything that depends on `name`, directly or not (not including itself): the impact.
    pub fn dependents(&self, name: &str) -> BTreeSet<String> {
        self.walk(name, |s| {
            self.services
                .values()
                .filter(|o| o.depends_on.contains(&s.name))
                .map(|o| o.name.clone())
                .collect()
        })
    }

    /// Whether `a` and `b` are the same service or one depends on the other (transitively).
    pub fn related(&self, a: &str, b: &str) -> bool {
        a == b || self.dependencies(a).contains(b) || self.dependencies(b).contains(a)
    }

    /// Breadth-first walk from `start` along `next`, cycle-safe.
    fn walk(&self, start: &str, next: impl Fn(&Service) -> Vec<String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<String> = VecDeque::from([start.to_string()]);
        while let Some(name) = queue.pop_front() {
            let neighbours = match self.services.get(&name) {
                Some(s) => next(s),
                None if name == start => Vec::new(),
                None => continue,
            };
            for n in neighbours {
                if n != start && seen.insert(n.clone()) {
                    queue.push_back(n);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, deps: &[&str]) -> Service {
        Service {
            name: name.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..Service::default()
        }
    }

    fn catalog() -> Catalog {
        Catalog::new(vec![
            svc("web", &["checkout"]),
            svc("checkout", &["payments", "db"]),
            svc("payments", &["db"]),
            svc("db", &[]),
            svc("search", &[]),
            svc("loop-a", &["loop-b"]),
            svc("loop-b", &["loop-a"]),
        ])
        .unwrap()
    }

    #[test]
    fn dependencies_and_dependents_are_transitive_and_cycle_safe() {
        let c = catalog();
        assert_eq!(
            c.dependencies("web"),
            ["checkout", "db", "payments"].map(String::from).into()
        );
        assert_eq!(
            c.dependents("db"),
            ["checkout", "payments", "web"].map(String::from).into()
        );
        assert_eq!(
            c.dependencies("loop-a"),
            ["loop-b"].map(String::from).into()
        );
        assert!(c.related("web", "db"));
        assert!(c.related("db", "web"));
        assert!(!c.related("search", "db"));
        assert!(c.dependents("unknown").is_empty());
    }

    #[test]
    fn bad_catalogs_are_refused() {
        assert_eq!(
            Catalog::new(vec![svc("a", &[]), svc("a", &[])]),
            Err(CatalogError::Duplicate("a".into()))
        );
        assert_eq!(
            Catalog::new(vec![svc(" ", &[])]),
            Err(CatalogError::Unnamed)
        );
        let mut s = svc("a", &[]);
        s.slo = Some(100.0);
        assert_eq!(Catalog::new(vec![s]), Err(CatalogError::BadSlo("a".into())));
    }
}
