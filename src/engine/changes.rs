//! Change use-cases: record (every ingest path), lifecycle steps, approval, the gate, freezes, budgets.

use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::change::{Change, ChangeKind, ChangeStatus, NewChange, initial_status, label};
use crate::domain::gate::{self, Freeze, FreezeWindow, GateInput, GateReason, OpenIncident};
use crate::domain::policy::Action;
use crate::domain::{Actor, Status};
use crate::store::{FreezeTarget, IncidentFilter};
use serde::Serialize;
use serde_json::json;

/// What recording a report did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", content = "change", rename_all = "snake_case")]
pub enum Recorded {
    /// A new change.
    Created(Change),
    /// A known change moved on.
    Updated(Change),
    /// A known change, nothing new (or a step out of order, ignored).
    Unchanged(Change),
    /// The delivery was seen before.
    Duplicate,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateAnswer {
    /// Whether the change may ship.
    pub allowed: bool,
    /// Every reason it may not, in words.
    pub reasons: Vec<String>,
    /// The same reasons, structured.
    pub details: Vec<GateReason>,
    /// Who overrode a closed gate, if somebody did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
}

/// An override request: who (the caller, never a name from the request body) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOverride {
    /// Who overrides.
    pub by: Actor,
    /// Why.
    pub reason: String,
}

/// What `/change unfreeze` or the API lifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfreeze {
    /// One freeze by id.
    Id(i64),
    /// The freezes on one scope (a service, or `all` for the all-services freezes).
    Scope(String),
    /// Every active freeze.
    All,
}

impl Unfreeze {
    /// Reads `3`, `#3`, `all` or a service name.
    pub fn parse(text: &str) -> Result<Unfreeze, EngineError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(EngineError::invalid(
                "scope",
                "name a freeze id, a service or `all`",
            ));
        }
        if t.eq_ignore_ascii_case("all") {
            return Ok(Unfreeze::All);
        }
        match t.trim_start_matches('#').parse::<i64>() {
            Ok(id) => Ok(Unfreeze::Id(id)),
            Err(_) => Ok(Unfreeze::Scope(t.to_string())),
        }
    }

    fn subject(&self) -> String {
        match self {
            Unfreeze::Id(id) => format!("freeze #{id}"),
            Unfreeze::Scope(s) => format!("freezes on {s}"),
            Unfreeze::All => "every freeze".to_string(),
        }
    }
}

fn check_report(r: &NewChange) -> Result<(), EngineError> {
    if r.services.is_empty() {
        return Err(EngineError::invalid(
            "services",
            "at least one service is required",
        ));
    }
    for s in &r.services {
        if s.trim().is_empty() || s.len() > 100 || s.chars().any(char::is_control) {
            return Err(EngineError::invalid(
                "services",
                format!("`{s}` is not a service name"),
            ));
        }
    }
    if r.summary.trim().is_empty() {
        return Err(EngineError::invalid("summary", "must not be empty"));
    }
    if r.summary.chars().count() > 1000 {
        return Err(EngineError::invalid(
            "summary",
            "at most 1000 characters are allowed",
        ));
    }
    Ok(())
}

impl Engine {
    /// Records a reported change, or moves a known one (same source and external id) on.
    /// Idempotent on the report's delivery key; a step out of order is ignored, not refused.
    pub async fn record_change(
        &self,
        report: NewChange,
        who: &Actor,
    ) -> Result<Recorded, EngineError> {
        check_report(&report)?;
        let result = match self.record_once(report.clone(), who).await {
            // Two first reports of one external id raced: the loser now finds the winner's row.
            Err(EngineError::Store(e)) if e.is_unique_violation() => {
                self.record_once(report, who).await
            }
            other => other,
        };
        self.recorded(who, None, result).await
    }

    async fn record_once(&self, report: NewChange, who: &Actor) -> Result<Recorded, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.record_in(&mut unit, report, who).await;
        // Refusals are recorded by `record_change`, once.
        self.finish(unit, None, result).await
    }

    async fn record_in(
        &self,
        unit: &mut Unit,
        report: NewChange,
        who: &Actor,
    ) -> Result<Recorded, EngineError> {
        let actor = who.id.as_str();
        // Reporting a change as approved is approving it: the approvers are not skipped.
        let approval = match report.status {
            Some(ChangeStatus::Approved) => self.check(
                Action::ApproveChange,
                who,
                None,
                report
                    .external_id
                    .clone()
                    .map(|e| format!("{}:{e}", report.source)),
            )?,
            _ => None,
        };
        let now = unit.now();
        let tx = unit.tx();
        if let Some((scope, key)) = &report.delivery
            && !tx.claim_key(scope, key, now).await?
        {
            return Ok(Recorded::Duplicate);
        }
        let known = match &report.external_id {
            Some(ext) => tx.change_by_external(&report.source, ext).await?,
            None => None,
        };
        if let Some(entry) = &approval {
            tx.audit(entry).await?;
        }
        let recorded = match known {
            Some(mut c) => {
                let from = c.status;
                let to = report.status.unwrap_or(from);
                let mut moved = false;
                if to != from && from.check(to).is_ok() {
                    c.status = to;
                    moved = true;
                }
                let ended = report.ended_at.filter(|_| c.ended_at.is_none());
                let started = report.started_at.filter(|_| c.started_at.is_none());
                // A later report may add links (GitHub's deployment status carries its target and log URLs).
                let mut new_links = Vec::new();
                for l in report.links {
                    if !c.links.iter().chain(&new_links).any(|k| k.href == l.href) {
                        new_links.push(l);
                    }
                }
                let committed = report.committed_at.filter(|_| c.committed_at.is_none());
                if !moved
                    && ended.is_none()
                    && started.is_none()
                    && committed.is_none()
                    && new_links.is_empty()
                {
                    return Ok(Recorded::Unchanged(c));
                }
                c.ended_at = c.ended_at.or(ended);
                c.started_at = c.started_at.or(started);
                c.committed_at = c.committed_at.or(committed);
                if c.status.has_executed() && c.started_at.is_none() {
                    c.started_at = Some(now);
                }
                c.version = c.version.or(report.version);
                c.links.extend(new_links);
                c.updated_at = now;
                tx.save_change(&c).await?;
                let text = format!("{} reported {}", report.source, c.status);
                let data = json!({"source": report.source});
                tx.append_change_event(c.id, now, Some(actor), Some(from), c.status, &text, &data)
                    .await?;
                Recorded::Updated(c)
            }
            None => {
                let status = report
                    .status
                    .unwrap_or_else(|| initial_status(report.started_at, report.ended_at));
                let started_at = match report.started_at {
                    None if status.has_executed() => Some(now),
                    s => s,
                };
                let ended_at =
                    report
                        .ended_at
                        .or(matches!(status, ChangeStatus::Done | ChangeStatus::Failed)
                            .then_some(now));
                let mut c = Change {
                    id: 0,
                    source: report.source.clone(),
                    external_id: report.external_id,
                    kind: report.kind.unwrap_or(ChangeKind::Deploy),
                    service: report.services[0].trim().to_string(),
                    services: report
                        .services
                        .iter()
                        .map(|s| s.trim().to_string())
                        .collect(),
                    environment: report.environment,
                    summary: report.summary.trim().to_string(),
                    author: report.author,
                    version: report.version,
                    links: report.links,
                    status,
                    rollback_of: report.rollback_of,
                    rollback_plan: report.rollback_plan,
                    started_at,
                    ended_at,
                    created_at: now,
                    updated_at: now,
                    committed_at: report.committed_at,
                };
                c.id = tx.insert_change(&c).await?;
                let text = format!("recorded from {} as {status}", c.source);
                let data = json!({"source": c.source});
                tx.append_change_event(c.id, now, Some(actor), None, status, &text, &data)
                    .await?;
                Recorded::Created(c)
            }
        };
        if let Recorded::Created(c) | Recorded::Updated(c) = &recorded {
            metrics::counter!("warroom_changes_recorded_total", "source" => c.source.clone())
                .increment(1);
            tracing::info!(change = c.id, service = %c.service, status = %c.status, "change recorded");
            if c.status.has_executed() {
                self.correlate_change_later(unit, c).await?;
            }
        }
        Ok(recorded)
    }

    /// Moves a change to `to`, recording who did it.
    pub async fn set_change_status(
        &self,
        id: i64,
        to: ChangeStatus,
        who: &Actor,
        note: Option<&str>,
    ) -> Result<Change, EngineError> {
        let mut unit = self.unit().await?;
        let result = self
            .set_change_status_in(&mut unit, id, to, who, note)
            .await;
        self.finish(unit, Some((who, None)), result).await
    }

    /// [`Engine::set_change_status`] inside `unit`.
    pub(super) async fn set_change_status_in(
        &self,
        unit: &mut Unit,
        id: i64,
        to: ChangeStatus,
        who: &Actor,
        note: Option<&str>,
    ) -> Result<Change, EngineError> {
        let actor = who.id.as_str();
        // Moving a change to approved, by any path, is approving it.
        let action = if to == ChangeStatus::Approved {
            Action::ApproveChange
        } else {
            Action::ChangeStatus
        };
        let audit = self.check(action, who, None, Some(label(id)))?;
        let now = unit.now();
        let tx = unit.tx();
        let mut c = tx.change_for_update(id).await?.ok_or_else(|| {
            EngineError::invalid("change", format!("{} does not exist", label(id)))
        })?;
        let from = c.status;
        from.check(to)
            .map_err(|e| EngineError::Conflict(format!("{}: {e}", label(id))))?;
        c.status = to;
        c.updated_at = now;
        if to.has_executed() && c.started_at.is_none() {
            c.started_at = Some(now);
        }
        if matches!(
            to,
            ChangeStatus::Done | ChangeStatus::Failed | ChangeStatus::RolledBack
        ) && c.ended_at.is_none()
        {
            c.ended_at = Some(now);
        }
        tx.save_change(&c).await?;
        if let Some(entry) = &audit {
            tx.audit(entry).await?;
        }
        let text = note.map_or_else(|| format!("{actor} moved it to {to}"), str::to_string);
        tx.append_change_event(id, now, Some(actor), Some(from), to, &text, &json!({}))
            .await?;
        if to == ChangeStatus::Executing {
            self.correlate_change_later(unit, &c).await?;
        }
        Ok(c)
    }

    /// Approves a planned or in-review change, if `actor` may approve (`approve_change`).
    pub async fn approve_change(&self, id: i64, actor: &Actor) -> Result<Change, EngineError> {
        let note = format!("approved by {}", actor.id);
        self.set_change_status(id, ChangeStatus::Approved, actor, Some(&note))
            .await
    }

    /// The configured freeze windows, compiled (invalid ones are reported by `check-config`).
    fn freeze_windows(&self) -> Vec<FreezeWindow> {
        self.config()
            .changes
            .freeze_windows
            .iter()
            .filter_map(|w| {
                let tz = w.timezone.as_deref().unwrap_or("UTC");
                let mut fw = FreezeWindow::parse(&w.name, &w.cron, &w.duration, tz).ok()?;
                fw.services = w.services.clone();
                fw.kinds = w.kinds.iter().filter_map(|k| k.parse().ok()).collect();
                fw.reason = w.reason.clone();
                Some(fw)
            })
            .collect()
    }

    /// May a change of `kind` to `service` ship now? Names every reason; a permitted override opens it.
    pub async fn gate(
        &self,
        service: &str,
        kind: Option<ChangeKind>,
        override_by: Option<GateOverride>,
    ) -> Result<GateAnswer, EngineError> {
        let service = service.trim();
        if service.is_empty() {
            return Err(EngineError::invalid("service", "must not be empty"));
        }
        let now = self.now();
        let cfg = &self.config().changes;
        let freezes = self.store().active_freezes(now).await?;
        let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        let filter = IncidentFilter {
            statuses: open,
            limit: 500,
            ..IncidentFilter::default()
        };
        let incidents: Vec<OpenIncident> = self
            .store()
            .incidents(&filter)
            .await?
            .into_iter()
            .filter_map(|i| {
                Some(OpenIncident {
                    id: i.id,
                    service: i.service?,
                    severity: i.severity,
                    title: i.title,
                })
            })
            .collect();
        let windows = self.freeze_windows();
        let dependencies = self.catalog().dependencies(service);
        let budget = self.store().error_budget(service).await?;
        let details = gate::evaluate(&GateInput {
            service,
            kind,
            now,
            windows: &windows,
            freezes: &freezes,
            dependencies: &dependencies,
            incidents: &incidents,
            min_severity: cfg.gate_severity,
            budget_remaining: budget,
            budget_floor: cfg.budget_floor,
        });
        let mut reasons: Vec<String> = details.iter().map(GateReason::text).collect();
        let mut answer = GateAnswer {
            allowed: details.is_empty(),
            reasons: Vec::new(),
            details,
            overridden_by: None,
        };
        if let (false, Some(o)) = (answer.allowed, override_by) {
            let subject = Some(service.to_string());
            match self.check(Action::OverrideGate, &o.by, None, subject) {
                Ok(audit) => {
                    let kind = kind.map(|k| k.as_str());
                    let mut unit = self.unit().await?;
                    let tx = unit.tx();
                    tx.record_gate_override(service, kind, &o.by.id, &o.reason, &reasons, now)
                        .await?;
                    if let Some(entry) = &audit {
                        tx.audit(entry).await?;
                    }
                    self.commit(unit).await?;
                    tracing::warn!(service, by = %o.by.id, "change gate overridden");
                    answer.allowed = true;
                    answer.overridden_by = Some(o.by.id);
                }
                Err(refused) => {
                    let reason = refused.to_string();
                    if let Err(EngineError::Store(e)) =
                        self.recorded::<()>(&o.by, None, Err(refused)).await
                    {
                        return Err(EngineError::Store(e));
                    }
                    reasons.push(format!("override refused: {reason}"));
                }
            }
        }
        answer.reasons = reasons;
        metrics::counter!("warroom_change_gate_total", "allowed" => answer.allowed.to_string())
            .increment(1);
        Ok(answer)
    }

    /// Freezes changes to `scope` (`all` or a service) for `duration`, durably.
    pub async fn freeze(
        &self,
        scope: &str,
        duration: std::time::Duration,
        reason: &str,
        who: &Actor,
        room: Option<i64>,
    ) -> Result<Freeze, EngineError> {
        let mut unit = self.unit().await?;
        let result = self
            .freeze_in(&mut unit, scope, duration, reason, who, room)
            .await;
        self.finish(unit, Some((who, room)), result).await
    }

    /// The longest freeze allowed (`changes.max_freeze`, default 30 days).
    fn max_freeze(&self) -> chrono::Duration {
        humantime::parse_duration(&self.config().changes.max_freeze)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or_else(|| chrono::Duration::days(30))
    }

    /// [`Engine::freeze`] inside `unit`.
    pub(super) async fn freeze_in(
        &self,
        unit: &mut Unit,
        scope: &str,
        duration: std::time::Duration,
        reason: &str,
        who: &Actor,
        room: Option<i64>,
    ) -> Result<Freeze, EngineError> {
        let scope = scope.trim();
        if scope.is_empty() {
            return Err(EngineError::invalid("scope", "name a service or `all`"));
        }
        if reason.trim().is_empty() {
            return Err(EngineError::invalid("reason", "must not be empty"));
        }
        let max = self.max_freeze();
        let d = chrono::Duration::from_std(duration)
            .ok()
            .filter(|d| *d > chrono::Duration::zero() && *d <= max)
            .ok_or_else(|| {
                let max = humantime::format_duration(max.to_std().unwrap_or_default());
                EngineError::invalid(
                    "duration",
                    format!("must be between 1s and {max} (changes.max_freeze)"),
                )
            })?;
        let incident = match room {
            Some(id) => self.store().incident(id).await?,
            None => None,
        };
        let scope = if scope.eq_ignore_ascii_case("all") {
            "all"
        } else {
            scope
        };
        let audit = self.check(
            Action::Freeze,
            who,
            incident.as_ref(),
            Some(format!("freeze {scope}")),
        )?;
        let now = unit.now();
        let tx = unit.tx();
        let f = tx
            .add_freeze(scope, reason.trim(), now, now + d, Some(&who.id))
            .await?;
        if let Some(mut entry) = audit {
            entry.subject = Some(format!("freeze #{} on {scope}", f.id));
            tx.audit(&entry).await?;
        }
        Ok(f)
    }

    /// Lifts freezes (`unfreeze`): one by id, those on a scope, or all; returns the lifted ones.
    /// Lifting nothing that is active answers a conflict naming what was asked.
    pub async fn unfreeze(
        &self,
        target: &Unfreeze,
        who: &Actor,
        room: Option<i64>,
    ) -> Result<Vec<Freeze>, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.unfreeze_in(&mut unit, target, who, room).await;
        self.finish(unit, Some((who, room)), result).await
    }

    /// [`Engine::unfreeze`] inside `unit`.
    pub(super) async fn unfreeze_in(
        &self,
        unit: &mut Unit,
        target: &Unfreeze,
        who: &Actor,
        room: Option<i64>,
    ) -> Result<Vec<Freeze>, EngineError> {
        let incident = match room {
            Some(id) => self.store().incident(id).await?,
            None => None,
        };
        let audit = self.check(
            Action::Unfreeze,
            who,
            incident.as_ref(),
            Some(target.subject()),
        )?;
        let now = unit.now();
        let tx = unit.tx();
        let store_target = match target {
            Unfreeze::Id(id) => FreezeTarget::Id(*id),
            Unfreeze::Scope(s) => FreezeTarget::Scope(s),
            Unfreeze::All => FreezeTarget::All,
        };
        let lifted = tx.lift_freezes(store_target, now, &who.id).await?;
        if lifted.is_empty() {
            return Err(EngineError::Conflict(format!(
                "no active freeze matches {}",
                target.subject()
            )));
        }
        if let Some(mut entry) = audit {
            let ids: Vec<String> = lifted.iter().map(|f| format!("#{}", f.id)).collect();
            entry.subject = Some(format!("freezes {}", ids.join(", ")));
            tx.audit(&entry).await?;
        }
        tracing::info!(by = %who.id, lifted = lifted.len(), "freezes lifted");
        Ok(lifted)
    }

    /// Sets a service's remaining error budget (0.0–1.0).
    pub async fn set_error_budget(
        &self,
        service: &str,
        remaining: f64,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        if !(0.0..=1.0).contains(&remaining) {
            return Err(EngineError::invalid(
                "remaining",
                "must be between 0.0 and 1.0",
            ));
        }
        if service.trim().is_empty() {
            return Err(EngineError::invalid("service", "must not be empty"));
        }
        Ok(self
            .store()
            .set_error_budget(service.trim(), remaining, Some(&actor.id), self.now())
            .await?)
    }
}
