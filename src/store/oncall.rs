//! On-call overrides: written inside a use-case's transaction, read for schedules and calendars.

use super::rows::{get_time, get_time_opt, ms};
use super::{Store, StoreResult, Tx};
use crate::domain::oncall::Override;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A stored override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OncallOverride {
    /// Its id.
    pub id: i64,
    /// The schedule it applies to.
    pub schedule: String,
    /// The person on call instead.
    pub person: String,
    /// When it starts.
    pub starts: DateTime<Utc>,
    /// When it ends (exclusive).
    pub ends: DateTime<Utc>,
    /// The actor id that created it.
    pub created_by: String,
    /// Why, if said.
    pub reason: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it was removed, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<DateTime<Utc>>,
    /// Who removed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
}

/// An override to store.
#[derive(Debug, Clone)]
pub struct NewOverride<'a> {
    /// The schedule.
    pub schedule: &'a str,
    /// The person on call instead.
    pub person: &'a str,
    /// When it starts.
    pub starts: DateTime<Utc>,
    /// When it ends.
    pub ends: DateTime<Utc>,
    /// The actor id creating it.
    pub created_by: &'a str,
    /// Why.
    pub reason: Option<&'a str>,
}

impl OncallOverride {
    /// The override as the rotation math sees it.
    pub fn to_domain(&self) -> Override {
        Override {
            id: self.id,
            person: self.person.clone(),
            from: self.starts,
            to: self.ends,
        }
    }
}

fn from_row(r: &AnyRow) -> StoreResult<OncallOverride> {
    Ok(OncallOverride {
        id: r.try_get("id")?,
        schedule: r.try_get("schedule")?,
        person: r.try_get("person")?,
        starts: get_time(r, "starts")?,
        ends: get_time(r, "ends")?,
        created_by: r.try_get("created_by")?,
        reason: r.try_get("reason")?,
        created: get_time(r, "created")?,
        removed: get_time_opt(r, "removed")?,
        removed_by: r.try_get("removed_by")?,
    })
}

impl Tx {
    /// Stores an override and returns it.
    pub async fn insert_override(
        &mut self,
        o: &NewOverride<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<OncallOverride> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO oncall_overrides (schedule, person, starts, ends, created_by, reason, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(o.schedule)
        .bind(o.person)
        .bind(ms(o.starts))
        .bind(ms(o.ends))
        .bind(o.created_by)
        .bind(o.reason)
        .bind(ms(now))
        .fetch_one(self.conn())
        .await?;
        Ok(OncallOverride {
            id,
            schedule: o.schedule.to_string(),
            person: o.person.to_string(),
            starts: o.starts,
            ends: o.ends,
            created_by: o.created_by.to_string(),
            reason: o.reason.map(str::to_string),
            created: now,
            removed: None,
            removed_by: None,
        })
    }

    /// Marks an override of `schedule` removed; `None` when there is no such live override.
    pub async fn remove_override(
        &mut self,
        schedule: &str,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OncallOverride>> {
        let sql = "UPDATE oncall_overrides SET removed = $1, removed_by = $2 \
                   WHERE id = $3 AND schedule = $4 AND removed IS NULL \
                   RETURNING id, schedule, person, starts, ends, created_by, reason, created, removed, removed_by";
        let row = sqlx::query(sql)
            .bind(ms(now))
            .bind(by)
            .bind(id)
            .bind(schedule)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}

impl Store {
    /// Live overrides of `schedule` (every schedule when `None`) that overlap [from, to), oldest first.
    pub async fn overrides(
        &self,
        schedule: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<OncallOverride>> {
        let rows = match schedule {
            Some(s) => {
                let sql = "SELECT id, schedule, person, starts, ends, created_by, reason, created, removed, removed_by \
                           FROM oncall_overrides WHERE schedule = $1 AND removed IS NULL \
                           AND ends > $2 AND starts < $3 ORDER BY id";
                sqlx::query(sql)
                    .bind(s)
                    .bind(ms(from))
                    .bind(ms(to))
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                let sql = "SELECT id, schedule, person, starts, ends, created_by, reason, created, removed, removed_by \
                           FROM oncall_overrides WHERE removed IS NULL \
                           AND ends > $1 AND starts < $2 ORDER BY id";
                sqlx::query(sql)
                    .bind(ms(from))
                    .bind(ms(to))
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(from_row).collect()
    }
}
