//! Alerts (current state per fingerprint) and alert groups (durable grouping timers).

use super::rows::{get_json, get_parsed, get_time, get_time_opt, ms};
use super::{Backend, Store, StoreResult, Tx};
use crate::domain::alert::{Alert, AlertStatus};
use crate::domain::alert_policy::OpenIncident;
use crate::domain::alert_rules::FiringRef;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;

/// `reports` is the row's own count plus the duplicates counted apart (`alert_duplicates`); `written`
/// the row's own count alone, which moves only when the row is rewritten.
const COLUMNS: &str = "fingerprint, source, status, alertname, service, grade, labels, annotations, starts_at, \
    ends_at, generator_url, group_key, incident_id, inhibited_by, dirty, flaps, reports AS written, \
    reports + COALESCE((SELECT d.reports FROM alert_duplicates d WHERE d.fingerprint = alerts.fingerprint), 0) \
    AS reports, acknowledged_at, first_seen, updated_at, announced_at";

/// An alert as stored, with what governance decided about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// `P0`…`P3` or `record`.
    pub grade: String,
    /// Its group.
    pub group_key: String,
    /// The incident it feeds, once dispatched.
    pub incident_id: Option<i64>,
    /// The fingerprint of the alert that inhibits it, if inhibited.
    pub inhibited_by: Option<String>,
    /// Whether a change awaits dispatch.
    pub pending: bool,
    /// How often it fired again after resolving.
    pub flaps: i64,
    /// How many reports of it arrived (duplicates included).
    pub reports: i64,
    /// How often its row was written (changes and duplicates the classifying path saw): a dispatch
    /// checks it to notice a change that arrived meanwhile.
    #[serde(skip)]
    pub written: i64,
    /// When a PagerDuty `acknowledge` arrived.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// First report.
    pub first_seen: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When its last `alert_firing` event was appended.
    pub announced_at: Option<DateTime<Utc>>,
}

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertGroup {
    /// The group key.
    pub group_key: String,
    /// The service of its first alert.
    pub service: Option<String>,
    /// The incident it feeds.
    pub incident_id: Option<i64>,
    /// First alert.
    pub first_seen: DateTime<Utc>,
    /// Last alert.
    pub last_seen: DateTime<Utc>,
    /// Last dispatch.
    pub last_flush_at: Option<DateTime<Utc>>,
    /// Next dispatch due, if changes wait.
    pub next_flush_at: Option<DateTime<Utc>>,
    /// Dispatches that failed in a row (0 when the last one worked): a poisoned group backs off alone.
    pub dispatch_failures: i64,
    /// Why the last dispatch failed, while it keeps failing.
    pub last_error: Option<String>,
}

/// Which alerts a listing returns.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this fingerprint.
    pub fingerprint: Option<String>,
    /// Only alerts of this incident.
    pub incident: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

fn record_from_row(row: &AnyRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        alert: Alert {
            fingerprint: row.try_get("fingerprint")?,
            source: get_parsed(row, "source")?,
            status: get_parsed(row, "status")?,
            labels: get_json(row, "labels")?,
            annotations: get_json(row, "annotations")?,
            starts_at: get_time(row, "starts_at")?,
            ends_at: get_time_opt(row, "ends_at")?,
            generator_url: row.try_get("generator_url")?,
            service: row.try_get("service")?,
        },
        grade: row.try_get("grade")?,
        group_key: row.try_get("group_key")?,
        incident_id: row.try_get("incident_id")?,
        inhibited_by: row.try_get("inhibited_by")?,
        pending: row.try_get::<i64, _>("dirty")? != 0,
        flaps: row.try_get("flaps")?,
        reports: row.try_get("reports")?,
        written: row.try_get("written")?,
        acknowledged_at: get_time_opt(row, "acknowledged_at")?,
        first_seen: get_time(row, "first_seen")?,
        updated_at: get_time(row, "updated_at")?,
        announced_at: get_time_opt(row, "announced_at")?,
    })
}

fn group_from_row(row: &AnyRow) -> StoreResult<AlertGroup> {
    Ok(AlertGroup {
        group_key: row.try_get("group_key")?,
        service: row.try_get("service")?,
        incident_id: row.try_get("incident_id")?,
        first_seen: get_time(row, "first_seen")?,
        last_seen: get_time(row, "last_seen")?,
        last_flush_at: get_time_opt(row, "last_flush_at")?,
        next_flush_at: get_time_opt(row, "next_flush_at")?,
        dispatch_failures: row.try_get("dispatch_failures")?,
        last_error: row.try_get("last_error")?,
    })
}

impl Tx {
    /// Serialises dispatchers across replicas (PostgreSQL advisory lock until commit; SQLite has one writer).
    pub async fn lock_dispatch(&mut self) -> StoreResult<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7270110001)")
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Groups whose dispatch is due, oldest first, locked (skipping locked ones on PostgreSQL).
    pub async fn due_groups(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<AlertGroup>> {
        let sql = match self.backend() {
            // Dispatchers are serialised by `lock_dispatch`; groups are not row-locked here so that the
            // dispatcher takes row locks in the same order as ingest (alerts, then groups).
            Backend::Postgres | Backend::Sqlite => {
                "SELECT * FROM alert_groups WHERE next_flush_at <= $1 ORDER BY next_flush_at LIMIT $2"
            }
        };
        let rows = sqlx::query(sql)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// One group, if its dispatch is (still) due.
    pub async fn due_group(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertGroup>> {
        let row =
            sqlx::query("SELECT * FROM alert_groups WHERE group_key = $1 AND next_flush_at <= $2")
                .bind(key)
                .bind(ms(now))
                .fetch_optional(self.conn())
                .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// A group's alerts that wait for dispatch.
    pub async fn pending_alerts(&mut self, group_key: &str) -> StoreResult<Vec<AlertRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE group_key = $1 AND dirty = 1 ORDER BY fingerprint"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(group_key)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// The alerts of several groups that wait for dispatch, in one statement: per group key, in
    /// fingerprint order (a group without any is absent).
    pub async fn pending_alerts_of(
        &mut self,
        group_keys: &[&str],
    ) -> StoreResult<HashMap<String, Vec<AlertRecord>>> {
        let list = serde_json::to_string(group_keys).unwrap_or_else(|_| "[]".into());
        let keys = match self.backend() {
            Backend::Sqlite => "SELECT value FROM json_each($1)",
            Backend::Postgres => "SELECT json_array_elements_text($1::json)",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE dirty = 1 AND group_key IN ({keys}) \
             ORDER BY group_key, fingerprint"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(list)
            .fetch_all(self.conn())
            .await?;
        let mut out: HashMap<String, Vec<AlertRecord>> = HashMap::new();
        for row in &rows {
            let r = record_from_row(row)?;
            out.entry(r.group_key.clone()).or_default().push(r);
        }
        Ok(out)
    }

    /// Every firing alert, as a possible inhibition source.
    pub async fn firing_alerts(&mut self) -> StoreResult<Vec<FiringRef>> {
        let rows = sqlx::query(
            "SELECT fingerprint, labels, service FROM alerts WHERE status = 'firing' AND grade <> 'record'",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FiringRef {
                    fingerprint: r.try_get("fingerprint")?,
                    labels: get_json(r, "labels")?,
                    service: r.try_get("service")?,
                })
            })
            .collect()
    }

    /// Open incidents on a service detected since `since` (root-cause merge candidates).
    pub async fn open_incidents_since(
        &mut self,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<OpenIncident>> {
        let rows = sqlx::query(
            "SELECT id, service, detected_at FROM incidents WHERE service IS NOT NULL AND detected_at >= $1 \
             AND status IN ('detected', 'declared', 'triaging', 'mitigating') ORDER BY id",
        )
        .bind(ms(since))
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenIncident {
                    id: r.try_get("id")?,
                    service: r.try_get("service")?,
                    detected_at: get_time(r, "detected_at")?,
                })
            })
            .collect()
    }

    /// The earliest start among the alerts announced (`alert_firing`) to an incident.
    pub async fn earliest_announced_start(
        &mut self,
        incident_id: i64,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(starts_at) AS earliest FROM alerts \
             WHERE incident_id = $1 AND announced_at IS NOT NULL",
        )
        .bind(incident_id)
        .fetch_one(self.conn())
        .await?;
        get_time_opt(&row, "earliest")
    }

    /// How many of an incident's alerts still fire, and the latest end among them.
    pub async fn incident_alert_state(
        &mut self,
        incident_id: i64,
    ) -> StoreResult<(i64, i64, Option<DateTime<Utc>>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, \
             SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END) AS firing, MAX(ends_at) AS last_end \
             FROM alerts WHERE incident_id = $1",
        )
        .bind(incident_id)
        .fetch_one(self.conn())
        .await?;
        let total: i64 = row.try_get("total")?;
        let firing: Option<i64> = row.try_get("firing")?;
        Ok((total, firing.unwrap_or(0), get_time_opt(&row, "last_end")?))
    }

    /// The fingerprints of an incident's alerts.
    pub async fn incident_fingerprints(&mut self, incident_id: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT fingerprint FROM alerts WHERE incident_id = $1 ORDER BY fingerprint",
        )
        .bind(incident_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("fingerprint")?)).collect()
    }

    /// Records a group's dispatch; changes that arrived meanwhile are due at `next` (else no timer).
    pub async fn group_dispatched(
        &mut self,
        key: &str,
        incident_id: Option<i64>,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE alert_groups SET incident_id = $1, last_flush_at = $2, dispatch_failures = 0, \
             last_error = NULL, next_flush_at = CASE \
             WHEN EXISTS (SELECT 1 FROM alerts WHERE group_key = $3 AND dirty = 1) THEN $4 ELSE NULL END \
             WHERE group_key = $5",
        )
        .bind(incident_id)
        .bind(ms(now))
        .bind(key)
        .bind(ms(next))
        .bind(key)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Records a failed dispatch of group `key` and when to try it again; returns the failures in a row.
    pub async fn group_dispatch_failed(
        &mut self,
        key: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let failures: Option<i64> = sqlx::query_scalar(
            "UPDATE alert_groups SET dispatch_failures = dispatch_failures + 1, last_error = $1, \
             next_flush_at = $2 WHERE group_key = $3 RETURNING dispatch_failures",
        )
        .bind(error)
        .bind(ms(retry_at))
        .bind(key)
        .fetch_optional(self.conn())
        .await?;
        Ok(failures.unwrap_or(0))
    }
}

impl Store {
    /// When the next alert group is due for dispatch, if any is scheduled.
    pub async fn next_group_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let due: Option<i64> = sqlx::query_scalar("SELECT MIN(next_flush_at) FROM alert_groups")
            .fetch_one(&self.read)
            .await?;
        Ok(due.and_then(DateTime::from_timestamp_millis))
    }

    /// Alerts matching `filter`, most recently changed first.
    pub async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<AlertRecord>> {
        let mut sql = format!("SELECT {COLUMNS} FROM alerts WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.status.is_some() {
            sql.push_str(&format!(" AND status = {}", next()));
        }
        if filter.service.is_some() {
            sql.push_str(&format!(" AND service = {}", next()));
        }
        if filter.fingerprint.is_some() {
            sql.push_str(&format!(" AND fingerprint = {}", next()));
        }
        if filter.incident.is_some() {
            sql.push_str(&format!(" AND incident_id = {}", next()));
        }
        sql.push_str(&format!(
            " ORDER BY updated_at DESC, fingerprint LIMIT {}",
            next()
        ));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(s) = filter.status {
            q = q.bind(s.as_str());
        }
        if let Some(s) = &filter.service {
            q = q.bind(s.clone());
        }
        if let Some(f) = &filter.fingerprint {
            q = q.bind(f.clone());
        }
        if let Some(i) = filter.incident {
            q = q.bind(i);
        }
        let rows = q
            .bind(filter.limit.clamp(1, 1000))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Every alert group, newest first.
    pub async fn alert_groups(&self, limit: i64) -> StoreResult<Vec<AlertGroup>> {
        let rows = sqlx::query("SELECT * FROM alert_groups ORDER BY last_seen DESC LIMIT $1")
            .bind(limit.clamp(1, 1000))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// Total reports stored (every accepted report counts once) and alerts waiting for dispatch.
    pub async fn alert_totals(&self) -> StoreResult<(i64, i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(reports), 0) + \
             COALESCE((SELECT SUM(reports) FROM alert_duplicates), 0) AS BIGINT) AS reports, \
             CAST(COALESCE(SUM(dirty), 0) AS BIGINT) AS pending FROM alerts",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((
            row.try_get("n")?,
            row.try_get("reports")?,
            row.try_get("pending")?,
        ))
    }

    /// Open incidents per service.
    pub async fn open_incidents_by_service(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT service, id FROM incidents WHERE service IS NOT NULL \
             AND status IN ('detected', 'declared', 'triaging', 'mitigating') ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("service")?, r.try_get("id")?)))
            .collect()
    }
}
