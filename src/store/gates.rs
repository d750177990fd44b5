//! What the change gate reads and records: freezes, error budgets, overrides.

use super::rows::{get_time, json_text, ms};
use super::{Store, StoreResult, Tx};
use crate::domain::gate::Freeze;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Which freezes an unfreeze lifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeTarget<'a> {
    /// One freeze by id.
    Id(i64),
    /// The freezes on one scope (a service, or `all` meaning the all-services freezes).
    Scope(&'a str),
    /// Every active freeze.
    All,
}

fn freeze_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Freeze> {
    Ok(Freeze {
        id: r.try_get("id")?,
        scope: r.try_get("scope")?,
        reason: r.try_get("reason")?,
        starts_at: get_time(r, "starts_at")?,
        ends_at: get_time(r, "ends_at")?,
        created_by: r.try_get("created_by")?,
    })
}

impl Tx {
    /// Stores a freeze and returns it.
    pub async fn add_freeze(
        &mut self,
        scope: &str,
        reason: &str,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: Option<&str>,
    ) -> StoreResult<Freeze> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO change_freezes (scope, reason, starts_at, ends_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $3) RETURNING id",
        )
        .bind(scope)
        .bind(reason)
        .bind(ms(starts_at))
        .bind(ms(ends_at))
        .bind(created_by)
        .fetch_one(self.conn())
        .await?;
        Ok(Freeze {
            id,
            scope: scope.to_string(),
            reason: reason.to_string(),
            starts_at,
            ends_at,
            created_by: created_by.map(str::to_string),
        })
    }

    /// Records that `by` overrode a closed gate.
    pub async fn record_gate_override(
        &mut self,
        service: &str,
        kind: Option<&str>,
        by: &str,
        reason: &str,
        reasons: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO gate_overrides (service, kind, by_user, reason, reasons, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(service)
        .bind(kind)
        .bind(by)
        .bind(reason)
        .bind(json_text(&reasons))
        .bind(ms(now))
        .fetch_one(self.conn())
        .await?)
    }

    /// Lifts the active freezes `target` names (`#id`/`id`, a service scope, or `all` for every one):
    /// each ends at `now`, keeping who lifted it. Returns the lifted freezes.
    pub async fn lift_freezes(
        &mut self,
        target: FreezeTarget<'_>,
        now: DateTime<Utc>,
        by: &str,
    ) -> StoreResult<Vec<Freeze>> {
        let (id, scope) = match target {
            FreezeTarget::Id(id) => (id, ""),
            FreezeTarget::Scope(s) => (-1, s),
            FreezeTarget::All => (-1, ""),
        };
        let rows = sqlx::query(
            "UPDATE change_freezes SET ends_at = $1, lifted_at = $1, lifted_by = $2 \
             WHERE ends_at > $1 AND ($3 < 0 OR id = $3) AND ($4 = '' OR scope = $4) \
             RETURNING id, scope, reason, starts_at, ends_at, created_by",
        )
        .bind(ms(now))
        .bind(by)
        .bind(id)
        .bind(scope)
        .fetch_all(self.conn())
        .await?;
        let mut lifted: Vec<Freeze> = rows
            .iter()
            .map(freeze_from_row)
            .collect::<StoreResult<_>>()?;
        lifted.sort_by_key(|f| f.id);
        Ok(lifted)
    }
}

impl Store {
    /// Freezes that have not ended by `now`.
    pub async fn active_freezes(&self, now: DateTime<Utc>) -> StoreResult<Vec<Freeze>> {
        let rows = sqlx::query(
            "SELECT id, scope, reason, starts_at, ends_at, created_by FROM change_freezes \
             WHERE ends_at > $1 ORDER BY id",
        )
        .bind(ms(now))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(freeze_from_row).collect()
    }

    /// Sets a service's remaining error budget.
    pub async fn set_error_budget(
        &self,
        service: &str,
        remaining: f64,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO error_budgets (service, remaining, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (service) DO UPDATE SET remaining = $2, updated_by = $3, updated_at = $4",
        )
        .bind(service)
        .bind(remaining)
        .bind(by)
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A service's remaining error budget, if one was pushed.
    pub async fn error_budget(&self, service: &str) -> StoreResult<Option<f64>> {
        Ok(
            sqlx::query_scalar("SELECT remaining FROM error_budgets WHERE service = $1")
                .bind(service)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// How many gate overrides were recorded for `service`.
    pub async fn gate_override_count(&self, service: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM gate_overrides WHERE service = $1")
                .bind(service)
                .fetch_one(&self.read)
                .await?,
        )
    }
}
