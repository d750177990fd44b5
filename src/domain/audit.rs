//! One line of the audit log: who tried what, whether it was allowed, and why.

use super::actor::{Actor, ActorKind};
use super::policy::{Action, Decision};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// An audit-log entry (`id` is 0 until stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its id in the log.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The actor id.
    pub actor: String,
    /// Person, guest, service or system.
    pub actor_kind: ActorKind,
    /// Where it came from (`web`, `slack`, `api`).
    pub platform: String,
    /// The policy action (`close`, `unfreeze`).
    pub action: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why.
    pub reason: String,
    /// The incident it concerned, if any.
    pub incident_id: Option<i64>,
    /// What it acted on (`chg-42`, `freeze #3`, `checkout`).
    pub subject: Option<String>,
}

impl AuditEntry {
    /// The entry for `decision` on `action` by `actor`.
    pub fn new(
        at: DateTime<Utc>,
        actor: &Actor,
        action: Action,
        decision: &Decision,
        incident_id: Option<i64>,
        subject: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at,
            actor: actor.id.clone(),
            actor_kind: actor.kind,
            platform: actor.platform.clone(),
            action: action.as_str().to_string(),
            allowed: decision.allowed,
            reason: decision.reason.clone(),
            incident_id,
            subject,
        }
    }
}
