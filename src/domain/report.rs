//! Report math: medians and p90s of MTTA/MTTR, counts, and time spent in each status. Pure.

use super::{Incident, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The median of `values` (the mean of the two middle ones for an even count); `None` when empty.
pub fn median(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    })
}

/// The 90th percentile by the nearest-rank method: the ⌈0.9·n⌉-th smallest value.
pub fn p90(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (v.len() * 9).div_ceil(10).max(1);
    Some(v[rank - 1])
}

/// Median and p90 of a set of durations in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// How many incidents had a value.
    pub count: usize,
    /// The median, in seconds.
    pub median_seconds: Option<f64>,
    /// The 90th percentile (nearest rank), in seconds.
    pub p90_seconds: Option<i64>,
}

impl Stat {
    /// The statistic of `values` (seconds).
    pub fn of(values: &[i64]) -> Stat {
        Stat {
            count: values.len(),
            median_seconds: median(values),
            p90_seconds: p90(values),
        }
    }
}

/// MTTA and MTTR of one group of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Incidents in the group.
    pub incidents: usize,
    /// Detected → first acknowledgement or declare.
    pub mtta: Stat,
    /// Detected → resolved.
    pub mttr: Stat,
}

/// One status change of one incident, as the report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The incident.
    pub incident_id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The status left.
    pub from: Status,
    /// The status entered.
    pub to: Status,
}

/// Seconds spent in each status, from the incident's creation (in its first status) through each
/// change, up to `end` for a status that is not final (closed and cancelled are where time stops).
pub fn status_durations(
    created_at: DateTime<Utc>,
    changes: &[(DateTime<Utc>, Status, Status)],
    end: DateTime<Utc>,
) -> BTreeMap<Status, i64> {
    let mut out = BTreeMap::new();
    let Some(first) = changes.first() else {
        return out;
    };
    let mut status = first.1;
    let mut since = created_at;
    for (at, _from, to) in changes {
        let at = (*at).max(since);
        *out.entry(status).or_insert(0) += (at - since).num_seconds();
        status = *to;
        since = at;
    }
    if !status.is_terminal() && end > since {
        *out.entry(status).or_insert(0) += (end - since).num_seconds();
    }
    out
}

/// The whole report over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Start of the period (incidents created at or after).
    pub from: DateTime<Utc>,
    /// End of the period (incidents created before).
    pub to: DateTime<Utc>,
    /// Incidents created in the period.
    pub incidents: usize,
    /// MTTA/MTTR of all of them.
    pub overall: Timing,
    /// MTTA/MTTR by severity (`P0` …).
    pub by_severity: BTreeMap<String, Timing>,
    /// MTTA/MTTR by service (`(none)` for incidents without one).
    pub by_service: BTreeMap<String, Timing>,
    /// Incident counts by type.
    pub count_by_type: BTreeMap<String, usize>,
    /// Incident counts by service.
    pub count_by_service: BTreeMap<String, usize>,
    /// Incident counts by current status.
    pub count_by_status: BTreeMap<String, usize>,
    /// Total seconds spent in each status (from status changes).
    pub time_in_status: BTreeMap<String, i64>,
    /// Action items of these incidents by status (`open`, `done` …).
    pub action_items: BTreeMap<String, i64>,
}

/// The label of an incident's service in reports.
pub const NO_SERVICE: &str = "(none)";

fn timing(group: &[&Incident]) -> Timing {
    let mtta: Vec<i64> = group
        .iter()
        .filter_map(|i| i.mtta())
        .map(|d| d.num_seconds())
        .collect();
    let mttr: Vec<i64> = group
        .iter()
        .filter_map(|i| i.mttr())
        .map(|d| d.num_seconds())
        .collect();
    Timing {
        incidents: group.len(),
        mtta: Stat::of(&mtta),
        mttr: Stat::of(&mttr),
    }
}

/// Builds the report from the period's incidents, their status changes and action-item counts;
/// `now` ends the time of statuses that are still current.
pub fn build(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    incidents: &[Incident],
    changes: &[StatusChange],
    action_items: BTreeMap<String, i64>,
    now: DateTime<Utc>,
) -> Report {
    let all: Vec<&Incident> = incidents.iter().collect();
    let mut by_sev: BTreeMap<String, Vec<&Incident>> = BTreeMap::new();
    let mut by_svc: BTreeMap<String, Vec<&Incident>> = BTreeMap::new();
    let mut count_by_type = BTreeMap::new();
    let mut count_by_status = BTreeMap::new();
    for i in incidents {
        by_sev.entry(i.severity.to_string()).or_default().push(i);
        let svc = i.service.clone().unwrap_or_else(|| NO_SERVICE.into());
        by_svc.entry(svc).or_default().push(i);
        *count_by_type.entry(i.kind.to_string()).or_insert(0) += 1;
        *count_by_status.entry(i.status.to_string()).or_insert(0) += 1;
    }
    let mut per_incident: BTreeMap<i64, Vec<(DateTime<Utc>, Status, Status)>> = BTreeMap::new();
    for c in changes {
        per_incident
            .entry(c.incident_id)
            .or_default()
            .push((c.at, c.from, c.to));
    }
    let mut time_in_status: BTreeMap<String, i64> = BTreeMap::new();
    for i in incidents {
        let mut list = per_incident.remove(&i.id).unwrap_or_default();
        list.sort_by_key(|c| c.0);
        if list.is_empty() {
            // Never changed: all its time so far was spent in its current status.
            unchanged_time(i, now, &mut time_in_status);
            continue;
        }
        for (status, secs) in status_durations(i.created_at, &list, now) {
            *time_in_status.entry(status.to_string()).or_insert(0) += secs;
        }
    }
    Report {
        from,
        to,
        incidents: incidents.len(),
        overall: timing(&all),
        by_severity: by_sev.iter().map(|(k, v)| (k.clone(), timing(v))).collect(),
        count_by_service: by_svc.iter().map(|(k, v)| (k.clone(), v.len())).collect(),
        by_service: by_svc.iter().map(|(k, v)| (k.clone(), timing(v))).collect(),
        count_by_type,
        count_by_status,
        time_in_status,
        action_items,
    }
}

fn unchanged_time(i: &Incident, now: DateTime<Utc>, out: &mut BTreeMap<String, i64>) {
    if !i.status.is_terminal() && now > i.created_at {
        *out.entry(i.status.to_string()).or_insert(0) += (now - i.created_at).num_seconds();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    #[test]
    fn median_and_nearest_rank_p90() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5.0));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
        assert_eq!(p90(&[7]), Some(7));
        // ten values: rank 9
        assert_eq!(p90(&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100]), Some(90));
        // three values: rank ⌈2.7⌉ = 3
        assert_eq!(p90(&[300, 60, 120]), Some(300));
        // eleven values: rank ⌈9.9⌉ = 10
        assert_eq!(p90(&(1..=11).collect::<Vec<_>>()), Some(10));
    }

    #[test]
    fn time_in_status_follows_the_changes_and_stops_at_final_statuses() {
        use Status::*;
        let d = status_durations(
            t(0),
            &[
                (t(5), Declared, Triaging),
                (t(15), Triaging, Mitigating),
                (t(45), Mitigating, Resolved),
                (t(105), Resolved, Closed),
            ],
            t(1000),
        );
        assert_eq!(d[&Declared], 300);
        assert_eq!(d[&Triaging], 600);
        assert_eq!(d[&Mitigating], 1800);
        assert_eq!(d[&Resolved], 3600);
        assert!(!d.contains_key(&Closed));
        let open = status_durations(t(0), &[(t(5), Declared, Triaging)], t(10));
        assert_eq!(open[&Triaging], 300);
    }
}
