//! Rollback: call the service's rollback hook through the outbox, record the rollback change, then
//! verify with durable jobs whether the incident's alerts resolve within the window.
//!
//! Jobs: `rollback_watch` polls the hook's outbox entry until it is delivered (→ `executed`) or given
//! up (→ `failed`); `rollback_verify` polls the incident until its alerts have resolved (→ `verified`)
//! or the window has passed (→ `not_verified`). Each step commits its events with the job's completion.

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::change::{Change, ChangeStatus, label, parse_ref};
use crate::domain::correlation::span;
use crate::domain::{EventKind, Incident, NewEvent, Status, TimelineEvent};
use crate::store::{Job, NewOutbox, OutboxStatus};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// The outbox destination that performs HTTP hooks.
pub const WEBHOOK: &str = "webhook";
/// Job kind: wait for the hook call.
pub const WATCH: &str = "rollback_watch";
/// Job kind: wait for the alerts to resolve.
pub const VERIFY: &str = "rollback_verify";

/// Whether the incident's alerts have all resolved (or the incident itself is resolved).
fn alerts_resolved(incident: &Incident, events: &[TimelineEvent]) -> bool {
    if matches!(
        incident.status,
        Status::Resolved | Status::Reviewing | Status::Closed
    ) {
        return true;
    }
    let mut firing: BTreeMap<String, bool> = BTreeMap::new();
    for e in events {
        match e.kind {
            EventKind::AlertFiring => {
                if let Some(f) = e.data["fingerprint"].as_str() {
                    firing.insert(f.to_string(), true);
                }
            }
            EventKind::AlertResolved => {
                if let Some(f) = e.data["fingerprint"].as_str() {
                    firing.insert(f.to_string(), false);
                }
            }
            EventKind::AlertsResolved => {
                for f in e.data["alerts"].as_array().into_iter().flatten() {
                    if let Some(f) = f.as_str() {
                        firing.insert(f.to_string(), false);
                    }
                }
                firing.values_mut().for_each(|v| *v = false);
            }
            _ => {}
        }
    }
    !firing.is_empty() && firing.values().all(|f| !f)
}

impl Engine {
    /// `/inc rollback <change>`: checks permission and the hook, records the rollback change and
    /// enqueues the hook call; returns the rollback change.
    pub async fn rollback(
        &self,
        id: i64,
        change: &str,
        who: &crate::domain::Actor,
    ) -> Result<Change, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.rollback_in(&mut unit, id, change, who).await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::rollback`] inside `unit`.
    pub(super) async fn rollback_in(
        &self,
        unit: &mut Unit,
        id: i64,
        change: &str,
        who: &crate::domain::Actor,
    ) -> Result<Change, EngineError> {
        let actor = who.id.as_str();
        let cfg = &self.config().changes;
        let change_id = parse_ref(change).ok_or_else(|| {
            EngineError::invalid(
                "change",
                format!("`{change}` is not a change id like chg-42"),
            )
        })?;
        let now = unit.now();
        let incident = unit.lock(id).await?;
        let audit = self.check(
            crate::domain::policy::Action::Rollback,
            who,
            Some(&incident),
            Some(label(change_id)),
        )?;
        let tx = unit.tx();
        if let Some(entry) = &audit {
            tx.audit(entry).await?;
        }
        let mut original = tx.change_for_update(change_id).await?.ok_or_else(|| {
            EngineError::invalid("change", format!("{} does not exist", label(change_id)))
        })?;
        let Some((service, hook)) = original
            .services
            .iter()
            .find_map(|s| cfg.rollback.get(s).map(|h| (s.clone(), h)))
        else {
            return Err(EngineError::Conflict(format!(
                "no rollback hook is configured for {} ([changes.rollback.{}]); roll it back by hand and record it",
                original.service, original.service
            )));
        };
        if original.status == ChangeStatus::RolledBack {
            return Err(EngineError::Conflict(format!(
                "{} is already rolled back",
                label(change_id)
            )));
        }
        original
            .status
            .check(ChangeStatus::RolledBack)
            .map_err(|e| {
                EngineError::Conflict(format!("{} cannot be rolled back: {e}", label(change_id)))
            })?;
        let ctx = json!({"change": original, "incident": {"id": incident.id, "title": incident.title,
            "severity": incident.severity, "service": incident.service}, "actor": actor, "service": service});
        let request = super::hook_request::render_hook(&service, hook, &ctx)?;
        let mut rb = original.clone();
        rb.id = 0;
        rb.source = "chat".into();
        rb.external_id = None;
        rb.summary = format!("Rollback of {}: {}", label(change_id), original.summary);
        rb.author = Some(actor.to_string());
        rb.links = Vec::new();
        rb.status = ChangeStatus::Executing;
        rb.rollback_of = Some(change_id);
        rb.rollback_plan = None;
        (rb.started_at, rb.ended_at, rb.created_at, rb.updated_at) = (Some(now), None, now, now);
        rb.id = tx.insert_change(&rb).await?;
        let note = format!(
            "rollback of {} requested by {actor} in incident #{id}",
            label(change_id)
        );
        tx.append_change_event(
            rb.id,
            now,
            Some(actor),
            None,
            rb.status,
            &note,
            &json!({"incident": id}),
        )
        .await?;
        let from = original.status;
        original.status = ChangeStatus::RolledBack;
        original.updated_at = now;
        tx.save_change(&original).await?;
        let note = format!(
            "rolled back by {actor} ({}) in incident #{id}",
            label(rb.id)
        );
        tx.append_change_event(
            change_id,
            now,
            Some(actor),
            Some(from),
            original.status,
            &note,
            &json!({"incident": id, "rollback_change_id": rb.id}),
        )
        .await?;
        let entry = NewOutbox {
            destination: WEBHOOK.into(),
            action: "http".into(),
            incident_id: Some(id),
            channel_key: format!("webhook:rollback:{change_id}"),
            payload: request,
            idempotency_key: Some(format!("rollback:{id}:{change_id}")),
        };
        let outbox = unit.enqueue(&entry).await?.ok_or_else(|| {
            EngineError::Conflict(format!(
                "a rollback of {} was already requested",
                label(change_id)
            ))
        })?;
        let text = format!(
            "⏪ {actor} requested a rollback of {} ({}); calling the rollback hook of {service}",
            label(change_id),
            original.headline()
        );
        self.rollback_event(
            unit,
            &incident,
            change_id,
            "requested",
            Some(rb.id),
            actor,
            &text,
        )
        .await?;
        let payload = json!({"incident": id, "change": change_id, "rollback_change": rb.id, "outbox": outbox});
        unit.schedule(WATCH, &format!("{WATCH}:{outbox}"), &payload, now)
            .await?;
        tracing::info!(incident = id, change = change_id, "rollback requested");
        Ok(rb)
    }

    #[allow(clippy::too_many_arguments)]
    async fn rollback_event(
        &self,
        unit: &mut Unit,
        incident: &Incident,
        change_id: i64,
        phase: &str,
        rollback_change: Option<i64>,
        actor: &str,
        text: &str,
    ) -> Result<(), EngineError> {
        let now = unit.now();
        let event = NewEvent::new(EventKind::Rollback, now, Some(actor))
            .text(text)
            .data(json!({"change_id": change_id, "phase": phase, "rollback_change_id": rollback_change}))
            .key(format!("rollback:{}:{change_id}:{phase}", incident.id));
        if let Some(stored) = unit.append(incident.id, &event).await? {
            for d in self.destinations() {
                let key = format!("{d}:event:{}", stored.id);
                unit.enqueue(&outbound::post(incident, d, text, Some(key)))
                    .await?;
            }
        }
        Ok(())
    }

    /// Moves the rollback change on inside `unit`, when the step is legal.
    async fn step_rollback_change(
        &self,
        unit: &mut Unit,
        id: i64,
        to: ChangeStatus,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let tx = unit.tx();
        if let Some(mut c) = tx.change_for_update(id).await?
            && c.status.check(to).is_ok()
        {
            let from = c.status;
            c.status = to;
            c.updated_at = now;
            if matches!(to, ChangeStatus::Done | ChangeStatus::Failed) {
                c.ended_at = Some(now);
            }
            tx.save_change(&c).await?;
            tx.append_change_event(id, now, Some("warroom"), Some(from), to, note, &json!({}))
                .await?;
        }
        Ok(())
    }

    /// Runs one claimed rollback job (`rollback_watch`, `rollback_verify`); each step commits its
    /// events with the job's completion or its next poll.
    pub(super) async fn run_rollback_job(&self, job: &Job) -> Result<(), EngineError> {
        let mut unit = self.unit().await?;
        let result = self.rollback_job_in(&mut unit, job).await;
        self.finish(unit, None, result).await
    }

    async fn rollback_job_in(&self, unit: &mut Unit, job: &Job) -> Result<(), EngineError> {
        let p = &job.payload;
        let num = |k: &str| p[k].as_i64().unwrap_or_default();
        let (id, change, rb) = (num("incident"), num("change"), num("rollback_change"));
        let now = unit.now();
        let tick = Duration::milliseconds(self.config().changes.jobs_tick_ms as i64);
        let incident = unit.lock(id).await?;
        match job.kind.as_str() {
            WATCH => {
                let outbox = num("outbox");
                let entries = self.store().outbox_for_incident(id).await?;
                let Some((entry, status)) = entries.into_iter().find(|(e, _)| e.id == outbox)
                else {
                    unit.complete_job(job.id).await?;
                    return Ok(());
                };
                match status {
                    OutboxStatus::Pending => unit.tx().reschedule_job(job.id, now + tick).await?,
                    OutboxStatus::Done => {
                        let window = self.config().changes.verify_window_secs as i64;
                        let text = format!(
                            "✔️ The rollback hook for {} answered; watching whether the alerts resolve within {}",
                            label(change),
                            span(Duration::seconds(window))
                        );
                        self.rollback_event(
                            unit,
                            &incident,
                            change,
                            "executed",
                            Some(rb),
                            "warroom",
                            &text,
                        )
                        .await?;
                        self.step_rollback_change(
                            unit,
                            rb,
                            ChangeStatus::Verifying,
                            "rollback hook executed",
                            now,
                        )
                        .await?;
                        let deadline = now + Duration::seconds(window);
                        let verify = json!({"incident": id, "change": change, "rollback_change": rb,
                            "executed_at": now.to_rfc3339(), "deadline": deadline.to_rfc3339()});
                        unit.schedule(VERIFY, &format!("{VERIFY}:{outbox}"), &verify, now)
                            .await?;
                        unit.complete_job(job.id).await?;
                    }
                    OutboxStatus::Failed => {
                        let why = entry.last_error.unwrap_or_else(|| "unknown error".into());
                        let text =
                            format!("⚠️ The rollback hook for {} failed: {why}", label(change));
                        self.rollback_event(
                            unit,
                            &incident,
                            change,
                            "failed",
                            Some(rb),
                            "warroom",
                            &text,
                        )
                        .await?;
                        self.step_rollback_change(
                            unit,
                            rb,
                            ChangeStatus::Failed,
                            "rollback hook failed",
                            now,
                        )
                        .await?;
                        unit.complete_job(job.id).await?;
                    }
                }
            }
            VERIFY => {
                let time = |k: &str| {
                    p[k].as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map_or(now, |t| t.with_timezone(&Utc))
                };
                let (executed, deadline) = (time("executed_at"), time("deadline"));
                let events = self.store().alert_events(id).await?;
                if alerts_resolved(&incident, &events) {
                    let text = format!(
                        "✅ Rollback of {} verified: the incident's alerts resolved within {} of the rollback",
                        label(change),
                        span(now - executed)
                    );
                    self.rollback_event(
                        unit,
                        &incident,
                        change,
                        "verified",
                        Some(rb),
                        "warroom",
                        &text,
                    )
                    .await?;
                    self.step_rollback_change(unit, rb, ChangeStatus::Done, "verified", now)
                        .await?;
                    unit.complete_job(job.id).await?;
                } else if now >= deadline {
                    let text = format!(
                        "❌ Rollback of {} not verified: the incident's alerts have not resolved {} after the rollback",
                        label(change),
                        span(now - executed)
                    );
                    self.rollback_event(
                        unit,
                        &incident,
                        change,
                        "not_verified",
                        Some(rb),
                        "warroom",
                        &text,
                    )
                    .await?;
                    self.step_rollback_change(unit, rb, ChangeStatus::Done, "not verified", now)
                        .await?;
                    unit.complete_job(job.id).await?;
                } else {
                    let poll = ((deadline - executed) / 10).clamp(tick, Duration::seconds(30));
                    unit.tx()
                        .reschedule_job(job.id, (now + poll).min(deadline))
                        .await?;
                }
            }
            other => {
                tracing::warn!(job = job.id, kind = other, "unknown job kind; dropping it");
                unit.complete_job(job.id).await?;
            }
        }
        Ok(())
    }
}
