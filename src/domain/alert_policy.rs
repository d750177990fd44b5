//! Alert governance policy: severity mapping, the declare policy, root-cause merge and timings.

use super::alert::{Alert, AlertSource, AlertStatus};
use super::alert_rules::InhibitRule;
use super::catalog::Catalog;
use super::incident::IncidentType;
use super::severity::Severity;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// What an alert's severity maps to: an incident severity, or "record only".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    /// Opens or joins incidents at this severity.
    Page(Severity),
    /// Stored and shown, never opens an incident.
    Record,
}

impl Grade {
    /// `P0`…`P3` or `record`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Page(s) => s.as_str(),
            Grade::Record => "record",
        }
    }
}

impl FromStr for Grade {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("record") {
            return Ok(Grade::Record);
        }
        s.parse::<Severity>()
            .map(Grade::Page)
            .map_err(|_| format!("`{s}` is not P0, P1, P2, P3 or record"))
    }
}

/// What the declare policy does with a group's incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclareAction {
    /// Open the incident already declared.
    Declare,
    /// Open it as `detected`, awaiting a human.
    Detect,
    /// Only record the alerts.
    Record,
}

impl FromStr for DeclareAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "declare" => Ok(DeclareAction::Declare),
            "detect" => Ok(DeclareAction::Detect),
            "record" => Ok(DeclareAction::Record),
            _ => Err(format!("`{s}` is not declare, detect or record")),
        }
    }
}

/// One declare-policy rule: when severity and service match, take the action (first match wins).
#[derive(Debug, Clone, PartialEq)]
pub struct DeclareRule {
    /// Severities it applies to (empty: any).
    pub severities: Vec<Severity>,
    /// Services it applies to (empty: any).
    pub services: Vec<String>,
    /// What to do.
    pub action: DeclareAction,
}

/// The built-in severity words per source (overridden key by key by `alerts.severity.<source>`).
pub fn default_severity_map(source: AlertSource) -> BTreeMap<String, Grade> {
    let pairs: &[(&str, Grade)] = match source {
        AlertSource::Pagerduty => &[
            ("critical", Grade::Page(Severity::P1)),
            ("error", Grade::Page(Severity::P2)),
            ("warning", Grade::Page(Severity::P3)),
            ("info", Grade::Page(Severity::P3)),
        ],
        _ => &[
            ("critical", Grade::Page(Severity::P1)),
            ("page", Grade::Page(Severity::P1)),
            ("high", Grade::Page(Severity::P2)),
            ("error", Grade::Page(Severity::P2)),
            ("major", Grade::Page(Severity::P2)),
            ("warning", Grade::Page(Severity::P3)),
            ("minor", Grade::Page(Severity::P3)),
            ("low", Grade::Page(Severity::P3)),
            ("info", Grade::Record),
            ("none", Grade::Record),
        ],
    };
    let mut map: BTreeMap<String, Grade> = pairs.iter().map(|(k, g)| (k.to_string(), *g)).collect();
    for s in Severity::ALL {
        map.insert(s.as_str().to_ascii_lowercase(), Grade::Page(s));
    }
    map
}

/// The whole alert policy, parsed from configuration.
#[derive(Debug, Clone)]
pub struct AlertPolicy {
    /// Labels alerts are grouped by.
    pub group_by: Vec<String>,
    /// How long a new group waits before its first notification.
    pub group_wait: TimeDelta,
    /// How long a group waits between notifications of changes.
    pub group_interval: TimeDelta,
    /// The short window joins and resolutions of a group that is not held are coalesced in (one digest
    /// per window): groups whose sender grouped them already, that declare at once, or that have an incident.
    pub coalesce: TimeDelta,
    /// A re-firing alert is announced again only after this long (flaps within it are counted).
    pub repeat_interval: TimeDelta,
    /// Groups starting within this window of an open related incident join it (None: no merge).
    pub merge_window: Option<TimeDelta>,
    /// Whether services linked by `depends_on` merge (else only the same service).
    pub merge_dependencies: bool,
    /// Whether a firing alert on a service inhibits its dependents' alerts.
    pub catalog_inhibition: bool,
    /// Alertmanager-style inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Severity word → grade, per source.
    pub severity: BTreeMap<AlertSource, BTreeMap<String, Grade>>,
    /// Grade of an alert whose severity is missing or unknown.
    pub default_grade: Grade,
    /// Declare-policy rules, first match wins.
    pub declare: Vec<DeclareRule>,
    /// The action when no rule matches.
    pub default_action: DeclareAction,
    /// Whether an incident resolves itself when all of its alerts resolve.
    pub auto_resolve: bool,
    /// The label that names the service.
    pub service_label: String,
}

impl AlertPolicy {
    /// The grade of an alert from its source's severity word.
    pub fn grade(&self, source: AlertSource, severity_word: Option<&str>) -> Grade {
        let Some(word) = severity_word else {
            return self.default_grade;
        };
        self.severity
            .get(&source)
            .and_then(|m| m.get(&word.trim().to_ascii_lowercase()))
            .copied()
            .unwrap_or(self.default_grade)
    }

    /// Whether the group of these (changed) alerts opens or joins its incident when it arrives instead of
    /// waiting `group_wait`: the sender grouped them already (Alertmanager, Grafana), or a firing alert's
    /// grade is one the declare policy declares (P0/P1 by default).
    pub fn dispatch_at_once<'a>(
        &self,
        alerts: impl IntoIterator<Item = (&'a Alert, Grade)>,
    ) -> bool {
        alerts.into_iter().any(|(a, grade)| {
            a.source.groups_itself()
                || (a.status == AlertStatus::Firing
                    && matches!(grade, Grade::Page(s)
                        if self.action(s, a.service.as_deref()) == DeclareAction::Declare))
        })
    }

    /// What to do with a group of this severity on this service.
    pub fn action(&self, severity: Severity, service: Option<&str>) -> DeclareAction {
        self.declare
            .iter()
            .find(|r| {
                (r.severities.is_empty() || r.severities.contains(&severity))
                    && (r.services.is_empty()
                        || service.is_some_and(|s| r.services.iter().any(|x| x == s)))
            })
            .map(|r| r.action)
            .unwrap_or(self.default_action)
    }
}

/// An open incident that a new group might join.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    /// Its id.
    pub id: i64,
    /// Its service.
    pub service: Option<String>,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
}

/// The open incident a new group on `service` that started at `start` joins (root-cause merge), if any:
/// the earliest one on the same service or, with `merge_dependencies`, a service linked by `depends_on`,
/// detected within the merge window of the group's start.
pub fn merge_target(
    service: Option<&str>,
    open: &[OpenIncident],
    catalog: &Catalog,
    policy: &AlertPolicy,
    start: DateTime<Utc>,
) -> Option<i64> {
    let window = policy.merge_window?;
    let service = service?;
    open.iter()
        .filter(|i| i.detected_at >= start - window && i.detected_at <= start + window)
        .filter(|i| {
            i.service.as_deref().is_some_and(|s| {
                s == service || (policy.merge_dependencies && catalog.related(s, service))
            })
        })
        .min_by_key(|i| (i.detected_at, i.id))
        .map(|i| i.id)
}

/// The incident type alerts suggest: user-impact when one is labelled user-facing.
pub fn incident_type(alerts: &[&Alert]) -> IncidentType {
    if alerts.iter().any(|a| a.user_facing()) {
        IncidentType::UserImpact
    } else {
        IncidentType::Outage
    }
}

/// A title for an incident opened from alerts: the first alert's name and summary, and the service.
pub fn incident_title(alerts: &[&Alert], service: Option<&str>) -> String {
    let first = alerts.first();
    let name = first.map(|a| a.alertname()).unwrap_or("alerts");
    let mut title = match first.and_then(|a| a.summary()) {
        Some(s) => format!("{name}: {s}"),
        None => name.to_string(),
    };
    if let Some(svc) = service {
        title.push_str(&format!(" on {svc}"));
    }
    if alerts.len() > 1 {
        title.push_str(&format!(" (+{} alerts)", alerts.len() - 1));
    }
    let title: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    title
        .chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;
    use chrono::TimeZone;

    fn policy() -> AlertPolicy {
        AlertPolicy {
            group_by: vec!["alertname".into()],
            group_wait: TimeDelta::zero(),
            group_interval: TimeDelta::seconds(60),
            coalesce: TimeDelta::milliseconds(500),
            repeat_interval: TimeDelta::hours(4),
            merge_window: Some(TimeDelta::minutes(10)),
            merge_dependencies: true,
            catalog_inhibition: true,
            inhibit_rules: vec![],
            severity: AlertSource::ALL
                .into_iter()
                .map(|s| (s, default_severity_map(s)))
                .collect(),
            default_grade: Grade::Page(Severity::P3),
            declare: vec![DeclareRule {
                severities: vec![Severity::P0, Severity::P1],
                services: vec![],
                action: DeclareAction::Declare,
            }],
            default_action: DeclareAction::Detect,
            auto_resolve: false,
            service_label: "service".into(),
        }
    }

    #[test]
    fn severities_map_per_source_with_defaults() {
        let p = policy();
        let am = AlertSource::Alertmanager;
        assert_eq!(p.grade(am, Some("critical")), Grade::Page(Severity::P1));
        assert_eq!(p.grade(am, Some("Warning")), Grade::Page(Severity::P3));
        assert_eq!(p.grade(am, Some("info")), Grade::Record);
        assert_eq!(p.grade(am, Some("P0")), Grade::Page(Severity::P0));
        assert_eq!(p.grade(am, None), Grade::Page(Severity::P3));
        let pd = AlertSource::Pagerduty;
        assert_eq!(p.grade(pd, Some("info")), Grade::Page(Severity::P3));
        assert_eq!(p.grade(pd, Some("error")), Grade::Page(Severity::P2));
    }

    #[test]
    fn the_declare_policy_takes_the_first_matching_rule() {
        let mut p = policy();
        p.declare.insert(
            0,
            DeclareRule {
                severities: vec![],
                services: vec!["batch".into()],
                action: DeclareAction::Record,
            },
        );
        assert_eq!(p.action(Severity::P1, Some("api")), DeclareAction::Declare);
        assert_eq!(p.action(Severity::P1, Some("batch")), DeclareAction::Record);
        assert_eq!(p.action(Severity::P2, None), DeclareAction::Detect);
    }

    #[test]
    fn related_groups_merge_within_the_window() {
        let svc = |n: &str, d: &[&str]| Service {
            name: n.into(),
            depends_on: d.iter().map(|s| s.to_string()).collect(),
            ..Service::default()
        };
        let catalog =
            Catalog::new(vec![svc("api", &["db"]), svc("db", &[]), svc("x", &[])]).unwrap();
        let now = Utc.timestamp_opt(10_000, 0).unwrap();
        let open = vec![
            OpenIncident {
                id: 1,
                service: Some("db".into()),
                detected_at: now - TimeDelta::minutes(2),
            },
            OpenIncident {
                id: 2,
                service: Some("x".into()),
                detected_at: now - TimeDelta::minutes(30),
            },
        ];
        let mut p = policy();
        assert_eq!(merge_target(Some("api"), &open, &catalog, &p, now), Some(1));
        assert_eq!(merge_target(Some("x"), &open, &catalog, &p, now), None);
        assert_eq!(merge_target(None, &open, &catalog, &p, now), None);
        p.merge_dependencies = false;
        assert_eq!(merge_target(Some("api"), &open, &catalog, &p, now), None);
        assert_eq!(merge_target(Some("db"), &open, &catalog, &p, now), Some(1));
        p.merge_window = None;
        assert_eq!(merge_target(Some("db"), &open, &catalog, &p, now), None);
    }
}
