//! Pages: written and moved inside the paging use-cases' transactions, read for the API and `/pages`.

use super::rows::{get_parsed, get_time, get_time_opt, ms};
use super::{Store, StoreResult, Tx};
use crate::domain::oncall::paging::PageStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A stored page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// Its id.
    pub id: i64,
    /// The incident it pages for.
    pub incident_id: i64,
    /// The chain of pages it belongs to (one policy run, or one on-demand page).
    pub chain: String,
    /// The escalation policy, if the chain follows one.
    pub policy: Option<String>,
    /// The step within the chain (levels across repeats, from 0).
    pub step: i64,
    /// The level, numbered from 1.
    pub level: i64,
    /// The repeat round, from 0.
    pub round: i64,
    /// The target that reached the recipient (`schedule:payments-primary`).
    pub target: String,
    /// The person paged, if a person.
    pub person: Option<String>,
    /// The chat channel paged, if a channel.
    pub channel: Option<String>,
    /// The webhook gateway paged, if a gateway target.
    pub webhook: Option<String>,
    /// Where it is.
    pub status: PageStatus,
    /// The actor id that caused it (`warroom` for a policy).
    pub created_by: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Why it stopped when its incident ended while it was open (`incident_resolved` …); `None`
    /// for every other move.
    pub stop_reason: Option<String>,
}

/// A page to store.
#[derive(Debug, Clone)]
pub struct NewPage<'a> {
    /// The incident.
    pub incident_id: i64,
    /// The chain.
    pub chain: &'a str,
    /// The policy.
    pub policy: Option<&'a str>,
    /// The step.
    pub step: i64,
    /// The level, from 1.
    pub level: i64,
    /// The round.
    pub round: i64,
    /// The target.
    pub target: &'a str,
    /// The person.
    pub person: Option<&'a str>,
    /// The channel.
    pub channel: Option<&'a str>,
    /// The gateway.
    pub webhook: Option<&'a str>,
    /// Who caused it.
    pub created_by: &'a str,
}

const COLUMNS: &str = "id, incident_id, chain, policy, step, level, round, target, person, channel, webhook, \
     status, created_by, created_at, updated_at, acknowledged_at, acknowledged_by, stop_reason";

fn from_row(r: &AnyRow) -> StoreResult<Page> {
    Ok(Page {
        id: r.try_get("id")?,
        incident_id: r.try_get("incident_id")?,
        chain: r.try_get("chain")?,
        policy: r.try_get("policy")?,
        step: r.try_get("step")?,
        level: r.try_get("level")?,
        round: r.try_get("round")?,
        target: r.try_get("target")?,
        person: r.try_get("person")?,
        channel: r.try_get("channel")?,
        webhook: r.try_get("webhook")?,
        status: get_parsed(r, "status")?,
        created_by: r.try_get("created_by")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
        acknowledged_at: get_time_opt(r, "acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        stop_reason: r.try_get("stop_reason")?,
    })
}

impl Tx {
    /// Stores a page (status `sent`) and returns it.
    pub async fn insert_page(&mut self, p: &NewPage<'_>, now: DateTime<Utc>) -> StoreResult<Page> {
        let sql = format!(
            "INSERT INTO pages (incident_id, chain, policy, step, level, round, target, person, channel, \
             webhook, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $11, $12, $12) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(p.incident_id)
            .bind(p.chain)
            .bind(p.policy)
            .bind(p.step)
            .bind(p.level)
            .bind(p.round)
            .bind(p.target)
            .bind(p.person)
            .bind(p.channel)
            .bind(p.webhook)
            .bind(p.created_by)
            .bind(ms(now))
            .fetch_one(self.conn())
            .await?;
        from_row(&row)
    }

    /// The open (`sent`) pages of one step of a chain, in the transaction that decides on them.
    pub async fn open_pages_at(
        &mut self,
        incident_id: i64,
        chain: &str,
        step: i64,
    ) -> StoreResult<Vec<Page>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pages WHERE incident_id = $1 AND chain = $2 AND step = $3 \
             AND status = 'sent' ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id)
            .bind(chain)
            .bind(step)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Whether any page of a chain was acknowledged (the chain then stops).
    pub async fn chain_acknowledged(&mut self, incident_id: i64, chain: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pages WHERE incident_id = $1 AND chain = $2 AND status = 'acknowledged'",
        )
        .bind(incident_id)
        .bind(chain)
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// A page, read in the transaction.
    pub async fn page_in_tx(&mut self, id: i64) -> StoreResult<Option<Page>> {
        let sql = format!("SELECT {COLUMNS} FROM pages WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Moves `ids` from `sent` to `status`; returns the pages that moved.
    pub async fn close_pages(
        &mut self,
        ids: &[i64],
        status: PageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Page>> {
        let mut moved = Vec::new();
        for id in ids {
            let sql = format!(
                "UPDATE pages SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'sent' \
                 RETURNING {COLUMNS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(status.as_str())
                .bind(ms(now))
                .bind(id)
                .fetch_optional(self.conn())
                .await?;
            if let Some(r) = row {
                moved.push(from_row(&r)?);
            }
        }
        Ok(moved)
    }

    /// Stops every open page of an incident that ended: `sent` → `exhausted` with `reason`; returns
    /// them, oldest first.
    pub async fn stop_pages(
        &mut self,
        incident_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Page>> {
        let sql = format!(
            "UPDATE pages SET status = 'exhausted', updated_at = $1, stop_reason = $2 \
             WHERE incident_id = $3 AND status = 'sent' RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(reason)
            .bind(incident_id)
            .fetch_all(self.conn())
            .await?;
        let mut pages = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
        pages.sort_by_key(|p| p.id);
        Ok(pages)
    }

    /// Cancels the pending paging timers (`page_escalate`, `page_notify`) of an incident (they are
    /// marked done: nothing is left for them to do); returns how many.
    pub async fn cancel_paging_jobs(
        &mut self,
        incident_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', done_at = $1, claimed_until = NULL \
             WHERE status = 'pending' AND ((kind = 'page_escalate' AND job_key LIKE $2) \
             OR (kind = 'page_notify' AND job_key LIKE $3))",
        )
        .bind(ms(now))
        .bind(format!("page_escalate:{incident_id}:%"))
        .bind(format!("page_notify:{incident_id}:%"))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Acknowledges every open page of an incident by `by`; returns them.
    pub async fn acknowledge_pages(
        &mut self,
        incident_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Page>> {
        let sql = format!(
            "UPDATE pages SET status = 'acknowledged', updated_at = $1, acknowledged_at = $1, \
             acknowledged_by = $2 WHERE incident_id = $3 AND status = 'sent' RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(by)
            .bind(incident_id)
            .fetch_all(self.conn())
            .await?;
        let mut pages = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
        pages.sort_by_key(|p| p.id);
        Ok(pages)
    }
}

impl Store {
    /// Every page of an incident, oldest first.
    pub async fn pages(&self, incident_id: i64) -> StoreResult<Vec<Page>> {
        let sql = format!("SELECT {COLUMNS} FROM pages WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// One page.
    pub async fn page(&self, id: i64) -> StoreResult<Option<Page>> {
        let sql = format!("SELECT {COLUMNS} FROM pages WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The open pages of a person whose incident is still open, newest first.
    pub async fn open_pages_of(&self, person: &str) -> StoreResult<Vec<Page>> {
        let cols = COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM pages p JOIN incidents i ON i.id = p.incident_id \
             WHERE p.person = $1 AND p.status = 'sent' \
             AND i.status IN ('detected', 'declared', 'triaging', 'mitigating') ORDER BY p.id DESC LIMIT 100"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
