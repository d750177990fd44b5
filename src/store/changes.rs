//! Change rows, their lifecycle history, and the suspects linked to incidents.

use super::rows::{get_json, get_parsed, get_time, get_time_opt, json_text, ms, ms_opt};
use super::{Backend, Store, StoreResult, Tx};
use crate::domain::TimelineEvent;
use crate::domain::change::{Change, ChangeStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

const COLUMNS: &str = "id, source, external_id, kind, service, services, environment, summary, author, version, \
    links, status, rollback_of, rollback_plan, started_at, ended_at, created_at, updated_at, committed_at";

fn change_from_row(row: &AnyRow) -> StoreResult<Change> {
    Ok(Change {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        external_id: row.try_get("external_id")?,
        kind: get_parsed(row, "kind")?,
        service: row.try_get("service")?,
        services: get_json(row, "services")?,
        environment: row.try_get("environment")?,
        summary: row.try_get("summary")?,
        author: row.try_get("author")?,
        version: row.try_get("version")?,
        links: get_json(row, "links")?,
        status: get_parsed(row, "status")?,
        rollback_of: row.try_get("rollback_of")?,
        rollback_plan: row.try_get("rollback_plan")?,
        started_at: get_time_opt(row, "started_at")?,
        ended_at: get_time_opt(row, "ended_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        committed_at: get_time_opt(row, "committed_at")?,
    })
}

/// One step in a change's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// Its id.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Option<String>,
    /// The status before, if any (none for the first).
    pub from: Option<ChangeStatus>,
    /// The status after.
    pub to: ChangeStatus,
    /// What happened, in words.
    pub text: Option<String>,
    /// Details (gate overrides, sources …).
    pub data: serde_json::Value,
}

/// A suspect linked to an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkedChange {
    /// The change.
    pub change: Change,
    /// Its score when last correlated.
    pub score: f64,
    /// Its rank when last correlated.
    pub rank: i64,
    /// The evidence.
    pub evidence: Vec<String>,
    /// Whether the commander confirmed it as the cause.
    pub confirmed: bool,
}

/// Which changes a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Only changes touching this service first.
    pub service: Option<String>,
    /// Only this status.
    pub status: Option<ChangeStatus>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl super::StoreError {
    /// Whether a unique index refused the write (two writers raced on one natural key).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, super::StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
    }
}

impl Tx {
    /// Inserts a change (its `id` is ignored) and returns its id.
    pub async fn insert_change(&mut self, c: &Change) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO changes (source, external_id, kind, service, services, environment, summary, author, \
             version, links, status, rollback_of, rollback_plan, started_at, ended_at, created_at, updated_at, \
             committed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
        )
        .bind(&c.source)
        .bind(&c.external_id)
        .bind(c.kind.as_str())
        .bind(&c.service)
        .bind(json_text(&c.services))
        .bind(&c.environment)
        .bind(&c.summary)
        .bind(&c.author)
        .bind(&c.version)
        .bind(json_text(&c.links))
        .bind(c.status.as_str())
        .bind(c.rollback_of)
        .bind(&c.rollback_plan)
        .bind(ms_opt(c.started_at))
        .bind(ms_opt(c.ended_at))
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .bind(ms_opt(c.committed_at))
        .fetch_one(self.conn())
        .await?)
    }

    /// Reads a change and locks it until commit (PostgreSQL).
    pub async fn change_for_update(&mut self, id: i64) -> StoreResult<Option<Change>> {
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT {COLUMNS} FROM changes WHERE id = $1{lock}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(change_from_row).transpose()
    }

    /// The change a source knows by `external_id`, locked until commit (PostgreSQL).
    pub async fn change_by_external(
        &mut self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<Change>> {
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql =
            format!("SELECT {COLUMNS} FROM changes WHERE source = $1 AND external_id = $2{lock}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(source)
            .bind(external_id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(change_from_row).transpose()
    }

    /// Writes a change's mutable fields back.
    pub async fn save_change(&mut self, c: &Change) -> StoreResult<()> {
        sqlx::query(
            "UPDATE changes SET status = $1, started_at = $2, ended_at = $3, updated_at = $4, version = $5, \
             author = $6, summary = $7, links = $8, environment = $9, committed_at = $10 WHERE id = $11",
        )
        .bind(c.status.as_str())
        .bind(ms_opt(c.started_at))
        .bind(ms_opt(c.ended_at))
        .bind(ms(c.updated_at))
        .bind(&c.version)
        .bind(&c.author)
        .bind(&c.summary)
        .bind(json_text(&c.links))
        .bind(&c.environment)
        .bind(ms_opt(c.committed_at))
        .bind(c.id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Appends a step to a change's history.
    #[allow(clippy::too_many_arguments)]
    pub async fn append_change_event(
        &mut self,
        change_id: i64,
        at: DateTime<Utc>,
        actor: Option<&str>,
        from: Option<ChangeStatus>,
        to: ChangeStatus,
        text: &str,
        data: &serde_json::Value,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO change_events (change_id, at, actor, from_status, to_status, text, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(change_id)
        .bind(ms(at))
        .bind(actor)
        .bind(from.map(|f| f.as_str()))
        .bind(to.as_str())
        .bind(text)
        .bind(json_text(data))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Links (or re-scores) a suspect; returns true when it was not linked before.
    pub async fn link_change(
        &mut self,
        incident_id: i64,
        change_id: i64,
        score: f64,
        rank: i64,
        evidence: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO incident_changes (incident_id, change_id, score, rank, evidence, linked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id, change_id) DO NOTHING RETURNING change_id",
        )
        .bind(incident_id)
        .bind(change_id)
        .bind(score)
        .bind(rank)
        .bind(json_text(&evidence))
        .bind(ms(now))
        .fetch_optional(self.conn())
        .await?;
        if inserted.is_none() {
            sqlx::query(
                "UPDATE incident_changes SET score = $1, rank = $2, evidence = $3 \
                 WHERE incident_id = $4 AND change_id = $5",
            )
            .bind(score)
            .bind(rank)
            .bind(json_text(&evidence))
            .bind(incident_id)
            .bind(change_id)
            .execute(self.conn())
            .await?;
        }
        Ok(inserted.is_some())
    }

    /// Removes links that are no longer suspects (the reference time moved), keeping confirmed ones.
    pub async fn unlink_stale(&mut self, incident_id: i64, keep: &[i64]) -> StoreResult<()> {
        let linked: Vec<i64> = sqlx::query_scalar(
            "SELECT change_id FROM incident_changes WHERE incident_id = $1 AND confirmed = 0",
        )
        .bind(incident_id)
        .fetch_all(self.conn())
        .await?;
        for change_id in linked.into_iter().filter(|c| !keep.contains(c)) {
            sqlx::query("DELETE FROM incident_changes WHERE incident_id = $1 AND change_id = $2")
                .bind(incident_id)
                .bind(change_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Marks a change as the confirmed cause of an incident (linking it if needed).
    pub async fn confirm_change(
        &mut self,
        incident_id: i64,
        change_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incident_changes (incident_id, change_id, score, rank, evidence, confirmed, linked_at) \
             VALUES ($1, $2, 0, 0, '[]', 1, $3) ON CONFLICT (incident_id, change_id) DO UPDATE SET confirmed = 1",
        )
        .bind(incident_id)
        .bind(change_id)
        .bind(ms(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// One change.
    pub async fn change(&self, id: i64) -> StoreResult<Option<Change>> {
        let sql = format!("SELECT {COLUMNS} FROM changes WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(change_from_row).transpose()
    }

    /// Changes matching `filter`, newest first.
    pub async fn changes(&self, filter: &ChangeFilter) -> StoreResult<Vec<Change>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM changes WHERE ($1 = '' OR service = $1) AND ($2 = '' OR status = $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(filter.service.clone().unwrap_or_default())
            .bind(filter.status.map(|s| s.as_str()).unwrap_or_default())
            .bind(filter.limit.clamp(1, 500))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(change_from_row).collect()
    }

    /// Changes that started in `[from, to]`, oldest first.
    pub async fn changes_started_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Change>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM changes WHERE started_at >= $1 AND started_at <= $2 ORDER BY started_at"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ms(from))
            .bind(ms(to))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(change_from_row).collect()
    }

    /// A change's history, oldest first.
    pub async fn change_events(&self, change_id: i64) -> StoreResult<Vec<ChangeEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, from_status, to_status, text, data FROM change_events \
             WHERE change_id = $1 ORDER BY id",
        )
        .bind(change_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let from: Option<String> = r.try_get("from_status")?;
                Ok(ChangeEvent {
                    id: r.try_get("id")?,
                    at: get_time(r, "at")?,
                    actor: r.try_get("actor")?,
                    from: from.and_then(|f| f.parse().ok()),
                    to: get_parsed(r, "to_status")?,
                    text: r.try_get("text")?,
                    data: get_json(r, "data")?,
                })
            })
            .collect()
    }

    /// The suspects linked to an incident, by rank (confirmed first).
    pub async fn linked_changes(&self, incident_id: i64) -> StoreResult<Vec<LinkedChange>> {
        linked(&self.read, incident_id).await
    }

    /// An incident's alert events (`alert_firing`, `alert_resolved`, `alerts_resolved`), oldest first:
    /// what correlation and rollback verification read, without the rest of a long timeline.
    pub async fn alert_events(&self, incident_id: i64) -> StoreResult<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events \
             WHERE incident_id = $1 AND kind IN ('alert_firing', 'alert_resolved', 'alerts_resolved') ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(super::timeline::event_from_row).collect()
    }

    /// Every (incident, change, rank, confirmed) link, for history and reports.
    pub async fn change_links(&self) -> StoreResult<Vec<(i64, i64, i64, bool)>> {
        let rows =
            sqlx::query("SELECT incident_id, change_id, rank, confirmed FROM incident_changes")
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("incident_id")?,
                    r.try_get("change_id")?,
                    r.try_get("rank")?,
                    r.try_get::<i64, _>("confirmed")? != 0,
                ))
            })
            .collect()
    }

    /// Changes per (kind, service), and how many of them were confirmed as a cause.
    pub async fn change_history(&self) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT c.kind, c.service, COUNT(DISTINCT c.id) AS n, \
             COUNT(DISTINCT CASE WHEN l.confirmed = 1 THEN c.id END) AS caused \
             FROM changes c LEFT JOIN incident_changes l ON l.change_id = c.id \
             GROUP BY c.kind, c.service",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    r.try_get("service")?,
                    r.try_get("n")?,
                    r.try_get("caused")?,
                ))
            })
            .collect()
    }
}

impl super::Tx {
    /// The suspects linked to an incident, as this transaction sees them.
    pub async fn linked_changes(&mut self, incident_id: i64) -> StoreResult<Vec<LinkedChange>> {
        linked(self.conn(), incident_id).await
    }
}

async fn linked<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    incident_id: i64,
) -> StoreResult<Vec<LinkedChange>> {
    let cols: String = COLUMNS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols}, l.score, l.rank, l.evidence, l.confirmed FROM incident_changes l \
             JOIN changes c ON c.id = l.change_id WHERE l.incident_id = $1 \
             ORDER BY l.confirmed DESC, l.rank, l.change_id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident_id)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LinkedChange {
                change: change_from_row(r)?,
                score: r.try_get("score")?,
                rank: r.try_get("rank")?,
                evidence: get_json(r, "evidence")?,
                confirmed: r.try_get::<i64, _>("confirmed")? != 0,
            })
        })
        .collect()
}
