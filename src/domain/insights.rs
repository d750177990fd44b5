//! Insights over a period: incidents per week, MTTA/MTTR trends, time in status, the four DORA keys,
//! risky changes (kinds, services, hours of the week) and alert noise — each a [`Chart`]. Pure: the
//! store hands over rows, time is passed in.

use super::change::{Change, ChangeKind};
use super::chart::{Chart, ChartKind};
use super::report::{StatusChange, median, p90};
use super::{Incident, Severity, Status};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Every chart's name, in the order the page shows them.
pub const CHARTS: [&str; 12] = [
    "incidents-per-week",
    "mtta-mttr",
    "time-in-status",
    "deployment-frequency",
    "lead-time",
    "change-failure-rate",
    "time-to-restore",
    "risky-kinds",
    "risky-services",
    "risky-hours",
    "alert-noise",
    "tuning-candidates",
];

/// One alert (fingerprint) first seen in the period, as the noise charts need it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// Its name.
    pub alertname: String,
    /// Reports received (duplicates included).
    pub reports: i64,
    /// Times it resolved and fired again.
    pub flaps: i64,
    /// The incident it joined, if any.
    pub incident_id: Option<i64>,
}

/// A suspect link between an incident and a change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// The incident.
    pub incident_id: i64,
    /// The change.
    pub change_id: i64,
    /// Its rank among the incident's suspects (1 = top).
    pub rank: i64,
    /// Confirmed as the cause.
    pub confirmed: bool,
}

/// Everything the insights read.
#[derive(Debug, Clone, Default)]
pub struct InsightsInput {
    /// Incidents created in the period.
    pub incidents: Vec<Incident>,
    /// Their status changes.
    pub status_changes: Vec<StatusChange>,
    /// Changes started in the period.
    pub changes: Vec<Change>,
    /// Every suspect link (those of changes outside the period are ignored).
    pub links: Vec<Link>,
    /// Alerts first seen in the period.
    pub alerts: Vec<AlertRow>,
}

/// The Monday (UTC) of `t`'s week.
pub fn week_of(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The weeks (their Mondays) that `[from, to)` touches.
pub fn weeks(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDate> {
    let last = week_of(to - Duration::milliseconds(1));
    let mut w = week_of(from);
    let mut out = Vec::new();
    while w <= last {
        out.push(w);
        w += Duration::days(7);
    }
    out
}

fn secs(values: &[i64]) -> (Option<f64>, Option<f64>) {
    (median(values), p90(values).map(|v| v as f64))
}

fn count(n: usize) -> Option<f64> {
    Some(n as f64)
}

/// A chart over the period's weeks (`labels`), no series yet.
fn weekly(id: &str, title: &str, kind: ChartKind, unit: &str, labels: &[String]) -> Chart {
    let mut chart = Chart::new(id, title, kind, "week", unit);
    chart.x = labels.to_vec();
    chart
}

/// All the charts of `[from, to)`; `now` ends the time of statuses still current.
pub fn build(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    input: &InsightsInput,
    now: DateTime<Utc>,
) -> Vec<Chart> {
    let weeks = weeks(from, to);
    let labels: Vec<String> = weeks.iter().map(|w| w.to_string()).collect();
    let index: BTreeMap<NaiveDate, usize> =
        weeks.iter().enumerate().map(|(i, w)| (*w, i)).collect();
    let slot = |t: DateTime<Utc>| index.get(&week_of(t)).copied();
    let deploys: Vec<&Change> = input
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Deploy)
        .filter(|c| c.started_at.is_some_and(|t| t >= from && t < to))
        .collect();
    let causes = causes(&input.links);
    let confirmed: BTreeSet<i64> = input
        .links
        .iter()
        .filter(|l| l.confirmed)
        .map(|l| l.change_id)
        .collect();
    let mut charts = vec![
        incidents_per_week(&input.incidents, &labels, &slot),
        mtta_mttr(&input.incidents, &labels, &slot),
        time_in_status(from, to, input, now),
        deployment_frequency(&deploys, &labels, &slot, to - from),
        lead_time(&deploys, &labels, &slot),
        change_failure_rate(&deploys, &confirmed, &labels, &slot),
        time_to_restore(&input.incidents, &input.links, &labels, &slot),
    ];
    charts.extend(risk(from, to, &input.changes, &causes));
    charts.extend(noise(&input.alerts));
    charts
}

fn incidents_per_week(
    incidents: &[Incident],
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
) -> Chart {
    let mut chart = weekly(
        "incidents-per-week",
        "Incidents per week by severity",
        ChartKind::StackedBars,
        "incidents",
        labels,
    );
    for sev in Severity::ALL {
        let mut values = vec![0.0; labels.len()];
        for i in incidents.iter().filter(|i| i.severity == sev) {
            if let Some(w) = slot(i.created_at) {
                values[w] += 1.0;
            }
        }
        chart = chart.series(sev.as_str(), values.into_iter().map(Some).collect());
    }
    chart.figure("incidents", count(incidents.len()))
}

fn mtta_mttr(
    incidents: &[Incident],
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
) -> Chart {
    let mut chart = weekly(
        "mtta-mttr",
        "MTTA and MTTR per week (median, p90)",
        ChartKind::Lines,
        "seconds",
        labels,
    );
    let mut mtta: Vec<Vec<i64>> = vec![Vec::new(); labels.len()];
    let mut mttr: Vec<Vec<i64>> = vec![Vec::new(); labels.len()];
    for i in incidents {
        let Some(w) = slot(i.created_at) else {
            continue;
        };
        if let Some(d) = i.mtta() {
            mtta[w].push(d.num_seconds());
        }
        if let Some(d) = i.mttr() {
            mttr[w].push(d.num_seconds());
        }
    }
    let col = |v: &[Vec<i64>], f: fn(&[i64]) -> Option<f64>| v.iter().map(|w| f(w)).collect();
    let p = |v: &[i64]| p90(v).map(|x| x as f64);
    chart = chart
        .series("mtta_median", col(&mtta, median))
        .series("mtta_p90", col(&mtta, p))
        .series("mttr_median", col(&mttr, median))
        .series("mttr_p90", col(&mttr, p));
    let all_mtta: Vec<i64> = mtta.concat();
    let all_mttr: Vec<i64> = mttr.concat();
    let (a_med, a_p90) = secs(&all_mtta);
    let (r_med, r_p90) = secs(&all_mttr);
    chart
        .figure("mtta_median_seconds", a_med)
        .figure("mtta_p90_seconds", a_p90)
        .figure("mttr_median_seconds", r_med)
        .figure("mttr_p90_seconds", r_p90)
}

fn time_in_status(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    input: &InsightsInput,
    now: DateTime<Utc>,
) -> Chart {
    let report = super::report::build(
        from,
        to,
        &input.incidents,
        &input.status_changes,
        BTreeMap::new(),
        now,
    );
    let mut chart = Chart::new(
        "time-in-status",
        "Time in status (all incidents of the period)",
        ChartKind::Bars,
        "status",
        "seconds",
    );
    let mut values = Vec::new();
    for s in Status::ALL {
        if let Some(v) = report.time_in_status.get(s.as_str()) {
            chart.x.push(s.to_string());
            values.push(Some(*v as f64));
        }
    }
    chart.series("seconds", values)
}

fn deployment_frequency(
    deploys: &[&Change],
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
    period: Duration,
) -> Chart {
    let chart = weekly(
        "deployment-frequency",
        "Deployment frequency (deploys per week)",
        ChartKind::Bars,
        "deploys",
        labels,
    );
    let mut values = vec![0.0; labels.len()];
    for c in deploys {
        if let Some(w) = c.started_at.and_then(slot) {
            values[w] += 1.0;
        }
    }
    let days = period.num_seconds() as f64 / 86_400.0;
    let n = deploys.len() as f64;
    chart
        .series("deploys", values.into_iter().map(Some).collect())
        .figure("deploys", Some(n))
        .figure("per_day", (days > 0.0).then(|| n / days))
        .figure("per_week", (days > 0.0).then(|| n * 7.0 / days))
}

fn lead_time(
    deploys: &[&Change],
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
) -> Chart {
    let chart = weekly(
        "lead-time",
        "Lead time for changes (commit → deploy)",
        ChartKind::Lines,
        "seconds",
        labels,
    );
    let mut per_week: Vec<Vec<i64>> = vec![Vec::new(); labels.len()];
    for c in deploys {
        let (Some(started), Some(committed)) = (c.started_at, c.committed_at) else {
            continue;
        };
        if let Some(w) = slot(started) {
            per_week[w].push((started - committed).num_seconds().max(0));
        }
    }
    let all: Vec<i64> = per_week.concat();
    let (med, p) = secs(&all);
    chart
        .series(
            "median_seconds",
            per_week.iter().map(|v| median(v)).collect(),
        )
        .series(
            "p90_seconds",
            per_week.iter().map(|v| p90(v).map(|x| x as f64)).collect(),
        )
        .figure("deploys_with_commit_time", count(all.len()))
        .figure("median_seconds", med)
        .figure("p90_seconds", p)
}

fn change_failure_rate(
    deploys: &[&Change],
    confirmed: &BTreeSet<i64>,
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
) -> Chart {
    let chart = weekly(
        "change-failure-rate",
        "Change failure rate (deploys confirmed as a cause / deploys)",
        ChartKind::Lines,
        "ratio",
        labels,
    );
    let mut all = vec![0usize; labels.len()];
    let mut failed = vec![0usize; labels.len()];
    for c in deploys {
        if let Some(w) = c.started_at.and_then(slot) {
            all[w] += 1;
            if confirmed.contains(&c.id) {
                failed[w] += 1;
            }
        }
    }
    let rate = |f: usize, a: usize| (a > 0).then(|| f as f64 / a as f64);
    let total: usize = all.iter().sum();
    let total_failed: usize = failed.iter().sum();
    chart
        .series(
            "rate",
            all.iter().zip(&failed).map(|(a, f)| rate(*f, *a)).collect(),
        )
        .figure("deploys", count(total))
        .figure("failed", count(total_failed))
        .figure("rate", rate(total_failed, total))
}

fn time_to_restore(
    incidents: &[Incident],
    links: &[Link],
    labels: &[String],
    slot: &dyn Fn(DateTime<Utc>) -> Option<usize>,
) -> Chart {
    let chart = weekly(
        "time-to-restore",
        "Time to restore (incidents caused by a confirmed change: detected → resolved)",
        ChartKind::Lines,
        "seconds",
        labels,
    );
    let caused: BTreeSet<i64> = links
        .iter()
        .filter(|l| l.confirmed)
        .map(|l| l.incident_id)
        .collect();
    let mut per_week: Vec<Vec<i64>> = vec![Vec::new(); labels.len()];
    for i in incidents.iter().filter(|i| caused.contains(&i.id)) {
        if let (Some(d), Some(w)) = (i.mttr(), slot(i.created_at)) {
            per_week[w].push(d.num_seconds());
        }
    }
    let all: Vec<i64> = per_week.concat();
    let (med, p) = secs(&all);
    chart
        .series(
            "median_seconds",
            per_week.iter().map(|v| median(v)).collect(),
        )
        .figure("restored", count(all.len()))
        .figure("median_seconds", med)
        .figure("p90_seconds", p)
}

/// The cause of each incident, as the risk report has it: its confirmed change, else its top suspect.
fn causes(links: &[Link]) -> BTreeMap<i64, i64> {
    let mut best: BTreeMap<i64, (bool, i64)> = BTreeMap::new();
    for l in links.iter().filter(|l| l.confirmed || l.rank == 1) {
        let better = match best.get(&l.incident_id) {
            None => true,
            Some((was_confirmed, _)) => l.confirmed && !was_confirmed,
        };
        if better {
            best.insert(l.incident_id, (l.confirmed, l.change_id));
        }
    }
    best.into_iter().map(|(i, (_, c))| (i, c)).collect()
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn risk(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    changes: &[Change],
    causes: &BTreeMap<i64, i64>,
) -> [Chart; 3] {
    let in_period: BTreeMap<i64, &Change> = changes
        .iter()
        .filter(|c| c.started_at.is_some_and(|t| t >= from && t < to))
        .map(|c| (c.id, c))
        .collect();
    let mut kinds: BTreeMap<&str, (usize, BTreeSet<i64>)> = BTreeMap::new();
    let mut services: BTreeMap<&str, (usize, BTreeSet<i64>)> = BTreeMap::new();
    for c in in_period.values() {
        kinds.entry(c.kind.as_str()).or_default().0 += 1;
        services.entry(&c.service).or_default().0 += 1;
    }
    let mut grid = [[0usize; 24]; 7];
    for (incident, change) in causes {
        let Some(c) = in_period.get(change) else {
            continue;
        };
        kinds
            .entry(c.kind.as_str())
            .or_default()
            .1
            .insert(*incident);
        services.entry(&c.service).or_default().1.insert(*incident);
        if let Some(t) = c.started_at {
            grid[t.weekday().num_days_from_monday() as usize][t.hour() as usize] += 1;
        }
    }
    let table =
        |id: &str, title: &str, x_label: &str, rows: BTreeMap<&str, (usize, BTreeSet<i64>)>| {
            let mut rows: Vec<(String, usize, usize)> = rows
                .into_iter()
                .map(|(k, (n, inc))| (k.to_string(), n, inc.len()))
                .collect();
            rows.sort_by(|a, b| {
                let ra = a.2 as f64 / a.1.max(1) as f64;
                let rb = b.2 as f64 / b.1.max(1) as f64;
                rb.total_cmp(&ra).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0))
            });
            let mut chart = Chart::new(id, title, ChartKind::Bars, x_label, "count");
            chart.x = rows.iter().map(|r| r.0.clone()).collect();
            chart
                .series("changes", rows.iter().map(|r| count(r.1)).collect())
                .series("incidents", rows.iter().map(|r| count(r.2)).collect())
                .series(
                    "incident_rate",
                    rows.iter()
                        .map(|r| (r.1 > 0).then(|| r.2 as f64 / r.1 as f64))
                        .collect(),
                )
        };
    let mut hours = Chart::new(
        "risky-hours",
        "Change-caused incidents by the hour their change started (UTC)",
        ChartKind::Heatmap,
        "hour",
        "incidents",
    );
    hours.x = (0..24).map(|h| format!("{h:02}")).collect();
    for (d, row) in grid.iter().enumerate() {
        hours = hours.series(DAYS[d], row.iter().map(|n| count(*n)).collect());
    }
    let total: usize = grid.iter().flatten().sum();
    [
        table(
            "risky-kinds",
            "Risky change kinds (changes, incidents after them, rate)",
            "kind",
            kinds,
        ),
        table(
            "risky-services",
            "Risky services (changes, incidents after them, rate)",
            "service",
            services,
        ),
        hours.figure("incidents", count(total)),
    ]
}

/// One alert name's totals over the period.
#[derive(Default)]
struct Tally {
    reports: i64,
    flaps: i64,
    incidents: BTreeSet<i64>,
}

fn noise(alerts: &[AlertRow]) -> [Chart; 2] {
    let mut by_name: BTreeMap<&str, Tally> = BTreeMap::new();
    for a in alerts {
        let t = by_name.entry(&a.alertname).or_default();
        t.reports += a.reports;
        t.flaps += a.flaps;
        t.incidents.extend(a.incident_id);
    }
    let mut rows: Vec<(&str, &Tally)> = by_name.iter().map(|(k, v)| (*k, v)).collect();
    rows.sort_by(|a, b| b.1.reports.cmp(&a.1.reports).then(a.0.cmp(b.0)));
    let quiet: Vec<(&str, &Tally)> = rows
        .iter()
        .copied()
        .filter(|r| r.1.incidents.is_empty())
        .collect();
    [
        alert_bars(
            "alert-noise",
            "Alert noise: reports, incidents opened and flaps by alert name",
            &rows,
            true,
        ),
        alert_bars(
            "tuning-candidates",
            "Tuning candidates: alerts that never led to an incident",
            &quiet,
            false,
        ),
    ]
}

/// Bars of reports (and incidents opened, if `with_incidents`) and flaps per alert name.
fn alert_bars(id: &str, title: &str, rows: &[(&str, &Tally)], with_incidents: bool) -> Chart {
    let mut chart = Chart::new(id, title, ChartKind::Bars, "alertname", "count");
    chart.x = rows.iter().map(|r| r.0.to_string()).collect();
    let mut chart = chart.series(
        "reports",
        rows.iter().map(|r| Some(r.1.reports as f64)).collect(),
    );
    if with_incidents {
        chart = chart.series(
            "incidents",
            rows.iter().map(|r| count(r.1.incidents.len())).collect(),
        );
    }
    chart
        .series(
            "flaps",
            rows.iter().map(|r| Some(r.1.flaps as f64)).collect(),
        )
        .figure("alert_names", count(rows.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn weeks_start_on_monday_and_cover_the_period() {
        // 2026-11-04 is a Wednesday; 2026-11-16 a Monday (excluded end).
        let from = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
        let w: Vec<String> = weeks(from, to).iter().map(|d| d.to_string()).collect();
        assert_eq!(w, ["2026-11-02", "2026-11-09"]);
    }

    #[test]
    fn a_confirmed_cause_beats_the_top_suspect() {
        let l = |i, c, rank, confirmed| Link {
            incident_id: i,
            change_id: c,
            rank,
            confirmed,
        };
        let c = causes(&[l(1, 10, 1, false), l(1, 11, 2, true), l(2, 12, 2, false)]);
        assert_eq!(c.get(&1), Some(&11));
        assert_eq!(c.get(&2), None);
    }
}
