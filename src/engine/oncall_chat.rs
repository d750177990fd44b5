//! `/oncall [schedule]` and `/oncall override @user <duration>` in chat.

use super::oncall::{OncallError, OverrideRequest, ScheduleNow};
use super::unit::Unit;
use super::{CommandContext, Engine, EngineError, Reply, Visibility};
use crate::domain::escape::defuse_broadcasts;
use crate::domain::oncall::Schedule;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// How many schedules one `/oncall` answer lists.
const MAX_LISTED: usize = 10;

fn answer(text: String, ctx: &CommandContext, ok: bool) -> Reply {
    Reply {
        text,
        visibility: Visibility::Ephemeral,
        incident_id: ctx.incident_id,
        ok,
    }
}

/// A refusal as a private answer; storage failures stay errors.
fn refused(e: OncallError, ctx: &CommandContext) -> Result<Reply, EngineError> {
    match e {
        OncallError::Store(s) => Err(EngineError::Store(s)),
        e => Ok(answer(format!("⚠️ {e}"), ctx, false)),
    }
}

impl Engine {
    fn display_name(&self, id: &str) -> String {
        let name = self
            .catalog()
            .directory()
            .get(id)
            .and_then(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string());
        defuse_broadcasts(&name)
    }

    fn names(&self, ids: &[String]) -> String {
        if ids.is_empty() {
            return "nobody".into();
        }
        ids.iter()
            .map(|p| self.display_name(p))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn status_text(&self, s: &ScheduleNow) -> String {
        let tz: Tz = s.timezone.parse().unwrap_or(Tz::UTC);
        let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M %Z").to_string();
        let mut text = format!("📟 *{}*: {} on call", s.name, self.names(&s.on_call));
        if let Some(until) = s.until {
            text.push_str(&format!(" until {}", when(until)));
        }
        if matches!(s.source, crate::domain::oncall::Source::Override(_)) {
            text.push_str(" (override)");
        }
        let next: Vec<String> = s
            .next
            .iter()
            .map(|h| format!("{} {}", when(h.at), self.names(&h.people)))
            .collect();
        if !next.is_empty() {
            text.push_str(&format!("\nNext: {}", next.join(" · ")));
        }
        text
    }

    /// `/oncall [schedule]`: who is on now and the next hand-offs.
    pub(super) async fn oncall_show(
        &self,
        schedule: Option<String>,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        if self.catalog().schedules().next().is_none() {
            return Ok(answer(
                "No on-call schedules are configured: add [[schedule]] tables to the catalog file."
                    .into(),
                ctx,
                false,
            ));
        }
        let name = match schedule {
            Some(s) => Some(s),
            None => self.room_schedule(ctx).await?,
        };
        let now = self.now();
        match self.oncall_status(name.as_deref(), now).await {
            Ok(all) => {
                let mut lines: Vec<String> = all
                    .iter()
                    .take(MAX_LISTED)
                    .map(|s| self.status_text(s))
                    .collect();
                if all.len() > MAX_LISTED {
                    lines.push(format!(
                        "… and {} more: /oncall <schedule>",
                        all.len() - MAX_LISTED
                    ));
                }
                Ok(answer(lines.join("\n"), ctx, true))
            }
            Err(OncallError::UnknownSchedule(n)) => {
                let known: Vec<String> =
                    self.catalog().schedules().map(|s| s.name.clone()).collect();
                Ok(answer(
                    format!(
                        "⚠️ no on-call schedule `{}`; known: {}",
                        defuse_broadcasts(&n),
                        known.join(", ")
                    ),
                    ctx,
                    false,
                ))
            }
            Err(e) => refused(e, ctx),
        }
    }

    /// The schedule of the service of the incident whose room `ctx` is in.
    async fn room_schedule(&self, ctx: &CommandContext) -> Result<Option<String>, EngineError> {
        let Some(id) = ctx.incident_id else {
            return Ok(None);
        };
        let service = self.store().incident(id).await?.and_then(|i| i.service);
        Ok(service
            .and_then(|s| self.catalog().get(&s).and_then(|svc| svc.oncall.clone()))
            .filter(|n| self.catalog().schedule(n).is_some()))
    }

    /// `/oncall override @user <duration>`: `user` takes the shift from now on.
    pub(super) async fn oncall_override(
        &self,
        unit: &mut Unit,
        user: &str,
        duration: std::time::Duration,
        ctx: &CommandContext,
    ) -> Result<Reply, EngineError> {
        let dir = self.catalog().directory();
        let person = if user.eq_ignore_ascii_case("me") {
            dir.get(&ctx.actor.id)
        } else {
            dir.get(user)
                .or_else(|| dir.by_slack(user))
                .or_else(|| dir.by_discord(user))
                .or_else(|| dir.by_email(user))
        };
        let Some(person) = person else {
            return refused(OncallError::UnknownPerson(user.to_string()), ctx);
        };
        let schedule = match self.override_schedule(&person.id, ctx).await? {
            Ok(s) => s,
            Err(message) => return Ok(answer(format!("⚠️ {message}"), ctx, false)),
        };
        let req = OverrideRequest {
            person: person.id.clone(),
            duration: Some(duration),
            ..OverrideRequest::default()
        };
        match self.add_override_in(unit, &schedule, req, &ctx.actor).await {
            Ok(o) => {
                let tz = self.schedule(&schedule).map(|s| s.tz).unwrap_or(Tz::UTC);
                let text = format!(
                    "✅ {} is on call for *{}* until {} (override {}).",
                    self.display_name(&o.person),
                    schedule,
                    o.ends.with_timezone(&tz).format("%a %d %b %H:%M %Z"),
                    o.id
                );
                Ok(Reply {
                    visibility: if ctx.incident_id.is_some() {
                        Visibility::InChannel
                    } else {
                        Visibility::Ephemeral
                    },
                    ..answer(text, ctx, true)
                })
            }
            Err(e) => refused(e, ctx),
        }
    }

    /// Which schedule an override from chat is for: the room's service's; the only schedule; the only
    /// one the person belongs to; the only one the actor is on call for now.
    async fn override_schedule(
        &self,
        person: &str,
        ctx: &CommandContext,
    ) -> Result<Result<String, String>, EngineError> {
        if let Some(s) = self.room_schedule(ctx).await? {
            return Ok(Ok(s));
        }
        let all: Vec<&Schedule> = self.catalog().schedules().collect();
        let only = |list: Vec<&Schedule>| (list.len() == 1).then(|| list[0].name.clone());
        if all.is_empty() {
            return Ok(Err(
                "No on-call schedules are configured: add [[schedule]] tables to the catalog file."
                    .into(),
            ));
        }
        if let Some(s) = only(all.clone()) {
            return Ok(Ok(s));
        }
        let member = all
            .iter()
            .copied()
            .filter(|s| s.members().iter().any(|m| m == person))
            .collect();
        if let Some(s) = only(member) {
            return Ok(Ok(s));
        }
        let now = self.now();
        let mine = all
            .iter()
            .copied()
            .filter(|s| s.on_call(now, &[]).people.contains(&ctx.actor.id))
            .collect();
        if let Some(s) = only(mine) {
            return Ok(Ok(s));
        }
        let names: Vec<String> = all.iter().map(|s| s.name.clone()).collect();
        Ok(Err(format!(
            "several schedules could be meant ({}): type it in the incident's room, or use POST /api/v1/oncall/<schedule>/overrides",
            names.join(", ")
        )))
    }
}
