//! The change risk report: which services change most, which changes are followed by incidents, when.

use super::{Engine, EngineError};
use chrono::{Datelike, Duration, Timelike};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One service's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRisk {
    /// The service.
    pub service: String,
    /// Changes to it in the period.
    pub changes: usize,
    /// Incidents its changes were the top suspect or confirmed cause of.
    pub incidents_after_changes: usize,
}

/// One kind's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindRisk {
    /// The kind.
    pub kind: String,
    /// Changes of this kind.
    pub changes: usize,
    /// Incidents they were the top suspect or confirmed cause of.
    pub incidents: usize,
    /// incidents / changes.
    pub incident_rate: f64,
}

/// One hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourRisk {
    /// `Mon` … `Sun` (UTC).
    pub weekday: String,
    /// 0–23 (UTC).
    pub hour: u32,
    /// Change-caused incidents whose change started in that hour.
    pub incidents: usize,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeReport {
    /// The period, in days back from now.
    pub days: i64,
    /// Services by change frequency.
    pub services: Vec<ServiceRisk>,
    /// Change kinds by incident correlation.
    pub kinds: Vec<KindRisk>,
    /// The hours of the week with the most change-caused incidents.
    pub hours: Vec<HourRisk>,
}

impl Engine {
    /// The change risk report over the last `days` days.
    pub async fn change_report(&self, days: i64) -> Result<ChangeReport, EngineError> {
        let now = self.now();
        let changes = self
            .store()
            .changes_started_between(now - Duration::days(days), now)
            .await?;
        let in_period: BTreeMap<i64, _> = changes.iter().map(|c| (c.id, c)).collect();
        // The cause of each incident: its confirmed change, else its top suspect.
        let mut cause: BTreeMap<i64, (bool, i64)> = BTreeMap::new();
        for (incident, change, rank, confirmed) in self.store().change_links().await? {
            if !(confirmed || rank == 1) {
                continue;
            }
            let better = match cause.get(&incident) {
                None => true,
                Some((was_confirmed, _)) => confirmed && !was_confirmed,
            };
            if better {
                cause.insert(incident, (confirmed, change));
            }
        }
        let mut by_service: BTreeMap<&str, (usize, BTreeSet<i64>)> = BTreeMap::new();
        let mut by_kind: BTreeMap<&str, (usize, BTreeSet<i64>)> = BTreeMap::new();
        for c in &changes {
            by_service.entry(&c.service).or_default().0 += 1;
            by_kind.entry(c.kind.as_str()).or_default().0 += 1;
        }
        let mut hours: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for (incident, (_, change)) in &cause {
            let Some(c) = in_period.get(change) else {
                continue;
            };
            by_service
                .entry(&c.service)
                .or_default()
                .1
                .insert(*incident);
            by_kind
                .entry(c.kind.as_str())
                .or_default()
                .1
                .insert(*incident);
            if let Some(t) = c.started_at {
                *hours
                    .entry((t.weekday().num_days_from_monday(), t.hour()))
                    .or_default() += 1;
            }
        }
        let mut services: Vec<ServiceRisk> = by_service
            .into_iter()
            .map(|(s, (n, inc))| ServiceRisk {
                service: s.to_string(),
                changes: n,
                incidents_after_changes: inc.len(),
            })
            .collect();
        services.sort_by(|a, b| b.changes.cmp(&a.changes).then(a.service.cmp(&b.service)));
        let mut kinds: Vec<KindRisk> = by_kind
            .into_iter()
            .map(|(k, (n, inc))| KindRisk {
                kind: k.to_string(),
                changes: n,
                incidents: inc.len(),
                incident_rate: if n == 0 {
                    0.0
                } else {
                    inc.len() as f64 / n as f64
                },
            })
            .collect();
        kinds.sort_by(|a, b| {
            b.incident_rate
                .total_cmp(&a.incident_rate)
                .then(a.kind.cmp(&b.kind))
        });
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let mut hours: Vec<HourRisk> = hours
            .into_iter()
            .map(|((d, h), n)| HourRisk {
                weekday: DAYS[d as usize % 7].to_string(),
                hour: h,
                incidents: n,
            })
            .collect();
        hours.sort_by_key(|h| std::cmp::Reverse(h.incidents));
        hours.truncate(10);
        Ok(ChangeReport {
            days,
            services,
            kinds,
            hours,
        })
    }
}
