//! Incident rows.

use super::rows::{get_json, get_parsed, get_time, get_time_opt, json_text, ms, ms_opt};
use super::{Store, StoreResult};
use crate::domain::{Incident, Severity, Status};
use sqlx::any::{Any, AnyRow};
use sqlx::{AssertSqlSafe, Executor, Row};

pub(super) const COLUMNS: &str = "id, title, status, severity, kind, service, roles, impact, declared_by, created_at, \
    updated_at, detected_at, declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at, cancelled_at";

/// Which incidents a listing returns.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only these statuses (any of them).
    pub statuses: Vec<Status>,
    /// Only these severities (any of them).
    pub severities: Vec<Severity>,
    /// Only this service.
    pub service: Option<String>,
    /// Only incidents with an id below this (paging newest first).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Reads an incident row.
pub(super) fn incident_from_row(row: &AnyRow) -> StoreResult<Incident> {
    Ok(Incident {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        status: get_parsed(row, "status")?,
        severity: get_parsed(row, "severity")?,
        kind: get_parsed(row, "kind")?,
        service: row.try_get("service")?,
        roles: get_json(row, "roles")?,
        impact: row.try_get("impact")?,
        declared_by: row.try_get("declared_by")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        detected_at: get_time(row, "detected_at")?,
        declared_at: get_time_opt(row, "declared_at")?,
        acknowledged_at: get_time_opt(row, "acknowledged_at")?,
        mitigated_at: get_time_opt(row, "mitigated_at")?,
        resolved_at: get_time_opt(row, "resolved_at")?,
        closed_at: get_time_opt(row, "closed_at")?,
        cancelled_at: get_time_opt(row, "cancelled_at")?,
    })
}

/// Inserts a new incident and returns its id.
pub(super) async fn insert<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    inc: &Incident,
) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (title, status, severity, kind, service, roles, impact, declared_by, \
         created_at, updated_at, detected_at, declared_at, acknowledged_at, mitigated_at, resolved_at, \
         closed_at, cancelled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(&inc.title)
    .bind(inc.status.as_str())
    .bind(inc.severity.as_str())
    .bind(inc.kind.as_str())
    .bind(&inc.service)
    .bind(json_text(&inc.roles))
    .bind(&inc.impact)
    .bind(&inc.declared_by)
    .bind(ms(inc.created_at))
    .bind(ms(inc.updated_at))
    .bind(ms(inc.detected_at))
    .bind(ms_opt(inc.declared_at))
    .bind(ms_opt(inc.acknowledged_at))
    .bind(ms_opt(inc.mitigated_at))
    .bind(ms_opt(inc.resolved_at))
    .bind(ms_opt(inc.closed_at))
    .bind(ms_opt(inc.cancelled_at))
    .fetch_one(ex)
    .await?;
    Ok(id)
}

/// Writes every mutable field of an incident back.
pub(super) async fn update<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    inc: &Incident,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE incidents SET title = $1, status = $2, severity = $3, kind = $4, service = $5, roles = $6, \
         impact = $7, updated_at = $8, declared_at = $9, acknowledged_at = $10, mitigated_at = $11, \
         resolved_at = $12, closed_at = $13, cancelled_at = $14 WHERE id = $15",
    )
    .bind(&inc.title)
    .bind(inc.status.as_str())
    .bind(inc.severity.as_str())
    .bind(inc.kind.as_str())
    .bind(&inc.service)
    .bind(json_text(&inc.roles))
    .bind(&inc.impact)
    .bind(ms(inc.updated_at))
    .bind(ms_opt(inc.declared_at))
    .bind(ms_opt(inc.acknowledged_at))
    .bind(ms_opt(inc.mitigated_at))
    .bind(ms_opt(inc.resolved_at))
    .bind(ms_opt(inc.closed_at))
    .bind(ms_opt(inc.cancelled_at))
    .bind(inc.id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Reads one incident, locking its row on PostgreSQL when `for_update`.
pub(super) async fn get<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    id: i64,
    for_update: bool,
) -> StoreResult<Option<Incident>> {
    let sql = if for_update {
        format!("SELECT {COLUMNS} FROM incidents WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {COLUMNS} FROM incidents WHERE id = $1")
    };
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(incident_from_row).transpose()
}

impl Store {
    /// One incident by id.
    pub async fn incident(&self, id: i64) -> StoreResult<Option<Incident>> {
        get(&self.read, id, false).await
    }

    /// Incidents matching `filter`, newest first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> StoreResult<Vec<Incident>> {
        let mut sql = format!("SELECT {COLUMNS} FROM incidents WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        let mut placeholder = |sql: &mut String, value: String| {
            binds.push(value);
            sql.push_str(&format!("${}", binds.len()));
        };
        if !filter.statuses.is_empty() {
            sql.push_str(" AND status IN (");
            for (i, s) in filter.statuses.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                placeholder(&mut sql, s.as_str().to_string());
            }
            sql.push(')');
        }
        if !filter.severities.is_empty() {
            sql.push_str(" AND severity IN (");
            for (i, s) in filter.severities.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                placeholder(&mut sql, s.as_str().to_string());
            }
            sql.push(')');
        }
        if let Some(service) = &filter.service {
            sql.push_str(" AND service = ");
            placeholder(&mut sql, service.clone());
        }
        let n = binds.len();
        if filter.before_id.is_some() {
            sql.push_str(&format!(" AND id < ${}", n + 1));
        }
        let limit_index = n + 1 + usize::from(filter.before_id.is_some());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${limit_index}"));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        if let Some(before) = filter.before_id {
            query = query.bind(before);
        }
        let rows = query
            .bind(filter.limit.clamp(1, 500))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(incident_from_row).collect()
    }

    /// How many incidents are in each status.
    pub async fn incident_counts_by_status(&self) -> StoreResult<Vec<(Status, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM incidents GROUP BY status")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((get_parsed(r, "status")?, r.try_get::<i64, _>("n")?)))
            .collect()
    }

    /// How many incidents there are and when the latest one last changed (ms): the board's version.
    pub async fn incidents_stamp(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS last FROM incidents",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((row.try_get("n")?, row.try_get("last")?))
    }
}
