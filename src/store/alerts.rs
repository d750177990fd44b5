//! Alerts (current state per fingerprint) and alert groups (durable grouping timers).

use super::rows::{get_json, get_parsed, get_time, get_time_opt, json_text, ms, ms_opt};
use super::{Backend, Store, StoreError, StoreResult, Tx};
use crate::domain::alert::{Alert, AlertStatus};
use crate::domain::alert_policy::OpenIncident;
use crate::domain::alert_rules::FiringRef;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

/// `reports` is the row's own count plus the duplicates counted apart (`alert_duplicates`); `written`
/// the row's own count alone, which moves only when the row is rewritten.
const COLUMNS: &str = "fingerprint, source, status, alertname, service, grade, labels, annotations, starts_at, \
    ends_at, generator_url, group_key, incident_id, inhibited_by, dirty, flaps, reports AS written, \
    reports + COALESCE((SELECT d.reports FROM alert_duplicates d WHERE d.fingerprint = alerts.fingerprint), 0) \
    AS reports, acknowledged_at, first_seen, updated_at, announced_at";

/// Rows per multi-row upsert and fingerprints per `IN (…)` list. Kept small on purpose: SQLite resolves
/// each `$N` parameter by a linear scan, so binding costs grow with the square of the parameter count.
const WRITE_ROWS: usize = 16;
const IN_LIST: usize = 128;

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

/// What the ingest path knows of a fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownAlert {
    /// Last status.
    pub status: AlertStatus,
    /// Last start.
    pub starts_at: DateTime<Utc>,
    /// Flap count.
    pub flaps: i64,
}

/// An alert to write (insert or update).
#[derive(Debug, Clone)]
pub struct AlertWrite<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// Its grade.
    pub grade: &'a str,
    /// Its group.
    pub group_key: &'a str,
    /// Its flap count.
    pub flaps: i64,
    /// How many accepted reports this write stands for.
    pub reports: i64,
}

/// Reports of one alert that all repeat one (status, start): counted if that is what is stored.
#[derive(Debug, Clone)]
pub struct Repeat<'a> {
    /// The alert.
    pub fingerprint: &'a str,
    /// The status the reports state.
    pub status: AlertStatus,
    /// The start the reports state.
    pub starts_at: DateTime<Utc>,
    /// How many reports.
    pub reports: i64,
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
    })
}

fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Placeholders for a statement whose parameters all appear once, in binding order: plain `?` on
/// SQLite (its binding looks every `$N` name up by a linear scan: quadratic in a wide statement),
/// `$N` on PostgreSQL.
fn placeholders_in_order(backend: Backend, start: usize, n: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(", "),
        Backend::Postgres => placeholders(start, n),
    }
}

impl Tx {
    /// What is known of these fingerprints.
    pub async fn known_alerts(
        &mut self,
        fingerprints: &[&str],
    ) -> StoreResult<HashMap<String, KnownAlert>> {
        let mut out = HashMap::new();
        // On PostgreSQL the rows are locked in fingerprint order, so concurrent ingests never deadlock.
        let lock = if self.backend() == Backend::Postgres {
            " ORDER BY fingerprint FOR UPDATE"
        } else {
            ""
        };
        for chunk in fingerprints.chunks(IN_LIST) {
            let sql = format!(
                "SELECT fingerprint, status, starts_at, flaps FROM alerts WHERE fingerprint IN ({}){lock}",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for f in chunk {
                q = q.bind(*f);
            }
            for row in q.fetch_all(self.conn()).await? {
                out.insert(
                    row.try_get("fingerprint")?,
                    KnownAlert {
                        status: get_parsed(&row, "status")?,
                        starts_at: get_time(&row, "starts_at")?,
                        flaps: row.try_get("flaps")?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Inserts or updates alerts (marking them for dispatch), many rows per statement.
    pub async fn write_alerts(
        &mut self,
        writes: &[AlertWrite<'_>],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        const COLS: usize = 16;
        let backend = self.backend();
        for chunk in writes.chunks(WRITE_ROWS) {
            let mut sql = String::from(
                "INSERT INTO alerts (fingerprint, source, status, alertname, service, grade, labels, annotations, \
                 starts_at, ends_at, generator_url, group_key, flaps, reports, first_seen, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&placeholders_in_order(backend, i * COLS + 1, COLS));
                sql.push(')');
            }
            sql.push_str(
                " ON CONFLICT (fingerprint) DO UPDATE SET source = excluded.source, status = excluded.status, \
                 alertname = excluded.alertname, service = excluded.service, grade = excluded.grade, \
                 labels = excluded.labels, annotations = excluded.annotations, starts_at = excluded.starts_at, \
                 ends_at = excluded.ends_at, generator_url = excluded.generator_url, \
                 group_key = excluded.group_key, flaps = excluded.flaps, updated_at = excluded.updated_at, \
                 dirty = 1, reports = alerts.reports + excluded.reports",
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for w in chunk {
                let a = w.alert;
                q = q
                    .bind(a.fingerprint.clone())
                    .bind(a.source.as_str())
                    .bind(a.status.as_str())
                    .bind(a.alertname().to_string())
                    .bind(a.service.clone())
                    .bind(w.grade.to_string())
                    .bind(json_text(&a.labels))
                    .bind(json_text(&a.annotations))
                    .bind(ms(a.starts_at))
                    .bind(ms_opt(a.ends_at))
                    .bind(a.generator_url.clone())
                    .bind(w.group_key.to_string())
                    .bind(w.flaps)
                    .bind(w.reports)
                    .bind(ms(now))
                    .bind(ms(now));
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Counts the reports of each repeat whose alert is stored with exactly the repeated status and
    /// start (so every such report is a pure duplicate), in one statement whatever their number;
    /// returns the fingerprints it counted. `repeats` must be in fingerprint order, fingerprints
    /// distinct. The check and the count are one atomic statement, so the database decides, not a
    /// cache; the count goes to the narrow `alert_duplicates` row, not the wide alert row.
    pub async fn count_if_unchanged(&mut self, repeats: &[Repeat<'_>]) -> StoreResult<Vec<String>> {
        if repeats.is_empty() {
            return Ok(Vec::new());
        }
        match self.backend() {
            Backend::Sqlite => {
                // One writer at a time: no lock order to keep, so one statement per (status, start,
                // count) with a plain list of fingerprints (cheaper to read than a list of records).
                let mut by_state: BTreeMap<(&str, i64, i64), Vec<&str>> = BTreeMap::new();
                for r in repeats {
                    by_state
                        .entry((r.status.as_str(), ms(r.starts_at), r.reports))
                        .or_default()
                        .push(r.fingerprint);
                }
                let mut counted = Vec::new();
                for ((status, start, n), fps) in by_state {
                    counted.extend(self.count_sqlite_duplicates(&fps, status, start, n).await?);
                }
                Ok(counted)
            }
            Backend::Postgres => {
                // The list drives the plan: one primary-key probe per fingerprint, whatever the table's
                // statistics say (`OFFSET 0` keeps the planner from turning the probes into a scan).
                // One statement locks every counter row of the commit, in fingerprint order, so
                // concurrent writers never deadlock. One row comes back: how many were counted and,
                // only when not all, which.
                let list = serde_json::Value::Array(
                    repeats
                        .iter()
                        .map(|r| {
                            serde_json::json!({"f": r.fingerprint, "s": r.status.as_str(),
                                "t": ms(r.starts_at), "n": r.reports})
                        })
                        .collect(),
                )
                .to_string();
                let row = sqlx::query(
                    "WITH counted AS (INSERT INTO alert_duplicates (fingerprint, reports) \
                     SELECT a.fingerprint, j.n FROM json_to_recordset($1::json) AS j(f text, s text, t bigint, n bigint) \
                     CROSS JOIN LATERAL (SELECT fingerprint, status, starts_at FROM alerts \
                     WHERE fingerprint = j.f OFFSET 0) AS a WHERE a.status = j.s AND a.starts_at = j.t \
                     ORDER BY a.fingerprint \
                     ON CONFLICT (fingerprint) DO UPDATE SET reports = alert_duplicates.reports + excluded.reports \
                     RETURNING fingerprint) \
                     SELECT COUNT(*) AS n, CASE WHEN COUNT(*) = $2 THEN NULL \
                     ELSE CAST(json_agg(fingerprint) AS TEXT) END AS which FROM counted",
                )
                .bind(list)
                .bind(repeats.len() as i64)
                .fetch_one(self.conn())
                .await?;
                let counted: i64 = row.try_get("n")?;
                let which: Option<String> = row.try_get("which")?;
                match which {
                    _ if counted == 0 => Ok(Vec::new()),
                    None => Ok(repeats.iter().map(|r| r.fingerprint.to_string()).collect()),
                    Some(json) => Ok(serde_json::from_str(&json)
                        .map_err(|e| StoreError::Corrupt(format!("counted fingerprints: {e}")))?),
                }
            }
        }
    }

    /// SQLite's conditional count for one (status, start, count): how [`Tx::count_if_unchanged`] runs there.
    async fn count_sqlite_duplicates(
        &mut self,
        fingerprints: &[&str],
        status: &str,
        starts_at: i64,
        n: i64,
    ) -> StoreResult<Vec<String>> {
        let list = serde_json::to_string(fingerprints).unwrap_or_else(|_| "[]".into());
        // The list drives the plan: `CROSS JOIN` fixes the join order and the unary `+` keeps the status
        // index out, so each fingerprint is one primary-key probe however many alerts fire. SQLite hands
        // rows over one by one from its worker thread: count instead of returning them, and only when
        // some did not match, ask which did (this transaction holds the only write lock, so the rows
        // that match now are the rows that were counted).
        let done = sqlx::query(
            "INSERT INTO alert_duplicates (fingerprint, reports) SELECT a.fingerprint, $1 \
             FROM json_each($2) AS j CROSS JOIN alerts AS a ON a.fingerprint = j.value \
             WHERE +a.status = $3 AND +a.starts_at = $4 \
             ON CONFLICT (fingerprint) DO UPDATE SET reports = alert_duplicates.reports + excluded.reports",
        )
        .bind(n)
        .bind(list.clone())
        .bind(status)
        .bind(starts_at)
        .execute(self.conn())
        .await?;
        match done.rows_affected() {
            0 => Ok(Vec::new()),
            k if k as usize == fingerprints.len() => {
                Ok(fingerprints.iter().map(|f| f.to_string()).collect())
            }
            _ => {
                let rows = sqlx::query(
                    "SELECT a.fingerprint FROM json_each($1) AS j CROSS JOIN alerts AS a \
                     ON a.fingerprint = j.value WHERE +a.status = $2 AND +a.starts_at = $3",
                )
                .bind(list)
                .bind(status)
                .bind(starts_at)
                .fetch_all(self.conn())
                .await?;
                rows.iter().map(|r| Ok(r.try_get("fingerprint")?)).collect()
            }
        }
    }

    /// Counts `n` duplicate reports of each of these known alerts.
    pub async fn count_duplicates(&mut self, fingerprints: &[&str], n: i64) -> StoreResult<()> {
        for chunk in fingerprints.chunks(IN_LIST) {
            let sql = format!(
                "UPDATE alerts SET reports = reports + $1 WHERE fingerprint IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(n);
            for f in chunk {
                q = q.bind(*f);
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Records a PagerDuty acknowledgement; false when the fingerprint is unknown.
    pub async fn acknowledge_alert(
        &mut self,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET acknowledged_at = $1, updated_at = $2 WHERE fingerprint = $3",
        )
        .bind(ms(now))
        .bind(ms(now))
        .bind(fingerprint)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates each group or schedules its next dispatch: `now + wait` for a new group, else one
    /// `interval` after its last dispatch (at the earliest now); an already scheduled dispatch stays.
    /// Many groups per statement; `groups` (key, service) in key order, keys distinct.
    pub async fn touch_groups(
        &mut self,
        groups: &[(&str, Option<&str>)],
        now: DateTime<Utc>,
        wait: TimeDelta,
        interval: TimeDelta,
    ) -> StoreResult<()> {
        for chunk in groups.chunks(WRITE_ROWS * 2) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, $2, $2, $3)", 4 + 2 * i, 5 + 2 * i))
                .collect();
            let sql = format!(
                "INSERT INTO alert_groups (group_key, service, first_seen, last_seen, next_flush_at) \
                 VALUES {} ON CONFLICT (group_key) DO UPDATE SET last_seen = excluded.last_seen, \
                 next_flush_at = COALESCE(alert_groups.next_flush_at, CASE \
                   WHEN alert_groups.last_flush_at IS NULL THEN excluded.next_flush_at \
                   WHEN alert_groups.last_flush_at + $1 > $2 THEN alert_groups.last_flush_at + $1 \
                   ELSE $2 END)",
                rows.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(interval.num_milliseconds())
                .bind(ms(now))
                .bind(ms(now + wait));
            for (key, service) in chunk {
                q = q.bind(key.to_string()).bind(service.map(str::to_string));
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }

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

    /// Marks an alert dispatched: its incident, inhibition and (if announced) when. A write that arrived
    /// since it was read (`written` moved on) keeps it pending for the next dispatch.
    pub async fn alert_dispatched(
        &mut self,
        fingerprint: &str,
        written: i64,
        incident_id: Option<i64>,
        inhibited_by: Option<&str>,
        announced_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE alerts SET dirty = 0, incident_id = COALESCE($1, incident_id), inhibited_by = $2, \
             announced_at = COALESCE($3, announced_at) WHERE fingerprint = $4 AND reports = $5",
        )
        .bind(incident_id)
        .bind(inhibited_by)
        .bind(ms_opt(announced_at))
        .bind(fingerprint)
        .bind(written)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Re-queues the firing alerts that `fingerprint` inhibited (it resolved), due at once.
    pub async fn release_inhibited(
        &mut self,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE alerts SET dirty = 1 WHERE inhibited_by = $1 AND status = 'firing'")
            .bind(fingerprint)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "UPDATE alert_groups SET next_flush_at = $1 WHERE next_flush_at IS NULL AND group_key IN \
             (SELECT group_key FROM alerts WHERE inhibited_by = $2 AND status = 'firing')",
        )
        .bind(ms(now))
        .bind(fingerprint)
        .execute(self.conn())
        .await?;
        Ok(())
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

    /// Records a dispatch: the group's incident, and nothing due until the next change.
    pub async fn group_dispatched(
        &mut self,
        key: &str,
        incident_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE alert_groups SET incident_id = $1, last_flush_at = $2, next_flush_at = CASE \
             WHEN EXISTS (SELECT 1 FROM alerts WHERE group_key = $3 AND dirty = 1) THEN $4 ELSE NULL END \
             WHERE group_key = $5",
        )
        .bind(incident_id)
        .bind(ms(now))
        .bind(key)
        .bind(ms(now))
        .bind(key)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
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
