//! Executing a parsed chat command on behalf of a user, on any platform.

use super::unit::Unit;
use super::{Declare, Engine, EngineError, Patch, outbound, replies};
use crate::domain::command::{self, Command, IncCommand, OncallCommand, PageTarget};
use crate::domain::{Actor, EventKind, IncidentType, NewEvent, Severity, Status};
use serde_json::json;
use std::collections::BTreeMap;

/// Where a command was typed and by whom.
#[derive(Debug, Clone)]
pub struct CommandContext {
    /// Who typed it: a person (or guest) resolved by the entry point, never a typed name.
    pub actor: Actor,
    /// The incident whose room it was typed in, if any.
    pub incident_id: Option<i64>,
}

/// Who sees an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the person who typed the command.
    Ephemeral,
    /// Everyone in the room.
    InChannel,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reply {
    /// What to say.
    pub text: String,
    /// Who sees it.
    pub visibility: Visibility,
    /// The incident the command acted on or created.
    pub incident_id: Option<i64>,
    /// Whether the command did what was asked.
    pub ok: bool,
}

impl Reply {
    fn private(text: impl Into<String>, incident_id: Option<i64>, ok: bool) -> Reply {
        Reply {
            text: text.into(),
            visibility: Visibility::Ephemeral,
            incident_id,
            ok,
        }
    }
}

impl Engine {
    /// Parses and runs `text` (`/inc …`, `/oncall …`, `/change …`); refusals answer with usage, privately.
    /// Commands typed in an incident room are recorded on its timeline with their result, in the
    /// same unit of work as what they changed.
    pub async fn run_command(
        &self,
        text: &str,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        self.run_command_with(text, ctx, None, None).await
    }

    /// Runs a command in one unit: its event, what it changed, the answer's post (`post_on`) and a
    /// deferred answer's follow-up (`deferral`) commit together, or none.
    pub(super) async fn run_command_with(
        &self,
        text: &str,
        ctx: &CommandContext,
        post_on: Option<&str>,
        deferral: Option<&super::deferred::Deferral>,
    ) -> Result<Reply, EngineError> {
        let mut unit = self.unit().await?;
        let reply = match command::parse(text) {
            Ok(cmd) => {
                let refused_on = refusal_incident(&cmd, ctx);
                let sp = unit.savepoint().await?;
                let result = self.execute_in(&mut unit, cmd, ctx).await;
                match self
                    .settle(&mut unit, sp, &ctx.actor, refused_on, result)
                    .await
                {
                    Ok(reply) => reply,
                    Err(EngineError::Store(e)) => return Err(EngineError::Store(e)),
                    Err(e) => Reply::private(format!("⚠️ {e}"), ctx.incident_id, false),
                }
            }
            Err(e) => Reply::private(e.to_string(), ctx.incident_id, false),
        };
        let recorded = match ctx.incident_id {
            Some(id) => {
                self.record_command_in(&mut unit, id, text, &reply, ctx)
                    .await?
            }
            None => None,
        };
        if let Some(platform) = post_on {
            self.post_reply_in(&mut unit, &reply, platform, recorded)
                .await?;
        }
        self.commit_answering(unit, &reply, deferral).await?;
        Ok(reply)
    }

    /// Records the command's event; its id, or `None` when the room's incident is gone.
    async fn record_command_in(
        &self,
        unit: &mut Unit,
        id: i64,
        text: &str,
        reply: &Reply,
        ctx: &CommandContext,
    ) -> Result<Option<i64>, EngineError> {
        let event = |now| {
            NewEvent::new(EventKind::Command, now, Some(&ctx.actor.id))
                .text(text.trim().to_string())
                .data(json!({"platform": ctx.actor.platform, "identity": ctx.actor.identity(), "ok": reply.ok, "result": reply.text}))
        };
        match self.apply_in(unit, id, |_, now| Ok(vec![event(now)])).await {
            Ok(applied) => Ok(applied.events.first().map(|e| e.id)),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs a parsed command in a unit of its own.
    pub async fn execute(&self, cmd: Command, ctx: &CommandContext) -> Result<Reply, EngineError> {
        let refused_on = refusal_incident(&cmd, ctx);
        let mut unit = self.unit().await?;
        let result = self.execute_in(&mut unit, cmd, ctx).await;
        self.finish(unit, Some((&ctx.actor, refused_on)), result)
            .await
    }

    async fn execute_in(
        &self,
        unit: &mut Unit,
        cmd: Command,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        match cmd {
            Command::Inc(inc) => self.execute_inc(unit, inc, ctx).await,
            Command::Oncall(OncallCommand::Show { schedule }) => {
                self.oncall_show(schedule, ctx).await
            }
            Command::Oncall(OncallCommand::Override { user, duration }) => {
                self.oncall_override(unit, &user, duration, ctx).await
            }
            Command::Change(change) => self.execute_change(unit, change, ctx).await,
        }
    }

    pub(super) fn room_incident(
        &self,
        ctx: &CommandContext,
        usage_topic: &str,
    ) -> Result<i64, EngineError> {
        ctx.incident_id.ok_or_else(|| {
            let usage = command::usage(usage_topic).unwrap_or_default();
            EngineError::Conflict(format!(
                "this command works inside an incident's war room; type it there.\nUsage: {usage}"
            ))
        })
    }

    async fn execute_inc(
        &self,
        unit: &mut Unit,
        cmd: IncCommand,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        let actor = ctx.actor.id.as_str();
        let who = &ctx.actor;
        let in_room = |reply: String, id: i64| Reply {
            text: reply,
            visibility: Visibility::InChannel,
            incident_id: Some(id),
            ok: true,
        };
        match cmd {
            IncCommand::Declare {
                severity,
                service,
                kind,
                title,
            } => {
                let req = Declare {
                    title,
                    severity: severity.unwrap_or(Severity::P2),
                    kind: kind.unwrap_or(IncidentType::Outage),
                    service,
                };
                let inc = self.declare_in(unit, req, who).await?;
                Ok(in_room(replies::declared(&inc), inc.id))
            }
            IncCommand::Sev(sev) => {
                let id = self.room_incident(ctx, "inc sev")?;
                let patch = Patch {
                    severity: Some(sev),
                    ..Patch::default()
                };
                let a = self.patch_in(unit, id, patch, who).await?;
                let text = if a.events.is_empty() {
                    format!("Severity is already {sev}.")
                } else {
                    format!("Severity is now {sev}.")
                };
                Ok(in_room(text, id))
            }
            IncCommand::Status(to) => self.status_command(unit, ctx, to).await,
            IncCommand::Reopen => self.status_command(unit, ctx, Status::Mitigating).await,
            IncCommand::Role { role, user } => {
                let id = self.room_incident(ctx, "inc role")?;
                let user = if user.eq_ignore_ascii_case("me") {
                    actor.to_string()
                } else {
                    user
                };
                let mut roles = BTreeMap::new();
                roles.insert(role, Some(user.clone()));
                let patch = Patch {
                    roles,
                    ..Patch::default()
                };
                self.patch_in(unit, id, patch, who).await?;
                Ok(in_room(format!("{user} is now {role}."), id))
            }
            IncCommand::Roles => {
                let id = self.room_incident(ctx, "inc roles")?;
                let inc = self
                    .store
                    .incident(id)
                    .await?
                    .ok_or(EngineError::NotFound(id))?;
                Ok(in_room(replies::roles(&inc), id))
            }
            IncCommand::Update(text) => {
                let id = self.room_incident(ctx, "inc update")?;
                self.add_text_in(unit, id, EventKind::StatusUpdate, &text, who)
                    .await?;
                Ok(Reply::private("Status update posted.", Some(id), true))
            }
            IncCommand::PublicUpdate(text) => {
                let id = self.room_incident(ctx, "inc update")?;
                self.public_update_in(unit, id, &text, who).await?;
                Ok(Reply::private(
                    "Status update posted, and shown on the status page.",
                    Some(id),
                    true,
                ))
            }
            IncCommand::Note(text) => {
                let id = self.room_incident(ctx, "inc note")?;
                self.add_text_in(unit, id, EventKind::Note, &text, who)
                    .await?;
                Ok(Reply::private("📌 Noted on the timeline.", Some(id), true))
            }
            IncCommand::Impact(text) => {
                let id = self.room_incident(ctx, "inc impact")?;
                self.add_text_in(unit, id, EventKind::Impact, &text, who)
                    .await?;
                Ok(in_room(format!("Impact recorded: {text}"), id))
            }
            IncCommand::Action { text, owner } => {
                let id = self.room_incident(ctx, "inc action")?;
                let item = self
                    .add_action_item_in(unit, id, &text, owner.as_deref(), None, who)
                    .await?;
                Ok(Reply::private(
                    format!("Action item #{} added.", item.id),
                    Some(id),
                    true,
                ))
            }
            IncCommand::Timeline { limit } => {
                let id = self.room_incident(ctx, "inc timeline")?;
                let events = self
                    .store
                    .timeline_tail(id, limit.unwrap_or(10) as i64)
                    .await?;
                Ok(Reply::private(replies::timeline(&events), Some(id), true))
            }
            IncCommand::Help { topic } => {
                let text = match topic.as_deref().and_then(command::usage) {
                    Some(usage) => format!("Usage: {usage}"),
                    None => command::help_text(),
                };
                Ok(Reply::private(text, ctx.incident_id, true))
            }
            IncCommand::Postmortem => {
                let id = self.room_incident(ctx, "inc postmortem")?;
                let pm = self.postmortem(id).await?;
                let state = if pm.generated == "request" {
                    "Postmortem draft so far"
                } else {
                    "Postmortem draft"
                };
                let text = format!(
                    "📝 {state} for incident #{id}:\n{}\n{}",
                    pm.summary,
                    self.postmortem_link(id)
                );
                Ok(in_room(text, id))
            }
            IncCommand::Changes => {
                let id = self.room_incident(ctx, "inc changes")?;
                self.list_changes_command(unit, id).await
            }
            IncCommand::ConfirmChange { change } => {
                let id = self.room_incident(ctx, "inc changes")?;
                let c = self.confirm_change_in(unit, id, &change, who).await?;
                let text = format!("{} is confirmed as the cause.", c.label());
                Ok(in_room(text, id))
            }
            IncCommand::Rollback { change } => {
                let id = self.room_incident(ctx, "inc rollback")?;
                let rb = self.rollback_in(unit, id, &change, who).await?;
                let text = format!(
                    "Rollback requested as {}; the result will be posted here.",
                    rb.label()
                );
                Ok(Reply::private(text, Some(id), true))
            }
            IncCommand::Ack => {
                let id = self.room_incident(ctx, "inc ack")?;
                let applied = self.acknowledge_in(unit, id, who).await?;
                let text = format!(
                    "{actor} acknowledged incident #{id}; it is now {}.",
                    applied.incident.status
                );
                Ok(in_room(text, id))
            }
            IncCommand::Remind { on } => {
                let id = self.room_incident(ctx, "inc remind")?;
                let changed = self.set_reminders_in(unit, id, on, who).await?;
                let text = match (on, changed) {
                    (false, true) => {
                        format!("🔕 {actor} turned the reminders off for incident #{id}.")
                    }
                    (true, true) => {
                        format!("🔔 {actor} turned the reminders on for incident #{id}.")
                    }
                    (false, false) => "Reminders are already off for this incident.".into(),
                    (true, false) => "Reminders are already on for this incident.".into(),
                };
                Ok(in_room(text, id))
            }
            IncCommand::Page { target } => {
                let id = self.room_incident(ctx, "inc page")?;
                let target = match target {
                    PageTarget::User(u) => format!("@{u}"),
                    PageTarget::Team(t) => format!("team:{t}"),
                    PageTarget::Service(s) => format!("service:{s}"),
                    PageTarget::Named(n) => n,
                };
                let pages = self.page_in(unit, id, &target, who).await?;
                let names: Vec<String> = pages.iter().map(super::paging::recipient_label).collect();
                Ok(in_room(
                    format!("📟 {actor} paged {} for incident #{id}.", names.join(", ")),
                    id,
                ))
            }
        }
    }

    async fn status_command(
        &self,
        unit: &mut Unit,
        ctx: &CommandContext,
        to: Status,
    ) -> Result<Reply, EngineError> {
        let id = self.room_incident(ctx, "inc status")?;
        let patch = Patch {
            status: Some(to),
            ..Patch::default()
        };
        let applied = self.patch_in(unit, id, patch, &ctx.actor).await?;
        let text = format!("Incident #{id} is now {}.", applied.incident.status);
        Ok(Reply {
            text,
            visibility: Visibility::InChannel,
            incident_id: Some(id),
            ok: true,
        })
    }

    /// Enqueues a command's in-channel answer for the room; `command` (the command's event) keys it.
    async fn post_reply_in(
        &self,
        unit: &mut Unit,
        reply: &Reply,
        platform: &str,
        command: Option<i64>,
    ) -> Result<(), EngineError> {
        let (Some(id), Visibility::InChannel) = (reply.incident_id, reply.visibility) else {
            return Ok(());
        };
        let inc = unit.lock(id).await?;
        let key = match command {
            Some(event) => format!("{platform}:reply:{event}"),
            None => format!("{platform}:reply:{id}:{}", unit.now().timestamp_millis()),
        };
        unit.enqueue(&outbound::post(&inc, platform, &reply.text, Some(key)))
            .await?;
        Ok(())
    }
}

/// The incident a refusal of `cmd` is recorded on: the room's, except for what is not about the
/// room's incident (a declare, a change approval).
fn refusal_incident(cmd: &Command, ctx: &CommandContext) -> Option<i64> {
    match cmd {
        Command::Inc(IncCommand::Declare { .. })
        | Command::Change(crate::domain::command::ChangeCommand::Approve { .. }) => None,
        _ => ctx.incident_id,
    }
}
