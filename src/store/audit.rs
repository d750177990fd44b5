//! The audit log: guarded actions that went ahead and every refusal.

use super::rows::{get_time, ms};
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::ActorKind;
use crate::domain::audit::AuditEntry;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Which audit entries to read: after an id, one actor, allowed or refused only.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries with a larger id than this.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
    /// Only this actor id.
    pub actor: Option<String>,
    /// Only allowed (`true`) or refused (`false`) ones.
    pub allowed: Option<bool>,
}

fn kind_str(k: ActorKind) -> &'static str {
    match k {
        ActorKind::Person => "person",
        ActorKind::Guest => "guest",
        ActorKind::Service => "service",
        ActorKind::System => "system",
    }
}

fn kind_from(s: &str) -> StoreResult<ActorKind> {
    Ok(match s {
        "person" => ActorKind::Person,
        "guest" => ActorKind::Guest,
        "service" => ActorKind::Service,
        "system" => ActorKind::System,
        other => return Err(StoreError::Corrupt(format!("actor_kind `{other}`"))),
    })
}

fn from_row(r: &AnyRow) -> StoreResult<AuditEntry> {
    let kind: String = r.try_get("actor_kind")?;
    let allowed: i64 = r.try_get("allowed")?;
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: get_time(r, "at")?,
        actor: r.try_get("actor")?,
        actor_kind: kind_from(&kind)?,
        platform: r.try_get("platform")?,
        action: r.try_get("action")?,
        allowed: allowed != 0,
        reason: r.try_get("reason")?,
        incident_id: r.try_get("incident_id")?,
        subject: r.try_get("subject")?,
    })
}

impl Tx {
    /// Appends an entry to the audit log; commits with the rest of the transaction.
    pub async fn audit(&mut self, e: &AuditEntry) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, actor_kind, platform, action, allowed, reason, incident_id, subject) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(ms(e.at))
        .bind(&e.actor)
        .bind(kind_str(e.actor_kind))
        .bind(&e.platform)
        .bind(&e.action)
        .bind(i64::from(e.allowed))
        .bind(&e.reason)
        .bind(e.incident_id)
        .bind(&e.subject)
        .fetch_one(self.conn())
        .await?)
    }
}

impl Store {
    /// A page of the audit log, oldest first.
    pub async fn audit_page(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, actor_kind, platform, action, allowed, reason, incident_id, subject \
             FROM audit_log WHERE id > $1 AND ($2 = '' OR actor = $2) AND ($3 < 0 OR allowed = $3) \
             ORDER BY id LIMIT $4",
        )
        .bind(f.after)
        .bind(f.actor.clone().unwrap_or_default())
        .bind(f.allowed.map_or(-1, i64::from))
        .bind(f.limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
