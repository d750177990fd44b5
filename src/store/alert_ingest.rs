//! The alert ingest's writes: what is known of fingerprints, new and changed alerts, duplicate counts,
//! PagerDuty acknowledgements and the group timers a commit touches.

use super::rows::{get_parsed, get_time, json_text, ms, ms_opt};
use super::{Backend, StoreError, StoreResult, Tx};
use crate::domain::alert::{Alert, AlertStatus};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeMap, HashMap};

/// Rows per multi-row upsert and fingerprints per `IN (…)` list. Kept small on purpose: SQLite resolves
/// each `$N` parameter by a linear scan, so binding costs grow with the square of the parameter count.
const WRITE_ROWS: usize = 16;
const IN_LIST: usize = 128;

/// Alert rows per multi-row insert: their placeholders are plain `?` on SQLite (no name lookup), so a
/// wide statement costs no more to bind than a narrow one, and a storm's commit of 2,000 new alerts
/// takes 32 statements instead of 125.
const ALERT_ROWS: usize = 64;

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

/// Splits `rows` into statements of power-of-two widths up to `widest` (widest first), so that a
/// multi-row statement has at most a handful of distinct texts: each stays in the connection's cache of
/// prepared statements (100 of them) instead of being parsed again for every remainder width.
pub(crate) fn pow2_chunks<T>(rows: &[T], widest: usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = rows;
    let mut width = widest.next_power_of_two();
    while !rest.is_empty() {
        while width > rest.len() {
            width /= 2;
        }
        let (head, tail) = rest.split_at(width);
        out.push(head);
        rest = tail;
    }
    out
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
        for chunk in pow2_chunks(fingerprints, IN_LIST) {
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
        for chunk in pow2_chunks(writes, ALERT_ROWS) {
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
                // only when not all, which. The alert rows are read, not locked: a report racing a
                // concurrent change of the same alert may be counted as a duplicate rather than stale;
                // both change nothing, only that counter differs.
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
    /// `interval` (`joined` once the group has an incident) after its last dispatch, at the earliest now;
    /// an already scheduled dispatch stays unless this one is sooner.
    /// Many groups per statement; `groups` (key, service) in key order, keys distinct.
    ///
    /// A group whose stored timer is already due at or before what this change asks for, and whose
    /// `last_seen` is less than [`LAST_SEEN_GRAIN`] old, is not written at all: in a storm of new alerts
    /// every commit touches every group, and concurrent writers would otherwise queue on the group rows'
    /// locks through each other's commits. The read takes no lock, so a dispatch that clears the timer
    /// before this commit is visible to it can leave these alerts pending without a timer; the dispatcher
    /// re-arms such groups ([`Tx::rearm_pending_groups`]) on every round.
    pub async fn touch_groups(
        &mut self,
        groups: &[(&str, Option<&str>)],
        now: DateTime<Utc>,
        timing: GroupTiming,
    ) -> StoreResult<()> {
        if groups.is_empty() {
            return Ok(());
        }
        let stored = self.group_timers(groups).await?;
        let groups: Vec<(&str, Option<&str>)> = groups
            .iter()
            .filter(|(key, _)| stored.get(*key).is_none_or(|t| t.needs_touch(now, timing)))
            .copied()
            .collect();
        for chunk in pow2_chunks(&groups, WRITE_ROWS * 2) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, $2, $2, $3)", 5 + 2 * i, 6 + 2 * i))
                .collect();
            // The earlier of the scheduled dispatch (if any) and the one this change asks for.
            let due = "CASE WHEN alert_groups.last_flush_at IS NULL THEN excluded.next_flush_at \
                 WHEN alert_groups.last_flush_at + (CASE WHEN alert_groups.incident_id IS NULL THEN $1 ELSE $4 END) > $2 \
                 THEN alert_groups.last_flush_at + (CASE WHEN alert_groups.incident_id IS NULL THEN $1 ELSE $4 END) \
                 ELSE $2 END";
            let sql = format!(
                "INSERT INTO alert_groups (group_key, service, first_seen, last_seen, next_flush_at) \
                 VALUES {} ON CONFLICT (group_key) DO UPDATE SET last_seen = excluded.last_seen, \
                 next_flush_at = CASE WHEN alert_groups.next_flush_at IS NOT NULL \
                   AND alert_groups.next_flush_at <= {due} THEN alert_groups.next_flush_at ELSE {due} END",
                rows.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql))
                .bind(timing.interval.num_milliseconds())
                .bind(ms(now))
                .bind(ms(now + timing.wait))
                .bind(timing.joined.num_milliseconds());
            for (key, service) in chunk {
                q = q.bind(key.to_string()).bind(service.map(str::to_string));
            }
            q.execute(self.conn()).await?;
        }
        Ok(())
    }
}

/// How stale a group's `last_seen` may get before a touch writes it again.
pub const LAST_SEEN_GRAIN: TimeDelta = TimeDelta::seconds(1);

/// A group's timer as stored, read without a lock by [`Tx::touch_groups`].
#[derive(Debug, Clone, Copy)]
struct StoredTimer {
    joined: bool,
    last_seen: i64,
    last_flush_at: Option<i64>,
    next_flush_at: Option<i64>,
}

impl StoredTimer {
    /// Whether a touch now would change this group: the same rule as the upsert's, plus `last_seen`.
    fn needs_touch(&self, now: DateTime<Utc>, timing: GroupTiming) -> bool {
        let Some(next) = self.next_flush_at else {
            return true;
        };
        let now_ms = ms(now);
        let due = match self.last_flush_at {
            None => ms(now + timing.wait),
            Some(last) => {
                let wait = if self.joined {
                    timing.joined
                } else {
                    timing.interval
                };
                (last + wait.num_milliseconds()).max(now_ms)
            }
        };
        next > due || self.last_seen < ms(now - LAST_SEEN_GRAIN)
    }
}

impl Tx {
    /// The stored timers of these groups (no lock).
    async fn group_timers(
        &mut self,
        groups: &[(&str, Option<&str>)],
    ) -> StoreResult<HashMap<String, StoredTimer>> {
        let mut out = HashMap::with_capacity(groups.len());
        for chunk in pow2_chunks(groups, IN_LIST) {
            let sql = format!(
                "SELECT group_key, incident_id, last_seen, last_flush_at, next_flush_at FROM alert_groups \
                 WHERE group_key IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (key, _) in chunk {
                q = q.bind(*key);
            }
            for row in q.fetch_all(self.conn()).await? {
                out.insert(
                    row.try_get("group_key")?,
                    StoredTimer {
                        joined: row.try_get::<Option<i64>, _>("incident_id")?.is_some(),
                        last_seen: row.try_get("last_seen")?,
                        last_flush_at: row.try_get("last_flush_at")?,
                        next_flush_at: row.try_get("next_flush_at")?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Gives every group that has alerts waiting for dispatch but no timer (a touch skipped by
    /// [`Tx::touch_groups`] raced a dispatch that cleared it) a timer due now.
    pub async fn rearm_pending_groups(&mut self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE alert_groups SET next_flush_at = $1 WHERE next_flush_at IS NULL AND EXISTS \
             (SELECT 1 FROM alerts WHERE alerts.group_key = alert_groups.group_key AND alerts.dirty = 1)",
        )
        .bind(ms(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

/// When a touched group is dispatched.
#[derive(Debug, Clone, Copy)]
pub struct GroupTiming {
    /// A new group's wait before its first dispatch.
    pub wait: TimeDelta,
    /// The wait after a dispatch before the next (a group without an incident).
    pub interval: TimeDelta,
    /// The wait after a dispatch before the next once the group has an incident.
    pub joined: TimeDelta,
}
