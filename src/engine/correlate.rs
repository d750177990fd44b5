//! Correlation use-cases: link the likely-causal changes to an incident, list them, confirm the cause.
//!
//! Correlation is a follow-up job enqueued in the unit of work of `declare`, of every recorded change
//! that touched production, and of an alert dispatch that opened an incident or moved its first
//! alert signal (the first alert's `starts_at` moves the reference time). It is idempotent.

use super::unit::{CORRELATE, CORRELATE_CHANGE, Unit};
use super::{Engine, EngineError, outbound};
use crate::domain::change::{Change, label, parse_ref};
use crate::domain::correlation::{self, History, Params, Record, Subject, Suspect};
use crate::domain::{EventKind, Incident, NewEvent, TimelineEvent};
use crate::store::LinkedChange;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// The first alert of an incident: when it started and its name.
fn first_alert(events: &[TimelineEvent]) -> Option<(DateTime<Utc>, String)> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::AlertFiring)
        .map(|e| {
            let at = e.data["starts_at"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map_or(e.at, |t| t.with_timezone(&Utc));
            let name = e.data["alertname"].as_str().unwrap_or("alert").to_string();
            (at, name)
        })
        .min_by_key(|(at, _)| *at)
}

/// What the incident's first signal is.
pub fn subject(incident: &Incident, events: &[TimelineEvent]) -> Subject {
    let detected = if incident.declared_by.is_some() {
        "the incident was declared"
    } else {
        "the incident was detected"
    };
    match first_alert(events) {
        Some((at, name)) if at <= incident.detected_at => Subject {
            service: incident.service.clone(),
            first_signal: at,
            signal: format!("the first {name} alert"),
        },
        _ => Subject {
            service: incident.service.clone(),
            first_signal: incident.detected_at,
            signal: detected.into(),
        },
    }
}

fn suspects_text(incident_id: i64, suspects: &[(Suspect, Change)]) -> String {
    let mut s = format!("🔎 Changes that may have caused incident #{incident_id}:");
    for (sus, c) in suspects {
        s.push_str(&format!(
            "\n{}. {} — {} (score {:.2})",
            sus.rank,
            label(c.id),
            sus.evidence.join(", "),
            sus.score
        ));
    }
    s.push_str(
        "\n`/inc changes confirm <id>` names the cause; `/inc rollback <id>` rolls it back.",
    );
    s
}

impl Engine {
    fn correlation_params(&self) -> Params {
        let c = &self.config().changes;
        Params {
            lookback: Duration::minutes(c.lookback_mins as i64),
            half_life: Duration::minutes(c.half_life_mins.max(1) as i64),
            max_suspects: c.max_suspects,
            ..Params::default()
        }
    }

    async fn history(&self) -> Result<History, EngineError> {
        let mut h = History::new();
        for (kind, service, n, caused) in self.store().change_history().await? {
            if let Ok(kind) = kind.parse() {
                let record = Record {
                    changes: n.clamp(0, u32::MAX as i64) as u32,
                    caused: caused.clamp(0, u32::MAX as i64) as u32,
                };
                h.insert((kind, service), record);
            }
        }
        Ok(h)
    }

    /// Scores recent changes against incident `id`, links new suspects (`change_linked` events) and
    /// posts them in the room; returns the current ranking.
    pub async fn correlate(&self, id: i64) -> Result<Vec<Suspect>, EngineError> {
        self.correlate_job(id, None).await
    }

    /// [`Engine::correlate`] as follow-up job `job`: the links commit with the job's completion.
    pub(super) async fn correlate_job(
        &self,
        id: i64,
        job: Option<i64>,
    ) -> Result<Vec<Suspect>, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.correlate_in(&mut unit, id).await;
        if let Some(job) = job {
            unit.complete_job(job).await?;
        }
        self.finish(unit, None, result).await
    }

    /// Correlates incident `id` inside `unit` (its timeline and the changes are read as committed).
    pub(super) async fn correlate_in(
        &self,
        unit: &mut Unit,
        id: i64,
    ) -> Result<Vec<Suspect>, EngineError> {
        let incident = self
            .store()
            .incident(id)
            .await?
            .ok_or(EngineError::NotFound(id))?;
        let events = self.store().alert_events(id).await?;
        let subject = subject(&incident, &events);
        let params = self.correlation_params();
        let candidates = self
            .store()
            .changes_started_between(subject.first_signal - params.lookback, subject.first_signal)
            .await?;
        let suspects = correlation::rank(
            &subject,
            &candidates,
            self.catalog(),
            &self.history().await?,
            &params,
        );
        let now = unit.now();
        let incident = unit.lock(id).await?;
        let tx = unit.tx();
        let keep: Vec<i64> = suspects.iter().map(|s| s.change_id).collect();
        tx.unlink_stale(id, &keep).await?;
        let mut new = Vec::new();
        for s in &suspects {
            let Some(c) = candidates.iter().find(|c| c.id == s.change_id) else {
                continue;
            };
            let fresh = unit
                .tx()
                .link_change(id, c.id, s.score, s.rank as i64, &s.evidence, now)
                .await?;
            if !fresh {
                continue;
            }
            let event = NewEvent::new(EventKind::ChangeLinked, now, Some("warroom"))
                .text(format!("Suspect {}: {}", label(c.id), s.evidence.join(", ")))
                .data(json!({"change_id": c.id, "kind": c.kind, "service": c.service, "summary": c.summary,
                    "author": c.author, "version": c.version, "started_at": c.started_at.map(|t| t.to_rfc3339()),
                    "score": s.score, "evidence": s.evidence, "rank": s.rank}))
                .key(format!("change_linked:{id}:{}", c.id));
            if let Some(stored) = unit.append(id, &event).await? {
                new.push((s.clone(), c.clone(), stored.id));
            }
        }
        if let Some((_, _, first)) = new.first() {
            let listed: Vec<(Suspect, Change)> =
                new.iter().map(|(s, c, _)| (s.clone(), c.clone())).collect();
            let text = suspects_text(id, &listed);
            for d in self.destinations() {
                let key = format!("{d}:suspects:{id}:{first}");
                unit.enqueue(&outbound::post(&incident, d, &text, Some(key)))
                    .await?;
            }
        }
        if !new.is_empty() {
            tracing::info!(incident = id, suspects = new.len(), "changes linked");
        }
        Ok(suspects)
    }

    /// The follow-up job of a change that executed: re-correlates the open incidents it may explain.
    pub(super) async fn correlate_change_job(
        &self,
        change: i64,
        job: i64,
    ) -> Result<(), EngineError> {
        if let Some(c) = self.store().change(change).await? {
            self.correlate_open_incidents(&c).await;
        }
        let mut unit = self.unit().await?;
        unit.complete_job(job).await?;
        self.commit(unit).await
    }

    /// Enqueues in `unit` the re-correlation of the open incidents `change` may explain (it executed).
    pub(super) async fn correlate_change_later(
        &self,
        unit: &mut Unit,
        change: &Change,
    ) -> Result<(), EngineError> {
        let key = format!(
            "{CORRELATE_CHANGE}:{}:{}:{}",
            change.id,
            change.status,
            unit.now().timestamp_millis()
        );
        unit.follow_up(CORRELATE_CHANGE, &key, &json!({"change": change.id}))
            .await?;
        Ok(())
    }

    /// Enqueues in `unit` the correlation of incident `id`; `cause` (an event id) names what moved it.
    pub(super) async fn correlate_later(
        &self,
        unit: &mut Unit,
        id: i64,
        cause: i64,
    ) -> Result<(), EngineError> {
        let key = format!("{CORRELATE}:{id}:{cause}");
        unit.follow_up(CORRELATE, &key, &json!({"incident": id}))
            .await?;
        Ok(())
    }

    /// Re-correlates the open incidents that `change` may explain (detected within the lookback after
    /// it started: a change reported late); failures are logged.
    pub(super) async fn correlate_open_incidents(&self, change: &Change) {
        let Some(started) = change.started_at else {
            return;
        };
        let lookback = self.correlation_params().lookback;
        let open: Vec<_> = crate::domain::Status::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        let filter = crate::store::IncidentFilter {
            statuses: open,
            limit: 100,
            ..Default::default()
        };
        let incidents = match self.store().incidents(&filter).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list open incidents for correlation");
                return;
            }
        };
        let explainable =
            |i: &Incident| i.detected_at >= started && i.detected_at - started <= lookback;
        for inc in incidents.into_iter().filter(explainable) {
            if let Err(e) = self.correlate(inc.id).await {
                tracing::warn!(incident = inc.id, error = %e, "correlation failed");
            }
        }
    }

    /// The suspects linked to incident `id`.
    pub async fn linked_changes(&self, id: i64) -> Result<Vec<LinkedChange>, EngineError> {
        Ok(self.store().linked_changes(id).await?)
    }

    /// The commander (or an admin; `confirm_cause`) confirms change `change` as the cause.
    pub async fn confirm_change(
        &self,
        id: i64,
        change: &str,
        who: &crate::domain::Actor,
    ) -> Result<Change, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.confirm_change_in(&mut unit, id, change, who).await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::confirm_change`] inside `unit`.
    pub(super) async fn confirm_change_in(
        &self,
        unit: &mut Unit,
        id: i64,
        change: &str,
        who: &crate::domain::Actor,
    ) -> Result<Change, EngineError> {
        let actor = who.id.as_str();
        let change_id = parse_ref(change).ok_or_else(|| {
            EngineError::invalid(
                "change",
                format!("`{change}` is not a change id like chg-42"),
            )
        })?;
        let c = self.store().change(change_id).await?.ok_or_else(|| {
            EngineError::invalid("change", format!("{} does not exist", label(change_id)))
        })?;
        let now = unit.now();
        let incident = unit.lock(id).await?;
        let audit = self.check(
            crate::domain::policy::Action::ConfirmCause,
            who,
            Some(&incident),
            Some(label(c.id)),
        )?;
        if let Some(entry) = &audit {
            unit.tx().audit(entry).await?;
        }
        unit.tx().confirm_change(id, c.id, now).await?;
        let event = NewEvent::new(EventKind::ChangeConfirmed, now, Some(actor))
            .text(format!("{actor} confirmed {} as the cause: {}", label(c.id), c.headline()))
            .data(json!({"change_id": c.id, "kind": c.kind, "service": c.service, "summary": c.summary,
                "author": c.author, "version": c.version}))
            .key(format!("change_confirmed:{id}:{}", c.id));
        if let Some(stored) = unit.append(id, &event).await? {
            let text = format!("✅ {}", stored.text.unwrap_or_default());
            for d in self.destinations() {
                let key = format!("{d}:event:{}", stored.id);
                unit.enqueue(&outbound::post(&incident, d, &text, Some(key)))
                    .await?;
            }
        }
        Ok(c)
    }
}
