//! The change gate: may a change to a service ship now? A pure function of its inputs → every reason not to.

use super::change::ChangeKind;
use super::severity::Severity;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeSet;
use std::str::FromStr;

/// A recurring freeze window: a cron start, a length and a time zone.
#[derive(Debug, Clone)]
pub struct FreezeWindow {
    /// Its name (`weekend`, `black-friday`).
    pub name: String,
    /// When it opens.
    pub schedule: cron::Schedule,
    /// How long it stays open.
    pub duration: Duration,
    /// The time zone the cron expression is read in.
    pub tz: Tz,
    /// The services it covers; empty = every service.
    pub services: Vec<String>,
    /// The change kinds it covers; empty = every kind.
    pub kinds: Vec<ChangeKind>,
    /// Why it exists.
    pub reason: Option<String>,
}

/// A cron expression, time zone or duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The cron expression is wrong.
    #[error("invalid cron expression `{0}`: {1}")]
    Cron(String, String),
    /// The time zone is unknown.
    #[error("unknown time zone `{0}` (use an IANA name like Europe/Berlin)")]
    Tz(String),
    /// The duration is wrong.
    #[error("invalid duration `{0}`: expected e.g. 30m, 2h, 2d")]
    Duration(String),
}

pub use super::cron5::to_cron_crate;

impl FreezeWindow {
    /// Builds a window from its configured text.
    pub fn parse(
        name: &str,
        cron_expr: &str,
        duration: &str,
        tz: &str,
    ) -> Result<FreezeWindow, WindowError> {
        let translated =
            to_cron_crate(cron_expr).map_err(|e| WindowError::Cron(cron_expr.to_string(), e))?;
        let schedule = cron::Schedule::from_str(&translated)
            .map_err(|e| WindowError::Cron(cron_expr.to_string(), e.to_string()))?;
        let tz: Tz = tz.parse().map_err(|_| WindowError::Tz(tz.to_string()))?;
        let duration = humantime::parse_duration(duration)
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero())
            .ok_or_else(|| WindowError::Duration(duration.to_string()))?;
        Ok(FreezeWindow {
            name: name.to_string(),
            schedule,
            duration,
            tz,
            services: Vec::new(),
            kinds: Vec::new(),
            reason: None,
        })
    }

    /// When the window that is open at `now` closes, if one is open.
    pub fn open_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = (now - self.duration).with_timezone(&self.tz);
        let start = self.schedule.after(&from).next()?;
        let start = start.with_timezone(&Utc);
        (start <= now).then(|| start + self.duration)
    }

    fn covers(&self, service: &str, kind: Option<ChangeKind>) -> bool {
        let service_ok = self.services.is_empty() || self.services.iter().any(|s| s == service);
        // A gate asked without a kind is answered conservatively: kind-scoped windows apply.
        let kind_ok = self.kinds.is_empty() || kind.is_none_or(|k| self.kinds.contains(&k));
        service_ok && kind_ok
    }
}

/// A freeze declared by a person (from chat or the API), stored durably.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freeze {
    /// Its id.
    pub id: i64,
    /// `all` or a service name.
    pub scope: String,
    /// Why.
    pub reason: String,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when.
    pub ends_at: DateTime<Utc>,
    /// Who declared it.
    pub created_by: Option<String>,
}

/// An open incident, as the gate sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    /// Its id.
    pub id: i64,
    /// Its service.
    pub service: String,
    /// Its severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
}

/// Everything the gate looks at.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    /// The service the change is for.
    pub service: &'a str,
    /// The change's kind, if known.
    pub kind: Option<ChangeKind>,
    /// Now.
    pub now: DateTime<Utc>,
    /// Configured recurring windows.
    pub windows: &'a [FreezeWindow],
    /// Stored freezes (any; expired ones are ignored).
    pub freezes: &'a [Freeze],
    /// Services the service depends on (catalog).
    pub dependencies: &'a BTreeSet<String>,
    /// Open incidents (any service; others are ignored).
    pub incidents: &'a [OpenIncident],
    /// Incidents at or above this severity block.
    pub min_severity: Severity,
    /// The service's remaining error budget (0.0–1.0), if known.
    pub budget_remaining: Option<f64>,
    /// A budget at or below this is exhausted.
    pub budget_floor: f64,
}

/// One reason the gate says no.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GateReason {
    /// A configured recurring freeze window is open.
    FreezeWindow {
        /// The window.
        name: String,
        /// When it closes.
        until: DateTime<Utc>,
        /// Why it exists.
        note: Option<String>,
    },
    /// A declared freeze is in force.
    Freeze {
        /// The freeze's id.
        id: i64,
        /// `all` or the service.
        scope: String,
        /// Why.
        note: String,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// An open incident on the service or a dependency.
    OpenIncident {
        /// The incident.
        incident: i64,
        /// Its service.
        service: String,
        /// Its severity.
        severity: Severity,
        /// Whether it is on a dependency rather than the service itself.
        dependency: bool,
    },
    /// The error budget is spent.
    ErrorBudget {
        /// What is left.
        remaining: f64,
    },
}

impl GateReason {
    /// The reason in words.
    pub fn text(&self) -> String {
        let t = |d: &DateTime<Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
        match self {
            GateReason::FreezeWindow { name, until, note } => {
                let note = note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                format!("freeze window `{name}` is open until {}{note}", t(until))
            }
            GateReason::Freeze {
                id,
                scope,
                note,
                until,
            } => {
                let what = if scope == "all" {
                    "all services".to_string()
                } else {
                    scope.clone()
                };
                format!("change freeze #{id} on {what} until {}: {note}", t(until))
            }
            GateReason::OpenIncident {
                incident,
                service,
                severity,
                dependency,
            } => {
                let via = if *dependency {
                    format!("on {service}, which it depends on")
                } else {
                    format!("on {service}")
                };
                format!("open {severity} incident #{incident} {via}")
            }
            GateReason::ErrorBudget { remaining } => format!(
                "error budget exhausted ({:.1}% remaining)",
                remaining * 100.0
            ),
        }
    }
}

/// Every reason a change to `input.service` may not ship now; empty = allowed.
pub fn evaluate(input: &GateInput<'_>) -> Vec<GateReason> {
    let mut reasons = Vec::new();
    for w in input.windows {
        if !w.covers(input.service, input.kind) {
            continue;
        }
        if let Some(until) = w.open_until(input.now) {
            reasons.push(GateReason::FreezeWindow {
                name: w.name.clone(),
                until,
                note: w.reason.clone(),
            });
        }
    }
    for f in input.freezes {
        let in_force = f.starts_at <= input.now && input.now < f.ends_at;
        if in_force && (f.scope == "all" || f.scope == input.service) {
            reasons.push(GateReason::Freeze {
                id: f.id,
                scope: f.scope.clone(),
                note: f.reason.clone(),
                until: f.ends_at,
            });
        }
    }
    for i in input.incidents {
        if !i.severity.at_least(input.min_severity) {
            continue;
        }
        let own = i.service == input.service;
        if own || input.dependencies.contains(&i.service) {
            reasons.push(GateReason::OpenIncident {
                incident: i.id,
                service: i.service.clone(),
                severity: i.severity,
                dependency: !own,
            });
        }
    }
    if let Some(remaining) = input.budget_remaining
        && remaining <= input.budget_floor
    {
        reasons.push(GateReason::ErrorBudget { remaining });
    }
    reasons
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
