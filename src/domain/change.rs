//! Changes: deliberate actions on production, their kinds and their lifecycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of change it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new version of software.
    Deploy,
    /// A configuration change.
    Config,
    /// Routing, traffic shifting or feature flags.
    Traffic,
    /// Infrastructure (machines, networks, clusters).
    Infra,
    /// A database schema migration.
    Schema,
}

/// A kind name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind `{0}`: expected one of deploy, config, traffic, infra, schema")]
pub struct UnknownKind(pub String);

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Deploy,
        ChangeKind::Config,
        ChangeKind::Traffic,
        ChangeKind::Infra,
        ChangeKind::Schema,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Deploy => "deploy",
            ChangeKind::Config => "config",
            ChangeKind::Traffic => "traffic",
            ChangeKind::Infra => "infra",
            ChangeKind::Schema => "schema",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "deployment" | "release" => "deploy",
            "configuration" => "config",
            "feature-flag" | "flag" | "routing" => "traffic",
            "infrastructure" => "infra",
            "migration" => "schema",
            other => other,
        };
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == alias)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Where a change is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeStatus {
    /// Written down, not yet reviewed.
    Planned,
    /// Waiting for review.
    InReview,
    /// Approved to execute.
    Approved,
    /// Being carried out.
    Executing,
    /// Carried out, being watched.
    Verifying,
    /// Finished.
    Done,
    /// Undone.
    RolledBack,
    /// Did not work.
    Failed,
}

/// A status name that is not one of the lifecycle's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown change status `{0}`: expected one of planned, in-review, approved, executing, verifying, done, rolled-back, failed"
)]
pub struct UnknownChangeStatus(pub String);

/// A lifecycle step that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a change cannot go from {from} to {to}; from {from} it may go to: {}", legal_list(*.from))]
pub struct ChangeTransitionError {
    /// Where the change is.
    pub from: ChangeStatus,
    /// Where it was asked to go.
    pub to: ChangeStatus,
}

fn legal_list(from: ChangeStatus) -> String {
    let legal: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
    if legal.is_empty() {
        "nothing (it is final)".into()
    } else {
        legal.join(", ")
    }
}

impl ChangeStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ChangeStatus; 8] = [
        ChangeStatus::Planned,
        ChangeStatus::InReview,
        ChangeStatus::Approved,
        ChangeStatus::Executing,
        ChangeStatus::Verifying,
        ChangeStatus::Done,
        ChangeStatus::RolledBack,
        ChangeStatus::Failed,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Planned => "planned",
            ChangeStatus::InReview => "in-review",
            ChangeStatus::Approved => "approved",
            ChangeStatus::Executing => "executing",
            ChangeStatus::Verifying => "verifying",
            ChangeStatus::Done => "done",
            ChangeStatus::RolledBack => "rolled-back",
            ChangeStatus::Failed => "failed",
        }
    }

    /// The statuses a change may move to from this one.
    pub fn next(self) -> &'static [ChangeStatus] {
        use ChangeStatus::*;
        match self {
            Planned => &[InReview, Approved, Executing, Failed],
            InReview => &[Planned, Approved, Failed],
            Approved => &[Executing, Failed],
            Executing => &[Verifying, Done, RolledBack, Failed],
            Verifying => &[Done, RolledBack, Failed],
            Done => &[RolledBack],
            Failed => &[RolledBack],
            RolledBack => &[],
        }
    }

    /// Whether the change has touched production (it can have caused something).
    pub fn has_executed(self) -> bool {
        !matches!(
            self,
            ChangeStatus::Planned | ChangeStatus::InReview | ChangeStatus::Approved
        )
    }

    /// Checks a step; staying put is not a step.
    pub fn check(self, to: ChangeStatus) -> Result<(), ChangeTransitionError> {
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(ChangeTransitionError { from: self, to })
        }
    }
}

impl fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeStatus {
    type Err = UnknownChangeStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        ChangeStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == lower)
            .ok_or_else(|| UnknownChangeStatus(s.to_string()))
    }
}

/// A link attached to a change (pipeline run, pull request, dashboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The URL.
    pub href: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A change as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Its number (`chg-42` in chat).
    pub id: i64,
    /// Who reported it (`native`, `pagerduty`, `github`, `argocd`, `cli`, `api`, `chat`).
    pub source: String,
    /// The source's own id for it, if any.
    pub external_id: Option<String>,
    /// What kind of change.
    pub kind: ChangeKind,
    /// The service it touches first.
    pub service: String,
    /// Every service it touches (the first is `service`).
    pub services: Vec<String>,
    /// `production`, `staging` …
    pub environment: Option<String>,
    /// One line about it.
    pub summary: String,
    /// Who made it.
    pub author: Option<String>,
    /// The version it ships.
    pub version: Option<String>,
    /// Links.
    pub links: Vec<Link>,
    /// Where it is in its lifecycle.
    pub status: ChangeStatus,
    /// The change this one rolls back.
    pub rollback_of: Option<i64>,
    /// How to roll it back, in words.
    pub rollback_plan: Option<String>,
    /// When it started touching production.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub ended_at: Option<DateTime<Utc>>,
    /// When warroom recorded it.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the commit it ships was made, if the source said (lead time for changes).
    #[serde(default)]
    pub committed_at: Option<DateTime<Utc>>,
}

impl Change {
    /// The name people type: `chg-42`.
    pub fn label(&self) -> String {
        label(self.id)
    }

    /// "deploy checkout v2.3.1 by alice".
    pub fn headline(&self) -> String {
        let mut s = format!("{} {}", self.kind, self.services.join(", "));
        if let Some(v) = &self.version {
            s.push(' ');
            s.push_str(v);
        }
        if let Some(a) = &self.author {
            s.push_str(" by ");
            s.push_str(a);
        }
        s
    }

    /// Whether it touches `service`.
    pub fn touches(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

/// A change as a source reports it (ingest formats, the API, the CLI, chat).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewChange {
    /// Who reports it (`native`, `pagerduty`, `github`, `argocd`, `api`, `cli`).
    pub source: String,
    /// The source's own id; a second report with it updates the same change.
    pub external_id: Option<String>,
    /// What kind of change.
    pub kind: Option<ChangeKind>,
    /// The services it touches, first = main.
    pub services: Vec<String>,
    /// Environment.
    pub environment: Option<String>,
    /// One line about it.
    pub summary: String,
    /// Who made it.
    pub author: Option<String>,
    /// The version it ships.
    pub version: Option<String>,
    /// Links.
    pub links: Vec<Link>,
    /// The status the source reports; `None` = inferred from the times.
    pub status: Option<ChangeStatus>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The change it rolls back.
    pub rollback_of: Option<i64>,
    /// How to roll it back.
    pub rollback_plan: Option<String>,
    /// The inbound delivery's natural key (`scope`, `key`), for idempotent ingest.
    pub delivery: Option<(String, String)>,
    /// When the shipped commit was made, if known.
    pub committed_at: Option<DateTime<Utc>>,
}

/// The chat name of change `id`.
pub fn label(id: i64) -> String {
    format!("chg-{id}")
}

/// A change reference typed by people: `chg-42`, `#42` or `42`.
pub fn parse_ref(text: &str) -> Option<i64> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let digits = lower
        .strip_prefix("chg-")
        .or_else(|| lower.strip_prefix('#'))
        .unwrap_or(&lower);
    digits.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The status a report starts at when the source did not say: after the fact it is done if it ended,
/// executing if it started, planned otherwise.
pub fn initial_status(
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
) -> ChangeStatus {
    match (started, ended) {
        (_, Some(_)) => ChangeStatus::Done,
        (Some(_), None) => ChangeStatus::Executing,
        (None, None) => ChangeStatus::Planned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ChangeKind::ALL {
            assert_eq!(k.as_str().parse::<ChangeKind>().unwrap(), k);
        }
        for s in ChangeStatus::ALL {
            assert_eq!(s.as_str().parse::<ChangeStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(
            "Rolled_Back".parse::<ChangeStatus>(),
            Ok(ChangeStatus::RolledBack)
        );
        assert_eq!(
            "feature-flag".parse::<ChangeKind>(),
            Ok(ChangeKind::Traffic)
        );
        assert!("party".parse::<ChangeKind>().is_err());
    }

    #[test]
    fn lifecycle_moves_forward_and_names_legal_steps() {
        use ChangeStatus::*;
        assert!(Planned.check(InReview).is_ok());
        assert!(InReview.check(Approved).is_ok());
        assert!(Approved.check(Executing).is_ok());
        assert!(Executing.check(Verifying).is_ok());
        assert!(Verifying.check(Done).is_ok());
        assert!(Done.check(RolledBack).is_ok());
        let err = Done.check(Executing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a change cannot go from done to executing; from done it may go to: rolled-back"
        );
        assert!(
            RolledBack
                .check(Done)
                .unwrap_err()
                .to_string()
                .ends_with("nothing (it is final)")
        );
        assert!(!Approved.has_executed() && Executing.has_executed());
    }

    #[test]
    fn references_and_initial_status() {
        assert_eq!(parse_ref("chg-42"), Some(42));
        assert_eq!(parse_ref("CHG-7"), Some(7));
        assert_eq!(parse_ref("#3"), Some(3));
        assert_eq!(parse_ref("9"), Some(9));
        assert_eq!(parse_ref("chg-x"), None);
        assert_eq!(parse_ref("0"), None);
        let t = DateTime::from_timestamp(1_700_000_000, 0);
        assert_eq!(initial_status(t, t), ChangeStatus::Done);
        assert_eq!(initial_status(t, None), ChangeStatus::Executing);
        assert_eq!(initial_status(None, None), ChangeStatus::Planned);
    }
}
