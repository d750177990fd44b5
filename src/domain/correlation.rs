//! Correlation: which recent changes probably caused an incident, with the evidence, ranked.
//!
//! A change's score is the product of three factors:
//! - time: `0.5^(Δ / half_life)`, Δ = time from the change's start to the first signal (first alert or
//!   detection); changes after the first signal are not suspects, changes older than the lookback neither;
//! - topology: same service 1.0, a service the incident's service depends on 0.7, a service that depends
//!   on it 0.4, no service known 0.5, unrelated 0.1 (the catalog decides);
//! - history: `1 + caused / (changes + 1)` for the change's kind and service, where `caused` counts past
//!   changes of that kind and service confirmed as an incident's cause.

use super::catalog::Catalog;
use super::change::{Change, ChangeKind};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// What is being explained: the incident's service and its first signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The incident's service, if known.
    pub service: Option<String>,
    /// The first alert's start, else when the incident was detected.
    pub first_signal: DateTime<Utc>,
    /// How to name the first signal: "the first HighErrorRate alert", "the incident was declared".
    pub signal: String,
}

/// Tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// How far back changes are considered.
    pub lookback: Duration,
    /// How fast the time factor decays.
    pub half_life: Duration,
    /// Scores below this are not suspects.
    pub min_score: f64,
    /// At most this many suspects.
    pub max_suspects: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            lookback: Duration::hours(24),
            half_life: Duration::minutes(30),
            min_score: 0.01,
            max_suspects: 5,
        }
    }
}

/// Past record of one (kind, service): how many changes, how many confirmed as a cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    /// Changes seen.
    pub changes: u32,
    /// Of those, confirmed as an incident's cause.
    pub caused: u32,
}

/// What past incidents taught, by change kind and service.
pub type History = BTreeMap<(ChangeKind, String), Record>;

/// A ranked suspect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    /// The change.
    pub change_id: i64,
    /// 1 = most likely.
    pub rank: usize,
    /// The score (higher = more likely).
    pub score: f64,
    /// Why, in words.
    pub evidence: Vec<String>,
}

/// "6 min", "2 h 5 min", "under a minute".
pub fn span(d: Duration) -> String {
    let m = d.num_minutes();
    match m {
        0 => "under a minute".into(),
        1..120 => format!("{m} min"),
        _ => format!("{} h {} min", m / 60, m % 60),
    }
}

fn topology(subject: &Subject, change: &Change, catalog: &Catalog) -> (f64, String) {
    let Some(s) = subject.service.as_deref() else {
        return (0.5, "the incident names no service".into());
    };
    if change.touches(s) {
        return (1.0, "same service".into());
    }
    let deps = catalog.dependencies(s);
    if let Some(c) = change.services.iter().find(|c| deps.contains(*c)) {
        return (0.7, format!("{s} depends on {c}"));
    }
    let dependents = catalog.dependents(s);
    if let Some(c) = change.services.iter().find(|c| dependents.contains(*c)) {
        return (0.4, format!("{c} depends on {s}"));
    }
    (0.1, format!("unrelated to {s}"))
}

fn history_factor(change: &Change, history: &History) -> (f64, Option<String>) {
    let r = history
        .get(&(change.kind, change.service.clone()))
        .copied()
        .unwrap_or_default();
    let factor = 1.0 + f64::from(r.caused) / f64::from(r.changes + 1);
    let text = (r.caused > 0).then(|| {
        format!(
            "{} of {} earlier {} changes to {} caused incidents",
            r.caused, r.changes, change.kind, change.service
        )
    });
    (factor, text)
}

/// Scores one change; `None` when it cannot be a suspect (not executed, after the signal, too old).
pub fn score(
    subject: &Subject,
    change: &Change,
    catalog: &Catalog,
    history: &History,
    params: &Params,
) -> Option<(f64, Vec<String>)> {
    let started = change.started_at?;
    if !change.status.has_executed() || started > subject.first_signal {
        return None;
    }
    let before = subject.first_signal - started;
    if before > params.lookback {
        return None;
    }
    let halves =
        before.num_milliseconds() as f64 / params.half_life.num_milliseconds().max(1) as f64;
    let time = 0.5f64.powf(halves);
    let (topo, topo_text) = topology(subject, change, catalog);
    let (hist, hist_text) = history_factor(change, history);
    let mut evidence = vec![
        change.headline(),
        format!("{} before {}", span(before), subject.signal),
        topo_text,
    ];
    evidence.extend(hist_text);
    Some((time * topo * hist, evidence))
}

/// The suspects among `changes`, most likely first.
pub fn rank(
    subject: &Subject,
    changes: &[Change],
    catalog: &Catalog,
    history: &History,
    params: &Params,
) -> Vec<Suspect> {
    let mut scored: Vec<(i64, f64, Vec<String>)> = changes
        .iter()
        .filter_map(|c| score(subject, c, catalog, history, params).map(|(s, e)| (c.id, s, e)))
        .filter(|(_, s, _)| *s >= params.min_score)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored
        .into_iter()
        .take(params.max_suspects)
        .enumerate()
        .map(|(i, (change_id, score, evidence))| Suspect {
            change_id,
            rank: i + 1,
            score: (score * 1000.0).round() / 1000.0,
            evidence,
        })
        .collect()
}

#[cfg(test)]
#[path = "correlation_tests.rs"]
mod tests;
