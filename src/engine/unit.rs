//! The unit of work: one use-case, one transaction.
//!
//! A [`Unit`] opens the transaction, locks the incident the use-case changes, appends its timeline
//! events, enqueues its outbox entries and follow-up jobs; [`Engine::commit`] commits all of it at
//! once and only then wakes the live views and the outbox workers and runs the follow-ups. A unit
//! dropped without committing writes nothing. A move to resolved or closed enqueues the postmortem
//! job in the same transaction, whichever use-case made it, so a crash after the commit loses nothing;
//! a move out of the open statuses (resolved, cancelled …) stops the incident's paging in it too.

use super::{Engine, EngineError, Hub, jobs, outbound, paging};
use crate::domain::{Actor, EventKind, Incident, NewEvent, Status, TimelineEvent};
use crate::store::{NewOutbox, Store, StoreResult, Tx};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

/// An open use-case: its transaction and what to do once it commits.
pub(crate) struct Unit {
    tx: Tx,
    now: DateTime<Utc>,
    touched: BTreeSet<i64>,
    outbox: bool,
    follow_ups: Vec<i64>,
    savepoints: u32,
}

/// A point inside a unit that a nested step can be undone back to.
#[must_use]
pub(crate) struct Savepoint {
    name: String,
    follow_ups: usize,
}

/// Job kind: generate (on resolve) or refresh (on close) the postmortem draft.
pub const POSTMORTEM: &str = "postmortem";
/// Job kind: rank recent changes against an incident.
pub const CORRELATE: &str = "correlate";
/// Job kind: rank a change that executed against the open incidents it may explain.
pub const CORRELATE_CHANGE: &str = "correlate_change";

impl Unit {
    /// Opens a unit on `store` at `now`.
    pub(crate) async fn begin(store: &Store, now: DateTime<Utc>) -> StoreResult<Unit> {
        Ok(Unit {
            tx: store.begin().await?,
            now,
            touched: BTreeSet::new(),
            outbox: false,
            follow_ups: Vec::new(),
            savepoints: 0,
        })
    }

    /// The time the use-case happens at.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The transaction, for the use-case's own rows (changes, freezes, audit entries …).
    pub(crate) fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Locks incident `id` until commit, or answers that it does not exist.
    pub(crate) async fn lock(&mut self, id: i64) -> Result<Incident, EngineError> {
        self.try_lock(id).await?.ok_or(EngineError::NotFound(id))
    }

    /// Locks incident `id` until commit if it exists.
    pub(crate) async fn try_lock(&mut self, id: i64) -> Result<Option<Incident>, EngineError> {
        Ok(self.tx.incident_for_update(id).await?)
    }

    /// Inserts a new incident and gives it its id.
    pub(crate) async fn insert_incident(&mut self, incident: &mut Incident) -> StoreResult<()> {
        incident.id = self.tx.insert_incident(incident).await?;
        self.touched.insert(incident.id);
        Ok(())
    }

    /// Writes an incident's state back.
    pub(crate) async fn save(&mut self, incident: &Incident) -> StoreResult<()> {
        self.touched.insert(incident.id);
        self.tx.save_incident(incident).await
    }

    /// Appends an event to incident `id`'s timeline; `None` when its source key was recorded before.
    /// A status change to resolved or closed enqueues the postmortem job with it.
    pub(crate) async fn append(
        &mut self,
        id: i64,
        event: &NewEvent,
    ) -> StoreResult<Option<TimelineEvent>> {
        let stored = self.tx.append(id, event, self.now).await?;
        if let Some(e) = &stored {
            self.after_append(id, e).await?;
        }
        Ok(stored)
    }

    /// Appends several events; returns those that were new.
    pub(crate) async fn append_all(
        &mut self,
        id: i64,
        events: &[NewEvent],
    ) -> StoreResult<Vec<TimelineEvent>> {
        // One multi-row insert (the alert path appends hundreds at once), then the same per-event
        // follow-ups as `append`.
        let stored = self.tx.append_events(id, events, self.now).await?;
        for e in &stored {
            self.after_append(id, e).await?;
        }
        Ok(stored)
    }

    /// What a stored event of incident `id` brings with it in this unit: a move to resolved or
    /// closed, the postmortem job; a move out of the open statuses, the end of the paging.
    async fn after_append(&mut self, id: i64, e: &TimelineEvent) -> StoreResult<()> {
        self.touched.insert(id);
        if let Some(reason) = postmortem_reason(e) {
            let payload = json!({"incident": id, "reason": reason, "cause": e.id});
            self.follow_up(POSTMORTEM, &format!("{POSTMORTEM}:{id}:{}", e.id), &payload)
                .await?;
        }
        if let Some(to) = ended_status(e) {
            self.stop_paging(id, to).await?;
        }
        Ok(())
    }

    /// Stops incident `id`'s paging because it moved to `to`: its open pages become `exhausted`
    /// (`stop_reason = incident_<to>`, a `page_exhausted` event each) and its timers are cancelled.
    async fn stop_paging(&mut self, id: i64, to: Status) -> StoreResult<()> {
        let reason = format!("incident_{to}");
        let cancelled = self.tx.cancel_paging_jobs(id, self.now).await?;
        let pages = self.tx.stop_pages(id, &reason, self.now).await?;
        for page in &pages {
            let mut data = paging::page_data(page);
            data["reason"] = json!(reason);
            let event = NewEvent::new(EventKind::PageExhausted, self.now, Some("warroom"))
                .text(format!(
                    "Page to {} stopped: the incident is {to}",
                    paging::recipient_label(page)
                ))
                .data(data);
            self.tx.append(id, &event, self.now).await?;
        }
        if cancelled > 0 || !pages.is_empty() {
            tracing::info!(incident = id, pages = pages.len(), timers = cancelled, status = %to,
                "paging stopped: the incident ended");
        }
        Ok(())
    }

    /// Writes an outbox entry; `None` when its idempotency key exists.
    pub(crate) async fn enqueue(&mut self, entry: &NewOutbox) -> StoreResult<Option<i64>> {
        self.outbox = true;
        if let Some(id) = entry.incident_id {
            self.touched.insert(id);
        }
        self.tx.enqueue(entry, self.now).await
    }

    /// Enqueues the room posts that newly appended `events` cause on every destination.
    pub(crate) async fn announce(
        &mut self,
        incident: &Incident,
        events: &[TimelineEvent],
        destinations: &[String],
    ) -> StoreResult<()> {
        for entry in outbound::for_events(incident, events, destinations) {
            self.enqueue(&entry).await?;
        }
        Ok(())
    }

    /// Schedules a job at `run_at`; `key` makes it idempotent (`None` when it exists).
    pub(crate) async fn schedule(
        &mut self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
        run_at: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        self.tx
            .schedule_job(kind, key, payload, run_at, self.now)
            .await
    }

    /// Schedules a follow-up job due now, run right after the commit (and by the jobs tick if the
    /// process dies first).
    pub(crate) async fn follow_up(
        &mut self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<()> {
        if let Some(id) = self.schedule(kind, key, payload, self.now).await? {
            self.follow_ups.push(id);
        }
        Ok(())
    }

    /// Marks job `id` done with this unit's work.
    pub(crate) async fn complete_job(&mut self, id: i64) -> StoreResult<()> {
        self.tx.complete_job(id, self.now).await
    }

    /// Marks a point a nested step can be undone to ([`Unit::rollback_to`]).
    pub(crate) async fn savepoint(&mut self) -> StoreResult<Savepoint> {
        self.savepoints += 1;
        let name = format!("step_{}", self.savepoints);
        self.tx.savepoint(&name).await?;
        Ok(Savepoint {
            name,
            follow_ups: self.follow_ups.len(),
        })
    }

    /// Keeps what was written since `sp`.
    pub(crate) async fn release(&mut self, sp: Savepoint) -> StoreResult<()> {
        self.tx.release(&sp.name).await
    }

    /// Undoes what was written since `sp` (the unit goes on).
    pub(crate) async fn rollback_to(&mut self, sp: Savepoint) -> StoreResult<()> {
        self.follow_ups.truncate(sp.follow_ups);
        self.tx.rollback_to(&sp.name).await?;
        self.tx.release(&sp.name).await
    }

    /// Commits; then wakes the views of the incidents it touched and the outbox workers. Returns the
    /// follow-up jobs to run.
    pub(crate) async fn commit(self, hub: Option<&Hub>) -> StoreResult<Vec<i64>> {
        self.tx.commit().await?;
        if let Some(hub) = hub {
            for id in &self.touched {
                hub.notify(*id);
            }
            if self.touched.is_empty() && self.outbox {
                hub.notify(0);
            }
        }
        Ok(self.follow_ups)
    }
}

/// The status a stored event moved its incident to, when that is out of the open ones.
fn ended_status(event: &TimelineEvent) -> Option<Status> {
    if event.kind != EventKind::StatusChanged {
        return None;
    }
    let to: Status = event.data.get("to")?.as_str()?.parse().ok()?;
    (!to.is_open()).then_some(to)
}

/// Why a stored event calls for the postmortem draft: a move to resolved or closed.
fn postmortem_reason(event: &TimelineEvent) -> Option<&'static str> {
    if event.kind != EventKind::StatusChanged {
        return None;
    }
    match event.data.get("to").and_then(|v| v.as_str()) {
        Some(s) if s == Status::Resolved.as_str() => Some("resolve"),
        Some(s) if s == Status::Closed.as_str() => Some("close"),
        _ => None,
    }
}

impl Engine {
    /// Opens a unit of work at the current time.
    pub(crate) async fn unit(&self) -> Result<Unit, EngineError> {
        Ok(Unit::begin(&self.store, self.now()).await?)
    }

    /// Commits `unit`, wakes what it touched, then runs its follow-up jobs (a failure there is the
    /// job's, retried by the jobs tick; it never undoes the commit).
    pub(crate) async fn commit(&self, unit: Unit) -> Result<(), EngineError> {
        let follow_ups = unit.commit(Some(&self.hub)).await?;
        self.run_follow_ups(&follow_ups).await;
        Ok(())
    }

    /// Runs the follow-up jobs a committed unit returned (inline, or by waking the jobs worker).
    pub(crate) async fn run_follow_ups(&self, follow_ups: &[i64]) {
        if !follow_ups.is_empty() {
            if self.inline_follow_ups {
                Box::pin(jobs::run_now(self, follow_ups)).await;
            } else {
                self.hub.jobs_wakeup();
            }
        }
    }

    /// Ends a use-case run in `unit`: commits it when `result` is Ok; otherwise drops it (nothing
    /// written), and a refusal of `by` (the actor, and the incident it is recorded on) is recorded
    /// in a unit of its own.
    pub(crate) async fn finish<T>(
        &self,
        unit: Unit,
        by: Option<(&Actor, Option<i64>)>,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        match result {
            Ok(value) => {
                self.commit(unit).await?;
                Ok(value)
            }
            Err(e) => {
                drop(unit);
                if let (Some((actor, incident)), EngineError::Forbidden { .. }) = (by, &e) {
                    let mut refusal = self.unit().await?;
                    self.record_refusal(&mut refusal, actor, incident, &e)
                        .await?;
                    self.commit(refusal).await?;
                }
                Err(e)
            }
        }
    }

    /// Ends a nested step of `unit` begun at `sp`: keeps it when `result` is Ok; undoes it when it
    /// failed (a refusal of `actor` is then recorded in the unit, on `incident`). Storage failures
    /// are passed on: the whole unit fails with them.
    pub(crate) async fn settle<T>(
        &self,
        unit: &mut Unit,
        sp: Savepoint,
        actor: &Actor,
        incident: Option<i64>,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        match result {
            Ok(value) => {
                unit.release(sp).await?;
                Ok(value)
            }
            Err(EngineError::Store(e)) => Err(EngineError::Store(e)),
            Err(e) => {
                unit.rollback_to(sp).await?;
                if matches!(e, EngineError::Forbidden { .. }) {
                    self.record_refusal(unit, actor, incident, &e).await?;
                }
                Err(e)
            }
        }
    }
}
