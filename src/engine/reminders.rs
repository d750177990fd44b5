//! Reminders that escalate, as timers in `jobs` (claimed once across replicas, kept across restarts):
//! an incident's one live `reminder` timer posts the status-update nudge and the "no commander"
//! reminder in its war rooms when due, and pages the owning service's on-call when they go
//! unanswered; a `reminder_action` timer DMs an action item's owner when it is due. What is due is
//! decided by `domain::reminders` (no clock reads); each run is one transaction with its events,
//! room posts, pages and the next timer. `/inc remind off|on` silences or resumes an incident.

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::policy::Action;
use crate::domain::reminders::{self, Facts, Fire, Kind, ReminderState, Rules};
use crate::domain::{ActionItem, Actor, EventKind, Incident, NewEvent, Role, TimelineEvent};
use crate::store::{Job, NewOutbox, Tx};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// The job kind of an incident's reminder timer (`reminder:<incident>:<timer>`).
pub const REMIND: &str = "reminder";
/// The job kind of an action item's due-date reminder (`reminder_action:<item>:<due ms>`).
pub const REMIND_ACTION: &str = "reminder_action";
/// Who reminds.
const SYSTEM: &str = crate::domain::actor::SYSTEM_ID;

/// `15m`, `1h 30m`: a duration rounded to the minute.
fn minutes(d: Duration) -> String {
    let m = d.num_minutes().max(1) as u64;
    humantime::format_duration(std::time::Duration::from_secs(m * 60)).to_string()
}

/// The room text of one reminder.
fn fire_text(inc: &Incident, fire: &Fire, commander: Option<&str>, page: Option<&str>) -> String {
    let waited = minutes(fire.waited);
    let mut text = match (fire.kind, commander) {
        (Kind::Update, Some(c)) => format!(
            "{c} (commander): no status update for {waited} on this {} incident. Post one with `/inc update <text>`.",
            inc.severity
        ),
        (Kind::Update, None) => format!(
            "No commander, and no status update for {waited} on this {} incident. Take command with `/inc role commander @you` and post `/inc update <text>`.",
            inc.severity
        ),
        (Kind::Commander, _) => format!(
            "Nobody is commander of this {} incident after {waited}. Take it with `/inc role commander @you`.",
            inc.severity
        ),
    };
    if let (Some(n), Some(target)) = (fire.escalates_after, page) {
        text.push_str(&format!(
            " {n} reminders went unanswered: paging the on-call of {target}."
        ));
    } else if let Some(n) = fire.escalates_after {
        text.push_str(&format!(
            " {n} reminders went unanswered, and the incident names no service whose on-call to page."
        ));
    }
    text.push_str(" (`/inc remind off` silences these.)");
    text
}

impl Engine {
    /// The reminder rules (the defaults when the configuration does not parse; validation says why).
    fn reminder_rules(&self) -> Rules {
        self.config().reminders.rules().unwrap_or_default()
    }

    /// What the reminder decision needs to know of `inc`.
    async fn reminder_facts(&self, tx: &mut Tx, inc: &Incident) -> Result<Facts, EngineError> {
        Ok(Facts {
            severity: inc.severity,
            open: inc.status.is_open(),
            commander: inc.holder(Role::Commander).map(str::to_string),
            opened_at: inc.created_at,
            last_update_at: tx.last_status_update(inc.id).await?,
        })
    }

    /// Re-arms `inc`'s reminder timer after a change that may move it (opening, severity, status,
    /// roles), inside the change's transaction; a closed incident's timer is stopped.
    pub(crate) async fn arm_reminders(
        &self,
        tx: &mut Tx,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let rules = self.reminder_rules();
        let stored = tx.reminder_state(inc.id).await?;
        let applies = rules.enabled
            && inc.status.is_open()
            && (rules.update_every.contains_key(&inc.severity)
                || rules.no_commander_after.contains_key(&inc.severity));
        let known = stored.is_some();
        if !known && !applies {
            return Ok(());
        }
        let (state, current) = stored.unwrap_or_default();
        let facts = self.reminder_facts(tx, inc).await?;
        let next = reminders::next_due(&rules, &state, &facts);
        if known && next == current {
            return Ok(());
        }
        self.set_reminder_timer(tx, inc.id, state, current, next, now)
            .await
    }

    /// Replaces incident `id`'s live timer with one at `next` (none: stopped) and keeps `state`.
    async fn set_reminder_timer(
        &self,
        tx: &mut Tx,
        id: i64,
        mut state: ReminderState,
        current: Option<DateTime<Utc>>,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if current.is_some() {
            tx.stop_reminder_timers(REMIND, id, now).await?;
        }
        if let Some(at) = next {
            state.timer += 1;
            let payload = json!({"incident": id, "timer": state.timer});
            tx.schedule_job(
                REMIND,
                &format!("{REMIND}:{id}:{}", state.timer),
                &payload,
                at,
                now,
            )
            .await?;
        }
        tx.save_reminder_state(id, &state, next, now).await?;
        Ok(())
    }

    /// Runs one claimed `reminder` timer: the reminders due now, a page when they went unanswered,
    /// and the next timer, in one transaction.
    pub(crate) async fn run_reminder_job(&self, job: &Job) -> Result<(), EngineError> {
        let id = job.payload["incident"].as_i64().unwrap_or_default();
        let timer = job.payload["timer"].as_u64().unwrap_or_default();
        let mut unit = self.unit().await?;
        let now = unit.now();
        let Some(inc) = unit.try_lock(id).await? else {
            unit.complete_job(job.id).await?;
            return self.commit(unit).await;
        };
        if !unit.tx().take_job(job.id, now).await? {
            // Another replica ran it after this one's lease ran out: nothing to do twice.
            return Ok(());
        }
        let state = match unit.tx().reminder_state(id).await? {
            Some((state, _)) if state.timer == timer => state,
            // A timer replaced since (a severity change, `/inc remind on`): the live one decides.
            _ => return self.commit(unit).await,
        };
        let rules = self.reminder_rules();
        let facts = self.reminder_facts(unit.tx(), &inc).await?;
        let decision = reminders::decide(&rules, &state, &facts, now);
        let service = inc.service.clone();
        let mut events = Vec::new();
        for fire in &decision.fires {
            let page = fire.escalates_after.and(service.as_deref());
            let text = fire_text(&inc, fire, facts.commander.as_deref(), page);
            let event = NewEvent::new(EventKind::Reminder, now, Some(SYSTEM))
                .text(text)
                .data(json!({"reminder": fire.kind.as_str(), "nth": fire.nth,
                    "user": facts.commander, "severity": inc.severity,
                    "waited_secs": fire.waited.num_seconds(),
                    "escalated": fire.escalates_after.is_some(),
                    "target": page.map(|s| format!("service:{s}"))}));
            events.push(event);
        }
        let stored = unit.append_all(id, &events).await?;
        unit.announce(&inc, &stored, self.destinations()).await?;
        if decision.pages()
            && let Some(svc) = service
        {
            self.page_for_reminder(&mut unit, &inc, &svc).await?;
        }
        metrics::counter!("warroom_reminders_total", "kind" => "incident")
            .increment(decision.fires.len() as u64);
        if !decision.fires.is_empty() {
            tracing::info!(
                incident = id,
                fires = decision.fires.len(),
                pages = decision.pages(),
                "reminders posted"
            );
        }
        self.set_reminder_timer(unit.tx(), id, decision.state, None, decision.next_at, now)
            .await?;
        self.commit(unit).await
    }

    /// Pages `service`'s on-call (its escalation policy, else its schedule, else its owner team)
    /// because reminders went unanswered; a page that cannot go out is said on the timeline.
    async fn page_for_reminder(
        &self,
        unit: &mut Unit,
        inc: &Incident,
        service: &str,
    ) -> Result<(), EngineError> {
        let target = format!("service:{service}");
        let sp = unit.savepoint().await?;
        match self.page_in(unit, inc.id, &target, &Actor::system()).await {
            Ok(pages) => {
                unit.release(sp).await?;
                metrics::counter!("warroom_pages_sent_total", "by" => "reminder")
                    .increment(pages.len() as u64);
                Ok(())
            }
            Err(EngineError::Store(e)) => Err(EngineError::Store(e)),
            Err(e) => {
                unit.rollback_to(sp).await?;
                let event = NewEvent::new(EventKind::Reminder, unit.now(), Some(SYSTEM))
                    .text(format!("Could not page the on-call of {service}: {e}"))
                    .data(json!({"reminder": "escalation_failed", "target": target,
                        "error": e.to_string()}));
                let stored: Vec<TimelineEvent> =
                    unit.append(inc.id, &event).await?.into_iter().collect();
                unit.announce(inc, &stored, self.destinations()).await?;
                tracing::warn!(incident = inc.id, %target, error = %e, "reminder escalation could not page");
                Ok(())
            }
        }
    }

    /// `/inc remind off|on` inside `unit`: silences or resumes incident `id`'s reminders; false when
    /// they already were that way.
    pub(super) async fn set_reminders_in(
        &self,
        unit: &mut Unit,
        id: i64,
        on: bool,
        who: &Actor,
    ) -> Result<bool, EngineError> {
        let now = unit.now();
        let inc = unit.lock(id).await?;
        self.check(Action::Respond, who, Some(&inc), None)?;
        let (mut state, current) = unit.tx().reminder_state(id).await?.unwrap_or_default();
        if state.enabled == on {
            return Ok(false);
        }
        state.enabled = on;
        let word = if on { "on" } else { "off" };
        let event = NewEvent::new(EventKind::Reminder, now, Some(&who.id))
            .text(format!(
                "{} turned the reminders {word} for this incident",
                who.id
            ))
            .data(json!({"reminder": word}))
            .identified(who.identity());
        let stored: Vec<TimelineEvent> = unit.append(id, &event).await?.into_iter().collect();
        unit.announce(&inc, &stored, self.destinations()).await?;
        let facts = self.reminder_facts(unit.tx(), &inc).await?;
        let next = reminders::next_due(&self.reminder_rules(), &state, &facts).map(|t| t.max(now));
        self.set_reminder_timer(unit.tx(), id, state, current, next, now)
            .await?;
        tracing::info!(incident = id, on, "reminders switched");
        Ok(true)
    }

    /// Schedules `item`'s due-date reminder when it is open with an owner and a due date (a new due
    /// date is a new timer; the old one finds the date moved and does nothing).
    pub(crate) async fn schedule_action_reminder(
        &self,
        tx: &mut Tx,
        item: &ActionItem,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let (Some(due), Some(_), true) = (item.due_at, &item.owner, item.status == "open") else {
            return Ok(());
        };
        let due_ms = due.timestamp_millis();
        let payload = json!({"incident": item.incident_id, "action_item": item.id, "due": due_ms});
        tx.schedule_job(
            REMIND_ACTION,
            &format!("{REMIND_ACTION}:{}:{due_ms}", item.id),
            &payload,
            due,
            now,
        )
        .await?;
        Ok(())
    }

    /// The direct messages reminding `owner` of an action item, on every platform they are on.
    fn action_dms(
        &self,
        inc: &Incident,
        item: &ActionItem,
        owner: &str,
        due_ms: i64,
    ) -> Vec<NewOutbox> {
        let directory = self.catalog().directory();
        let Some(person) = directory
            .get(owner)
            .or_else(|| directory.by_slack(owner))
            .or_else(|| directory.by_discord(owner))
        else {
            return Vec::new();
        };
        let text = crate::domain::escape::defuse_broadcasts(&format!(
            "⏰ Action item #{} of incident #{} ({}) is due: {}",
            item.id, inc.id, inc.title, item.text
        ));
        let slack = person
            .slack
            .clone()
            .or_else(|| person.email.as_ref().map(|_| person.id.clone()));
        let mut out = Vec::new();
        for (dest, user) in [
            (outbound::SLACK, slack),
            (outbound::DISCORD, person.discord.clone()),
        ] {
            if let Some(user) = user
                && self.destinations().iter().any(|d| d == dest)
            {
                out.push(NewOutbox {
                    destination: dest.into(),
                    action: "dm".into(),
                    incident_id: Some(inc.id),
                    channel_key: format!("{dest}:reminder:{}", person.id),
                    payload: json!({"user": user, "text": text, "incident": inc.id,
                        "action_item": item.id}),
                    idempotency_key: Some(format!("{dest}:{REMIND_ACTION}:{}:{due_ms}", item.id)),
                });
            }
        }
        out
    }

    /// Runs one claimed `reminder_action` timer: DMs the owner of an action item that is due and
    /// still open, once, with a `reminder` event.
    pub(crate) async fn run_action_reminder_job(&self, job: &Job) -> Result<(), EngineError> {
        let p = &job.payload;
        let id = p["incident"].as_i64().unwrap_or_default();
        let item_id = p["action_item"].as_i64().unwrap_or_default();
        let due_ms = p["due"].as_i64().unwrap_or_default();
        let mut unit = self.unit().await?;
        let now = unit.now();
        let Some(inc) = unit.try_lock(id).await? else {
            unit.complete_job(job.id).await?;
            return self.commit(unit).await;
        };
        if !unit.tx().take_job(job.id, now).await? {
            return Ok(());
        }
        let item = unit.tx().action_item(id, item_id).await?;
        let Some((item, owner)) = item
            .filter(|i| {
                i.status == "open" && i.due_at.map(|d| d.timestamp_millis()) == Some(due_ms)
            })
            .and_then(|i| i.owner.clone().map(|o| (i, o)))
        else {
            // Done, re-dated or without an owner since: nothing to remind of.
            return self.commit(unit).await;
        };
        let dms = self.action_dms(&inc, &item, &owner, due_ms);
        let via: Vec<String> = dms.iter().map(|d| d.destination.clone()).collect();
        for dm in &dms {
            unit.enqueue(dm).await?;
        }
        let text = if via.is_empty() {
            format!(
                "Action item #{} is due: {} ({owner} has no chat identity to remind by DM)",
                item.id, item.text
            )
        } else {
            format!(
                "Reminded {owner} by DM ({}) that action item #{} is due: {}",
                via.join(", "),
                item.id,
                item.text
            )
        };
        let event = NewEvent::new(EventKind::Reminder, now, Some(SYSTEM))
            .text(text)
            .data(
                json!({"reminder": "action_item", "action_item": item.id, "owner": owner,
                "due_at": item.due_at, "via": via}),
            )
            .key(format!("{REMIND_ACTION}:{}:{due_ms}", item.id));
        unit.append(id, &event).await?;
        metrics::counter!("warroom_reminders_total", "kind" => "action_item").increment(1);
        tracing::info!(incident = id, action_item = item.id, owner = %owner, "action item reminder sent");
        self.commit(unit).await
    }
}
