//! The alert dispatcher: reads due groups from the store, applies inhibition, opens or joins the
//! incident (declare policy, root-cause merge) and appends the alert events, one transaction per round.

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::Actor;
use crate::domain::alert::{Alert, AlertStatus};
use crate::domain::alert_policy::{
    DeclareAction, Grade, incident_title, incident_type, merge_target,
};
use crate::domain::alert_rules::{FiringRef, Inhibition, inhibition};
use crate::domain::{EventKind, Incident, NewEvent, NewIncident, Severity, Status};
use crate::store::{AlertGroup, AlertRecord, Backend, DispatchMark};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// Groups dispatched per transaction.
const ROUND: i64 = 100;

/// The actor of everything the dispatcher writes.
const ACTOR: &str = "warroom";

/// Runs the dispatcher until shutdown: woken by ingest, and every `alerts.tick_ms` for timers.
pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let tick = Duration::from_millis(engine.config().alerts.tick_ms.max(1));
    loop {
        let failed = match engine.dispatch_due().await {
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(error = %e, "alert dispatch failed; retrying");
                true
            }
        };
        // Sleep until the next group timer (a coalescing window ends) or the tick, whichever is sooner.
        let next = if failed {
            Ok(None)
        } else {
            engine.store().next_group_due().await
        };
        let until_due = match next {
            Ok(Some(due)) => (due - engine.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_millis(10)),
            Ok(None) | Err(_) => tick,
        };
        tokio::select! {
            _ = engine.alerts.wake.notified() => {}
            _ = tokio::time::sleep(tick.min(until_due)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

fn grade_of(r: &AlertRecord) -> Grade {
    r.grade.parse().unwrap_or(Grade::Record)
}

fn firing_event(r: &AlertRecord, inhibited: Option<&Inhibition>, at: DateTime<Utc>) -> NewEvent {
    let a = &r.alert;
    let svc = a
        .service
        .as_deref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default();
    let summary = a.summary().map(|s| format!(": {s}")).unwrap_or_default();
    let mut text = format!("🔥 {} firing{svc}{summary}", a.alertname());
    if let Some(i) = inhibited {
        text.push_str(&format!(" (inhibited by {}, not paged)", i.by));
    }
    if r.flaps > 0 {
        text.push_str(&format!(" (flapped {} times)", r.flaps));
    }
    NewEvent::new(EventKind::AlertFiring, at, Some(ACTOR))
        .text(text)
        .data(json!({"fingerprint": a.fingerprint, "alertname": a.alertname(), "service": a.service,
            "severity": r.grade, "source": a.source, "labels": a.labels, "annotations": a.annotations,
            "starts_at": a.starts_at.to_rfc3339(), "summary": a.summary(), "inhibited": inhibited.is_some(),
            "flaps": r.flaps, "generator_url": a.generator_url}))
        .key(format!("alert:{}:{}:firing", a.fingerprint, a.starts_at.timestamp_millis()))
}

fn resolved_event(a: &Alert, at: DateTime<Utc>) -> NewEvent {
    let ends = a.ends_at.unwrap_or(at);
    NewEvent::new(EventKind::AlertResolved, ends, Some(ACTOR))
        .text(format!("✅ {} resolved", a.alertname()))
        .data(
            json!({"fingerprint": a.fingerprint, "alertname": a.alertname(), "service": a.service,
            "source": a.source, "ends_at": ends.to_rfc3339()}),
        )
        .key(format!(
            "alert:{}:{}:resolved",
            a.fingerprint,
            a.starts_at.timestamp_millis()
        ))
}

impl Engine {
    /// Dispatches every due group; returns how many were dispatched.
    pub async fn dispatch_due(&self) -> Result<usize, EngineError> {
        let mut total = 0;
        loop {
            let mut unit = self.unit().await?;
            let now = unit.now();
            let tx = unit.tx();
            // Alerts whose group lost its timer to a race between a dispatch and an ingest that found
            // the timer set (see `Tx::touch_groups`) are due now.
            tx.rearm_pending_groups(now).await?;
            let groups = tx.due_groups(now, ROUND).await?;
            let policy = &self.alerts.policy;
            let needs_firing = !policy.inhibit_rules.is_empty()
                || (policy.catalog_inhibition && !self.catalog.is_empty());
            let firing = if needs_firing && !groups.is_empty() {
                tx.firing_alerts().await?
            } else {
                Vec::new()
            };
            if groups.is_empty() {
                self.commit(unit).await?;
                return Ok(total);
            }
            // SQLite has one writer: the round's groups share the transaction that read them (one
            // commit and one hand-off of the writer per round instead of per group, so ingest waits
            // less). If any group fails, the round is undone and each group is dispatched alone below,
            // which isolates the one that fails.
            let together = self.store.backend() == Backend::Sqlite && groups.len() > 1;
            if together {
                match self.dispatch_round(&mut unit, &groups, &firing, now).await {
                    Ok(()) => {
                        self.commit(unit).await?;
                        total += groups.len();
                        if (groups.len() as i64) < ROUND {
                            return Ok(total);
                        }
                        continue;
                    }
                    Err(EngineError::Store(e)) if e.is_unavailable() => return Err(e.into()),
                    Err(e) => {
                        drop(unit);
                        tracing::debug!(error = %e, "a round of alert groups failed together; dispatching them one by one");
                    }
                }
            } else {
                self.commit(unit).await?;
            }
            // One transaction per group: it locks only that group's alerts (in fingerprint order, like
            // ingest), so ingest and dispatch cannot deadlock; the advisory lock serialises replicas.
            for g in &groups {
                let mut unit = Unit::begin(&self.store, now).await?;
                unit.tx().lock_dispatch().await?;
                let Some(g) = unit.tx().due_group(&g.group_key, now).await? else {
                    continue; // another replica dispatched it meanwhile
                };
                match self.dispatch_group(&mut unit, &g, &firing, now).await {
                    Ok(()) => {}
                    Err(EngineError::Store(e)) if e.is_unavailable() => return Err(e.into()),
                    Err(e) => {
                        // A group that cannot be dispatched must not stop the others: undo its
                        // transaction and give it a backoff of its own.
                        drop(unit);
                        self.isolate_group(&g, &e, now).await?;
                        continue;
                    }
                };
                // Commits the group's alerts, events, posts and follow-ups (correlation, a postmortem
                // after auto-resolve) together, then runs the follow-ups.
                self.commit(unit).await?;
            }
            total += groups.len();
            if (groups.len() as i64) < ROUND {
                return Ok(total);
            }
        }
    }

    /// Dispatches `groups` (just read as due in `unit`'s transaction, SQLite: nothing else writes
    /// meanwhile) inside that one transaction, in order.
    async fn dispatch_round(
        &self,
        unit: &mut Unit,
        groups: &[AlertGroup],
        firing: &[FiringRef],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let keys: Vec<&str> = groups.iter().map(|g| g.group_key.as_str()).collect();
        let mut pending = unit.tx().pending_alerts_of(&keys).await?;
        // A resolution re-queues the alerts it inhibited, perhaps in a later group of this round: from
        // then on each group's pending alerts are read afresh.
        let mut released = false;
        for g in groups {
            let records = match pending.remove(&g.group_key) {
                _ if released => unit.tx().pending_alerts(&g.group_key).await?,
                Some(records) => records,
                None => Vec::new(),
            };
            released |= records
                .iter()
                .any(|r| r.alert.status == AlertStatus::Resolved);
            self.dispatch_records(unit, g, records, firing, now).await?;
        }
        Ok(())
    }

    /// Records a failed dispatch of `g` and schedules its retry after a backoff that doubles per
    /// failure in a row (1 s … 60 s); visible in `GET /api/v1/alerts/groups` and `/metrics`.
    async fn isolate_group(
        &self,
        g: &AlertGroup,
        error: &EngineError,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let backoff_secs = 1i64 << g.dispatch_failures.clamp(0, 6);
        let retry_at = now + chrono::TimeDelta::seconds(backoff_secs.min(60));
        let reason = error.to_string();
        let mut unit = Unit::begin(&self.store, now).await?;
        let failures = unit
            .tx()
            .group_dispatch_failed(&g.group_key, &reason, retry_at)
            .await?;
        self.commit(unit).await?;
        metrics::counter!("warroom_alert_dispatch_failures_total").increment(1);
        tracing::warn!(group = %g.group_key, failures, error = %reason, retry_at = %retry_at,
            "alert group dispatch failed; it backs off alone while the others go on");
        Ok(())
    }

    async fn dispatch_group(
        &self,
        unit: &mut Unit,
        g: &AlertGroup,
        firing: &[FiringRef],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let records = unit.tx().pending_alerts(&g.group_key).await?;
        self.dispatch_records(unit, g, records, firing, now).await
    }

    /// Dispatches group `g` with `records`, its alerts that wait for dispatch (read in this unit).
    async fn dispatch_records(
        &self,
        unit: &mut Unit,
        g: &AlertGroup,
        records: Vec<AlertRecord>,
        firing: &[FiringRef],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let policy = self.alerts.policy.clone();
        let decided: Vec<(AlertRecord, Option<Inhibition>)> = records
            .into_iter()
            .map(|r| {
                let inh = (r.alert.status == AlertStatus::Firing && grade_of(&r) != Grade::Record)
                    .then(|| {
                        inhibition(
                            &r.alert.fingerprint,
                            &r.alert.labels,
                            r.alert.service.as_deref(),
                            firing,
                            &policy.inhibit_rules,
                            &self.catalog,
                            policy.catalog_inhibition,
                        )
                    })
                    .flatten();
                (r, inh)
            })
            .collect();
        let inhibited = decided.iter().filter(|(_, i)| i.is_some()).count();
        if inhibited > 0 {
            metrics::counter!("warroom_alerts_inhibited_total").increment(inhibited as u64);
        }
        let mut incident = match g.incident_id {
            Some(id) => unit
                .tx()
                .incident_for_update(id)
                .await?
                .filter(|i| i.status.is_open()),
            None => None,
        };
        let pageable: Vec<&AlertRecord> = decided
            .iter()
            .filter(|(r, i)| {
                i.is_none()
                    && r.alert.status == AlertStatus::Firing
                    && matches!(grade_of(r), Grade::Page(_))
            })
            .map(|(r, _)| r)
            .collect();
        let mut events = Vec::new();
        let mut opened = false;
        if incident.is_none() && !pageable.is_empty() {
            let severity = pageable
                .iter()
                .filter_map(|r| match grade_of(r) {
                    Grade::Page(s) => Some(s),
                    Grade::Record => None,
                })
                .min()
                .unwrap_or(Severity::P3);
            let service = g
                .service
                .clone()
                .or_else(|| pageable.iter().find_map(|r| r.alert.service.clone()));
            let action = policy.action(severity, service.as_deref());
            if action != DeclareAction::Record {
                let merge = match policy.merge_window {
                    Some(w) => {
                        let start = pageable
                            .iter()
                            .map(|r| r.alert.starts_at)
                            .min()
                            .unwrap_or(now)
                            .min(now);
                        let open = unit.tx().open_incidents_since(start - w).await?;
                        merge_target(service.as_deref(), &open, &self.catalog, &policy, start)
                    }
                    None => None,
                };
                incident = match merge {
                    Some(id) => unit.tx().incident_for_update(id).await?,
                    None => {
                        let alerts: Vec<&Alert> = pageable.iter().map(|r| &r.alert).collect();
                        let (inc, event) = self
                            .open_from_alerts(unit, g, &alerts, severity, service, action, now)
                            .await?;
                        events.push(event);
                        opened = true;
                        Some(inc)
                    }
                };
            }
        }
        if incident.is_none() && decided.iter().any(|(_, i)| i.is_some()) {
            // Inhibited alerts are not paged, but are shown in a related open incident (usually their cause's).
            if let Some(w) = policy.merge_window {
                let service = g.service.clone();
                let start = decided
                    .iter()
                    .map(|(r, _)| r.alert.starts_at)
                    .min()
                    .unwrap_or(now)
                    .min(now);
                let open = unit.tx().open_incidents_since(start - w).await?;
                if let Some(id) =
                    merge_target(service.as_deref(), &open, &self.catalog, &policy, start)
                {
                    incident = unit.tx().incident_for_update(id).await?;
                }
            }
        }
        // Resolved alerts release what they inhibited after the group's alerts are marked, so an alert
        // of this group that one of them inhibited is dispatched again.
        let resolved: Vec<&str> = decided
            .iter()
            .filter(|(r, _)| r.alert.status == AlertStatus::Resolved)
            .map(|(r, _)| r.alert.fingerprint.as_str())
            .collect();
        let Some(mut inc) = incident else {
            let marks: Vec<DispatchMark<'_>> = decided
                .iter()
                .map(|(r, inh)| DispatchMark {
                    fingerprint: &r.alert.fingerprint,
                    written: r.written,
                    inhibited_by: inh.as_ref().map(|i| i.by.as_str()),
                    announced_at: None,
                })
                .collect();
            unit.tx().alerts_dispatched(&marks, None).await?;
            unit.tx().release_inhibited_by(&resolved, now).await?;
            unit.tx()
                .group_dispatched(&g.group_key, g.incident_id, now, now)
                .await?;
            return Ok(());
        };
        let mut any_resolved = false;
        let mut auto_resolve = false;
        // Read before this dispatch attaches its alerts: every announced alert's start is at or after the
        // incident's first alert signal, so a new start before this one is the only way to move it.
        let earliest = unit.tx().earliest_announced_start(inc.id).await?;
        let mut earliest_new: Option<DateTime<Utc>> = None;
        let mut marks = Vec::with_capacity(decided.len());
        for (r, inh) in &decided {
            let a = &r.alert;
            // At most one `alert_firing` per fingerprint per repeat_interval: flaps are counted, not re-posted.
            let announced_recently = r.incident_id == Some(inc.id)
                && r.announced_at
                    .is_some_and(|t| now - t < policy.repeat_interval);
            let this_start_announced =
                r.incident_id == Some(inc.id) && r.announced_at.is_some_and(|t| t >= a.starts_at);
            let mut announced = None;
            match a.status {
                AlertStatus::Firing if !announced_recently => {
                    events.push(firing_event(r, inh.as_ref(), now));
                    announced = Some(now);
                    earliest_new = Some(earliest_new.map_or(a.starts_at, |t| t.min(a.starts_at)));
                }
                AlertStatus::Firing => {}
                AlertStatus::Resolved => {
                    any_resolved = true;
                    if this_start_announced {
                        events.push(resolved_event(a, now));
                    }
                }
            }
            marks.push(DispatchMark {
                fingerprint: &a.fingerprint,
                written: r.written,
                inhibited_by: inh.as_ref().map(|i| i.by.as_str()),
                announced_at: announced,
            });
        }
        unit.tx().alerts_dispatched(&marks, Some(inc.id)).await?;
        unit.tx().release_inhibited_by(&resolved, now).await?;
        if any_resolved {
            let (total, still_firing, last_end) = unit.tx().incident_alert_state(inc.id).await?;
            if total > 0 && still_firing == 0 {
                let fps = unit.tx().incident_fingerprints(inc.id).await?;
                let end = last_end.unwrap_or(now);
                let mut text = format!("All {total} alerts of this incident have resolved.");
                if policy.auto_resolve {
                    text.push_str(" The alert policy resolves the incident.");
                } else {
                    text.push_str(" Resolving stays your decision: `/inc resolve`.");
                }
                events.push(
                    NewEvent::new(EventKind::AlertsResolved, end, Some(ACTOR))
                        .text(text)
                        .data(json!({"alerts": fps}))
                        .key(format!(
                            "alerts_resolved:{}:{}",
                            inc.id,
                            end.timestamp_millis()
                        )),
                );
                auto_resolve = policy.auto_resolve && inc.status.is_open();
            }
        }
        let mut stored = unit.append_all(inc.id, &events).await?;
        if opened {
            stored.extend(self.page_on_open(unit, &inc).await?);
            self.arm_reminders(unit.tx(), &inc, now).await?;
        }
        if !stored.is_empty() && !opened {
            inc.updated_at = now;
            unit.save(&inc).await?;
        }
        unit.announce(&inc, &stored, &self.destinations).await?;
        // Changes that arrived during this dispatch wait for the coalescing window: one digest per window.
        unit.tx()
            .group_dispatched(&g.group_key, Some(inc.id), now, now + policy.coalesce)
            .await?;
        // An incident that opened, or an earlier alert, moves the first signal: rank the recent
        // changes again (idempotent), as a follow-up of this unit.
        let first_signal_moved =
            opened || earliest_new.is_some_and(|n| earliest.is_none_or(|e| n < e));
        if let (true, Some(first)) = (first_signal_moved, stored.first()) {
            self.correlate_later(unit, inc.id, first.id).await?;
        }
        if auto_resolve {
            // The alert policy resolves the way a person does: same checks, same postmortem job.
            self.set_status_because(
                unit,
                inc.id,
                Status::Resolved,
                &Actor::system(),
                "every alert resolved",
            )
            .await?;
        }
        Ok(())
    }

    /// Inserts the incident a group opens, with its room, and returns it with its opening event.
    #[allow(clippy::too_many_arguments)]
    async fn open_from_alerts(
        &self,
        unit: &mut Unit,
        g: &AlertGroup,
        alerts: &[&Alert],
        severity: Severity,
        service: Option<String>,
        action: DeclareAction,
        now: DateTime<Utc>,
    ) -> Result<(Incident, NewEvent), EngineError> {
        let title = incident_title(alerts, service.as_deref());
        let kind = incident_type(alerts);
        let declared = action == DeclareAction::Declare;
        let detected_at = alerts
            .iter()
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(now)
            .min(now);
        let mut inc = Incident::open(
            NewIncident {
                title: title.clone(),
                severity,
                kind,
                service: service.clone(),
                status: if declared {
                    Status::Declared
                } else {
                    Status::Detected
                },
                declared_by: declared.then(|| ACTOR.to_string()),
                detected_at,
            },
            now,
        );
        // Declared by policy but paging a human: MTTA waits for the first acknowledged page.
        if declared && self.opening_plan(&inc).is_some() {
            inc.acknowledged_at = None;
        }
        let svc = service.as_deref().and_then(|s| self.catalog.get(s));
        let dependents: Vec<String> = service
            .as_deref()
            .map(|s| self.catalog.dependents(s).into_iter().collect())
            .unwrap_or_default();
        if !dependents.is_empty() {
            inc.impact = Some(format!(
                "Dependents possibly impacted: {}",
                dependents.join(", ")
            ));
        }
        unit.insert_incident(&mut inc).await?;
        let mut text = format!(
            "{} from {} alert(s) in group {}: {title}",
            if declared {
                "Declared by policy"
            } else {
                "Detected"
            },
            alerts.len(),
            g.group_key
        );
        if let Some(s) = svc {
            text.push_str(&format!(
                "\nService {} — owner: {}, on-call: {}",
                s.name,
                s.owner.as_deref().unwrap_or("unknown"),
                s.oncall.as_deref().unwrap_or("none")
            ));
            if let Some(rb) = &s.runbook {
                text.push_str(&format!("\nRunbook: {rb}"));
            }
        }
        if !dependents.is_empty() {
            text.push_str(&format!("\nImpacted dependents: {}", dependents.join(", ")));
        }
        let fps: Vec<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
        let event = NewEvent::new(
            if declared { EventKind::Declared } else { EventKind::Detected },
            now,
            Some(ACTOR),
        )
        .text(text)
        .data(json!({"title": inc.title, "severity": inc.severity, "type": inc.kind, "service": inc.service,
            "group": g.group_key, "alerts": fps, "owner": svc.and_then(|s| s.owner.clone()),
            "oncall": svc.and_then(|s| s.oncall.clone()), "channel": svc.and_then(|s| s.channel.clone()),
            "runbook": svc.and_then(|s| s.runbook.clone()), "dependents": dependents}));
        for entry in outbound::room_opened(&inc, &self.destinations) {
            unit.enqueue(&entry).await?;
        }
        metrics::counter!("warroom_incidents_from_alerts_total", "severity" => severity.as_str())
            .increment(1);
        tracing::info!(incident = inc.id, group = %g.group_key, "incident opened from alerts");
        Ok((inc, event))
    }
}
