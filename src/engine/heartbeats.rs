//! Heartbeat use-cases (a dead man's switch): a beat records itself and arms the check; the check is
//! a `jobs` row (claimed once across replicas, kept across restarts) that, when the interval ran out
//! silent, opens an incident on the heartbeat's service through the declare use-case (so the room
//! opens and paging by policy happens); a beat after a miss is recorded on that incident and, unless
//! `auto_resolve = false`, resolves it through the status use-case a person uses.

use super::incidents::Declare;
use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::heartbeat::{self, BeatBody, Check, Heartbeat, HeartbeatState, Status};
use crate::domain::{Actor, EventKind, IncidentType, NewEvent, Status as IncidentStatus};
use crate::store::Job;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

/// The job kind of a heartbeat's check.
pub const CHECK: &str = "heartbeat_check";

/// A heartbeat and its state, as `GET /api/v1/heartbeats` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HeartbeatView {
    /// Its name.
    pub name: String,
    /// The service it watches.
    pub service: String,
    /// The interval as written (`5m`).
    pub interval: String,
    /// The interval in seconds.
    pub interval_seconds: i64,
    /// The severity a miss opens its incident at.
    pub severity: String,
    /// Whether resumed beats resolve the incident.
    pub auto_resolve: bool,
    /// `ok` or `missed`.
    pub status: Status,
    /// When warroom began watching it (none before its first check was armed).
    pub since: Option<DateTime<Utc>>,
    /// The last beat.
    pub last_beat: Option<DateTime<Utc>>,
    /// Where it came from (`empty`, `alertmanager`, `json`).
    pub last_source: Option<String>,
    /// Beats received.
    pub beats: i64,
    /// When silence becomes a miss (while ok).
    pub due: Option<DateTime<Utc>>,
    /// When the last miss was noticed.
    pub missed_at: Option<DateTime<Utc>>,
    /// The incident the last miss opened.
    pub incident: Option<i64>,
}

impl HeartbeatView {
    fn of(hb: &Heartbeat, state: Option<&HeartbeatState>) -> HeartbeatView {
        let status = state.map_or(Status::Ok, |s| s.status);
        HeartbeatView {
            name: hb.name.clone(),
            service: hb.service.clone(),
            interval: hb.interval_text.clone(),
            interval_seconds: hb.interval.num_seconds(),
            severity: hb.severity.to_string(),
            auto_resolve: hb.auto_resolve,
            status,
            since: state.map(|s| s.since),
            last_beat: state.and_then(|s| s.last_beat),
            last_source: state.and_then(|s| s.last_source.clone()),
            beats: state.map_or(0, |s| s.beats),
            due: state.filter(|s| s.status == Status::Ok).map(|s| hb.due(s)),
            missed_at: state.and_then(|s| s.missed_at),
            incident: state.and_then(|s| s.incident_id),
        }
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Silence as people say it (`12m`, `3h 5m`).
fn span(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

impl Engine {
    /// Arms the check of every heartbeat of the catalog that has none (at start-up, on every
    /// replica: the rows and the job keys make it idempotent). Returns how many were armed.
    pub async fn arm_heartbeats(&self) -> Result<usize, EngineError> {
        let mut armed = 0;
        for hb in self.catalog().heartbeats() {
            let mut unit = self.unit().await?;
            let now = unit.now();
            let mut state = unit.tx().heartbeat_for_update(&hb.name, now).await?;
            if let Some(at) = heartbeat::arm(hb, &mut state, now) {
                arm_check(&mut unit, &hb.name, at).await?;
                unit.tx().save_heartbeat(&state).await?;
                armed += 1;
            }
            self.commit(unit).await?;
        }
        Ok(armed)
    }

    /// Records a beat of heartbeat `name` (`None` when the catalog has no such heartbeat). A beat
    /// after a miss is recorded on the incident the miss opened, which it resolves unless the
    /// heartbeat says `auto_resolve = false`.
    pub async fn heartbeat_beat(
        &self,
        name: &str,
        body: BeatBody,
    ) -> Result<Option<HeartbeatView>, EngineError> {
        let Some(hb) = self.catalog().heartbeat(name).cloned() else {
            return Ok(None);
        };
        let mut unit = self.unit().await?;
        let result = self.beat_in(&mut unit, &hb, body).await;
        self.finish(unit, None, result).await.map(Some)
    }

    async fn beat_in(
        &self,
        unit: &mut Unit,
        hb: &Heartbeat,
        body: BeatBody,
    ) -> Result<HeartbeatView, EngineError> {
        let now = unit.now();
        let mut state = unit.tx().heartbeat_for_update(&hb.name, now).await?;
        let silent_since = state.last_beat.unwrap_or(state.since);
        let beat = heartbeat::beat(hb, &mut state, body.source(), now);
        if let Some(at) = beat.arm {
            arm_check(unit, &hb.name, at).await?;
        }
        unit.tx().save_heartbeat(&state).await?;
        metrics::counter!("warroom_heartbeat_beats_total", "heartbeat" => hb.name.clone())
            .increment(1);
        if beat.resumed
            && let Some(id) = state.incident_id
            && let Some(inc) = unit.try_lock(id).await?
        {
            let mut text = format!(
                "Heartbeat {} resumed at {} after {} of silence",
                hb.name,
                when(now),
                span(now - silent_since)
            );
            let resolve = hb.auto_resolve && inc.status.is_open();
            if resolve {
                text.push_str(": warroom resolves the incident (auto_resolve)");
            } else if inc.status.is_open() {
                text.push_str(": resolving stays your decision (`/inc resolve`)");
            }
            let event = NewEvent::new(EventKind::Note, now, Some(crate::domain::actor::SYSTEM_ID))
                .text(text)
                .data(
                    json!({"heartbeat": hb.name, "state": "resumed", "source": body.source(),
                    "silent_since": silent_since}),
                )
                .key(format!(
                    "heartbeat_resumed:{}:{}",
                    hb.name,
                    now.timestamp_millis()
                ));
            let stored = unit.append(id, &event).await?;
            unit.announce(
                &inc,
                &stored.into_iter().collect::<Vec<_>>(),
                &self.destinations,
            )
            .await?;
            if resolve {
                self.set_status_because(
                    unit,
                    id,
                    IncidentStatus::Resolved,
                    &Actor::system(),
                    &format!("heartbeat {} resumed", hb.name),
                )
                .await?;
            }
            tracing::info!(heartbeat = %hb.name, incident = id, resolve, "heartbeat resumed");
        }
        Ok(HeartbeatView::of(hb, Some(&state)))
    }

    /// Runs a claimed heartbeat check in one unit: re-arms it when a beat came meanwhile, opens (or,
    /// when the last miss's incident is still open, records on it) the missed-heartbeat incident.
    pub(crate) async fn run_heartbeat_check(&self, job: &Job) -> Result<(), EngineError> {
        let name = job.payload["heartbeat"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut unit = self.unit().await?;
        let now = unit.now();
        if !unit.tx().take_job(job.id, now).await? {
            // Another replica finished it after this one's lease ran out.
            return Ok(());
        }
        let result = self.check_in(&mut unit, &name).await;
        self.finish(unit, None, result).await
    }

    async fn check_in(&self, unit: &mut Unit, name: &str) -> Result<(), EngineError> {
        let now = unit.now();
        let mut state = unit.tx().heartbeat_for_update(name, now).await?;
        let Some(hb) = self.catalog().heartbeat(name).cloned() else {
            // No longer in the catalog: nothing to watch.
            state.check_at = None;
            unit.tx().save_heartbeat(&state).await?;
            return Ok(());
        };
        let silent_since = state.last_beat.unwrap_or(state.since);
        match heartbeat::check(&hb, &mut state, now) {
            Check::Nothing => {}
            Check::Rearm(at) => arm_check(unit, name, at).await?,
            Check::Missed => {
                let last = match (state.last_beat, &state.last_source) {
                    (Some(t), Some(src)) => format!("the last beat came at {} ({src})", when(t)),
                    (Some(t), None) => format!("the last beat came at {}", when(t)),
                    (None, _) => format!(
                        "none came since warroom began watching at {}",
                        when(state.since)
                    ),
                };
                let details = format!(
                    "Heartbeat {} expects a beat every {}; {last}. Silence from monitoring is \
                     itself an outage: check that the sender (Alertmanager's Watchdog route, the \
                     cron job) is running and can reach warroom.",
                    hb.name, hb.interval_text
                );
                let open = match state.incident_id {
                    Some(id) => unit.try_lock(id).await?.filter(|i| i.status.is_open()),
                    None => None,
                };
                let (inc, again) = match open {
                    Some(inc) => (inc, true),
                    None => {
                        let req = Declare {
                            title: hb.missed_title(&state),
                            severity: hb.severity,
                            kind: IncidentType::Outage,
                            service: Some(hb.service.clone()),
                        };
                        (self.declare_in(unit, req, &Actor::system()).await?, false)
                    }
                };
                let text = if again {
                    format!("Heartbeat {} missed again. {details}", hb.name)
                } else {
                    details
                };
                let event =
                    NewEvent::new(EventKind::Note, now, Some(crate::domain::actor::SYSTEM_ID))
                        .text(text)
                        .data(json!({"heartbeat": hb.name, "state": "missed",
                            "silent_since": silent_since, "interval_seconds": hb.interval.num_seconds()}))
                        .key(format!("heartbeat_missed:{}:{}", hb.name, now.timestamp_millis()));
                let stored: Vec<_> = unit.append(inc.id, &event).await?.into_iter().collect();
                unit.announce(&inc, &stored, &self.destinations).await?;
                state.incident_id = Some(inc.id);
                metrics::counter!("warroom_heartbeats_missed_total", "heartbeat" => hb.name.clone())
                    .increment(1);
                tracing::warn!(heartbeat = %hb.name, incident = inc.id, again, "heartbeat missed");
            }
        }
        unit.tx().save_heartbeat(&state).await?;
        Ok(())
    }

    /// Every heartbeat of the catalog with its state.
    pub async fn heartbeats(&self) -> Result<Vec<HeartbeatView>, EngineError> {
        let states = self.store().heartbeat_states().await?;
        Ok(self
            .catalog()
            .heartbeats()
            .map(|hb| HeartbeatView::of(hb, states.iter().find(|s| s.name == hb.name)))
            .collect())
    }
}

/// Schedules heartbeat `name`'s check at `at` (the key makes a replica's second arm a no-op).
async fn arm_check(unit: &mut Unit, name: &str, at: DateTime<Utc>) -> Result<(), EngineError> {
    let key = format!("{CHECK}:{name}:{}", at.timestamp_millis());
    unit.schedule(CHECK, &key, &json!({"heartbeat": name}), at)
        .await?;
    Ok(())
}
