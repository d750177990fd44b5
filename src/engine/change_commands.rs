//! The chat side of the change center: `/change gate|freeze|approve` and `/inc changes`.

use super::unit::Unit;
use super::{Engine, EngineError, Reply, Unfreeze, Visibility};
use crate::domain::change::{label, parse_ref};
use crate::domain::command::{ChangeCommand, FreezeScope};
use crate::engine::CommandContext;

fn answer(text: String, incident_id: Option<i64>, visibility: Visibility) -> Reply {
    Reply {
        text,
        visibility,
        incident_id,
        ok: true,
    }
}

impl Engine {
    /// Runs a `/change …` command.
    pub(super) async fn execute_change(
        &self,
        unit: &mut Unit,
        cmd: ChangeCommand,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        let actor = ctx.actor.id.as_str();
        let room = if ctx.incident_id.is_some() {
            Visibility::InChannel
        } else {
            Visibility::Ephemeral
        };
        match cmd {
            ChangeCommand::Gate { service } => {
                let gate = self.gate(&service, None, None).await?;
                let text = if gate.allowed {
                    format!("🟢 Changes to {service} may ship now.")
                } else {
                    let lines: Vec<String> =
                        gate.reasons.iter().map(|r| format!("• {r}")).collect();
                    format!("🔴 Changes to {service} are blocked:\n{}", lines.join("\n"))
                };
                Ok(answer(text, ctx.incident_id, Visibility::Ephemeral))
            }
            ChangeCommand::Freeze {
                scope,
                duration,
                reason,
            } => {
                let scope = match scope {
                    FreezeScope::All => "all".to_string(),
                    FreezeScope::Service(s) => s,
                };
                let f = self
                    .freeze_in(unit, &scope, duration, &reason, &ctx.actor, ctx.incident_id)
                    .await?;
                let what = if f.scope == "all" {
                    "all services".to_string()
                } else {
                    f.scope.clone()
                };
                let text = format!(
                    "🧊 {actor} froze changes to {what} until {} (freeze #{}): {}",
                    f.ends_at.format("%Y-%m-%d %H:%M UTC"),
                    f.id,
                    f.reason
                );
                Ok(answer(text, ctx.incident_id, room))
            }
            ChangeCommand::Approve { id } => {
                let change_id = parse_ref(&id).ok_or_else(|| {
                    EngineError::invalid("change", format!("`{id}` is not a change id like chg-42"))
                })?;
                let note = format!("approved by {actor}");
                let to = crate::domain::change::ChangeStatus::Approved;
                let c = self
                    .set_change_status_in(unit, change_id, to, &ctx.actor, Some(&note))
                    .await?;
                let text = format!("👍 {actor} approved {}: {}", c.label(), c.summary);
                Ok(answer(text, ctx.incident_id, room))
            }
            ChangeCommand::Unfreeze { target } => {
                let target = Unfreeze::parse(&target)?;
                let lifted = self
                    .unfreeze_in(unit, &target, &ctx.actor, ctx.incident_id)
                    .await?;
                let list: Vec<String> = lifted
                    .iter()
                    .map(|f| format!("#{} on {} ({})", f.id, f.scope, f.reason))
                    .collect();
                let text = format!("🌤️ {actor} lifted freeze {}", list.join(", "));
                Ok(answer(text, ctx.incident_id, room))
            }
        }
    }

    /// `/inc changes`: the suspects with their evidence, else the service's recent changes.
    pub(super) async fn list_changes_command(
        &self,
        unit: &mut Unit,
        id: i64,
    ) -> Result<Reply, EngineError> {
        let mut linked = self.linked_changes(id).await?;
        let mut lines = Vec::new();
        if linked.is_empty() {
            let suspects = self.correlate_in(unit, id).await?;
            if suspects.is_empty() {
                return Ok(answer(
                    format!("No recent change looks related to incident #{id}."),
                    Some(id),
                    Visibility::Ephemeral,
                ));
            }
            // Linked in this unit, not committed yet: read them through it.
            linked = unit.tx().linked_changes(id).await?;
        }
        lines.push(format!("Changes linked to incident #{id}:"));
        for l in &linked {
            let mark = if l.confirmed {
                "✅ confirmed cause"
            } else {
                "suspect"
            };
            lines.push(format!(
                "{}. {} [{}] {} — {} ({mark}, score {:.2}, {})",
                l.rank,
                label(l.change.id),
                l.change.status,
                l.change.headline(),
                l.evidence
                    .iter()
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                l.score,
                l.change.summary,
            ));
        }
        Ok(answer(lines.join("\n"), Some(id), Visibility::Ephemeral))
    }
}
