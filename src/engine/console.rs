//! The web console's reads: the board, the war room with the actions its viewer may take (asked of
//! the policy, never decided by a template), the live updates after a cursor, and the causal chain.

use super::oncall::ScheduleNow;
use super::{Engine, EngineError};
use crate::domain::causal_chain::{self, CausalChain};
use crate::domain::console::{
    self, AlertGroup, BoardCounts, BoardFilter, PageLine, Post, RoomItem,
};
use crate::domain::policy::Action;
use crate::domain::{ActionItem, Actor, Incident, Severity, Status, TimelineEvent};
use crate::store::{IncidentFilter, RoomPost};
use serde::Serialize;

/// How many incidents the board reads.
const BOARD_LIMIT: i64 = 500;
/// How many recent events the war room shows.
const ROOM_TAIL: i64 = 500;
/// Most events the causal chain reads.
const CHAIN_EVENTS: usize = 20_000;

/// The board: incidents as filtered, counts, who is on call now, and the services to filter by.
#[derive(Debug, Serialize)]
pub struct Board {
    /// The incidents shown, by severity then age.
    pub incidents: Vec<Incident>,
    /// Counts over every incident read.
    pub counts: BoardCounts,
    /// Who is on call now, per schedule.
    pub oncall: Vec<ScheduleNow>,
    /// The services incidents name, for the filter.
    pub services: Vec<String>,
}

/// An action the viewer may take, as the command it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    /// What the button says.
    pub label: String,
    /// The command it sends (`/inc mitigate`).
    pub command: String,
}

fn button(label: impl Into<String>, command: impl Into<String>) -> Button {
    Button {
        label: label.into(),
        command: command.into(),
    }
}

/// A suspect change with its evidence and the buttons the viewer may use on it.
#[derive(Debug, Serialize)]
pub struct Suspect {
    /// The change.
    pub change: crate::domain::change::Change,
    /// Its rank (1 = likeliest).
    pub rank: i64,
    /// Its correlation score.
    pub score: f64,
    /// Why it is suspected.
    pub evidence: Vec<String>,
    /// Whether it was confirmed as the cause.
    pub confirmed: bool,
    /// Roll back, if allowed.
    pub rollback: Option<Button>,
    /// Confirm cause, if allowed and not yet confirmed.
    pub confirm: Option<Button>,
}

/// A role, its holder and the viewer's button to take it.
#[derive(Debug, Serialize)]
pub struct RoleLine {
    /// The role.
    pub role: String,
    /// Who holds it.
    pub holder: Option<String>,
    /// Take it, if the viewer may and does not hold it.
    pub take: Option<Button>,
}

/// A command of the grammar, shown as a hint under the command box.
#[derive(Debug, Serialize)]
pub struct Hint {
    /// The usage line.
    pub usage: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Everything the war room page shows.
#[derive(Debug, Serialize)]
pub struct WarRoom {
    /// The incident.
    pub incident: Incident,
    /// Seconds since it was detected (until resolved when it is).
    pub elapsed_seconds: i64,
    /// Lifecycle moves the viewer may make.
    pub lifecycle: Vec<Button>,
    /// Severity changes the viewer may make.
    pub severities: Vec<Button>,
    /// The alerts, grouped by name.
    pub alerts: Vec<AlertGroup>,
    /// The suspect changes.
    pub suspects: Vec<Suspect>,
    /// The roles.
    pub roles: Vec<RoleLine>,
    /// The action items.
    pub action_items: Vec<ActionItem>,
    /// The pages, from the timeline's page events.
    pub pages: Vec<PageLine>,
    /// The timeline, bot replies folded in.
    pub items: Vec<RoomItem>,
    /// The last event id shown (the stream's cursor).
    pub last_event: i64,
    /// The last post id shown (the stream's cursor).
    pub last_post: i64,
    /// Whether the viewer may add to the timeline.
    pub can_respond: bool,
    /// The command grammar.
    pub hints: Vec<Hint>,
}

/// What happened in a war room after a cursor.
#[derive(Debug)]
pub struct RoomUpdate {
    /// New items (posts answering earlier events carry `answers`).
    pub items: Vec<RoomItem>,
    /// The event cursor after them.
    pub last_event: i64,
    /// The post cursor after them.
    pub last_post: i64,
    /// The incident now.
    pub incident: Incident,
}

/// The event a web post answers, from its outbox key (`web:event:<id>`).
fn answered(post: &RoomPost) -> Option<i64> {
    let key = post.outbox_key.as_deref()?;
    key.strip_prefix(super::outbound::WEB)?
        .strip_prefix(":event:")?
        .parse()
        .ok()
}

fn posts(rows: &[RoomPost]) -> Vec<Post> {
    rows.iter()
        .map(|p| Post {
            id: p.id,
            text: p.text.clone(),
            at: p.posted_at,
            answers: answered(p),
        })
        .collect()
}

fn with_recorded(events: &[TimelineEvent]) -> Vec<(TimelineEvent, chrono::DateTime<chrono::Utc>)> {
    events.iter().map(|e| (e.clone(), e.recorded_at)).collect()
}

impl Engine {
    /// The board for `viewer` (`mine` needs one), filtered by `filter`.
    #[tracing::instrument(skip(self, viewer))]
    pub async fn board(
        &self,
        filter: &BoardFilter,
        viewer: Option<&Actor>,
    ) -> Result<Board, EngineError> {
        let read = IncidentFilter {
            limit: BOARD_LIMIT,
            ..IncidentFilter::default()
        };
        let incidents = self.store().incidents(&read).await?;
        let mut services: Vec<String> =
            incidents.iter().filter_map(|i| i.service.clone()).collect();
        services.sort();
        services.dedup();
        let ids = || incidents.iter().map(|i| i.id);
        let paged = match (ids().min(), ids().max()) {
            (Some(first), Some(last)) if filter.mine => {
                console::paged_people(&self.store().page_events(first, last).await?)
            }
            _ => Default::default(),
        };
        let (incidents, counts) =
            console::board(incidents, filter, viewer.map(|a| a.id.as_str()), &paged);
        let oncall = match self.oncall_status(None, self.now()).await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "on-call status unavailable for the board");
                Vec::new()
            }
        };
        Ok(Board {
            incidents,
            counts,
            oncall,
            services,
        })
    }

    /// The war room of incident `id` as `viewer` sees it (no viewer: no buttons).
    #[tracing::instrument(skip(self, viewer))]
    pub async fn war_room(&self, id: i64, viewer: Option<&Actor>) -> Result<WarRoom, EngineError> {
        let store = self.store();
        let incident = store.incident(id).await?.ok_or(EngineError::NotFound(id))?;
        let events = store.timeline_tail(id, ROOM_TAIL).await?;
        let alert_events = store.alert_events(id).await?;
        let page_events = store.page_events(id, id).await?;
        let post_rows = store.room_posts(id, super::outbound::WEB, 0).await?;
        let pinned = console::pinned_ids(&events);
        let items = console::room_items(&with_recorded(&events), &posts(&post_rows), &pinned);
        let linked = store.linked_changes(id).await?;
        let may = |action: Action| {
            viewer.is_some_and(|a| self.decide(action, a, Some(&incident)).allowed)
        };
        let suspects = linked
            .into_iter()
            .map(|l| {
                let cid = l.change.id;
                Suspect {
                    rollback: (l.change.rollback_of.is_none() && may(Action::Rollback))
                        .then(|| button("Roll back", format!("/inc rollback {cid}"))),
                    confirm: (!l.confirmed && may(Action::ConfirmCause))
                        .then(|| button("Confirm cause", format!("/inc changes confirm {cid}"))),
                    change: l.change,
                    rank: l.rank,
                    score: l.score,
                    evidence: l.evidence,
                    confirmed: l.confirmed,
                }
            })
            .collect();
        let roles = console::roles_of(&incident)
            .into_iter()
            .map(|(role, holder)| {
                let take = viewer
                    .filter(|a| holder.as_deref() != Some(a.id.as_str()))
                    .filter(|a| may(Action::for_role(role, holder.as_deref(), a)))
                    .map(|a| button("Take", format!("/inc role {role} @{}", a.id)));
                RoleLine {
                    role: role.to_string(),
                    holder,
                    take,
                }
            })
            .collect();
        let end = incident.resolved_at.filter(|_| !incident.status.is_open());
        Ok(WarRoom {
            elapsed_seconds: (end.unwrap_or(self.now()) - incident.detected_at)
                .num_seconds()
                .max(0),
            lifecycle: self.lifecycle_buttons(&incident, &may),
            severities: [Severity::P0, Severity::P1, Severity::P2, Severity::P3]
                .into_iter()
                .filter(|s| *s != incident.severity)
                .filter(|s| may(Action::for_severity(incident.severity, *s)))
                .map(|s| button(s.to_string(), format!("/inc sev {s}")))
                .collect(),
            alerts: console::alert_groups(&alert_events),
            suspects,
            roles,
            action_items: store.action_items(id).await?,
            pages: console::pages(&page_events),
            last_event: events.last().map_or(0, |e| e.id),
            last_post: post_rows.last().map_or(0, |p| p.id),
            items,
            can_respond: may(Action::Respond),
            hints: crate::domain::command::inc_hints()
                .into_iter()
                .map(|(usage, description)| Hint { usage, description })
                .collect(),
            incident,
        })
    }

    /// The lifecycle moves open to `incident` that `may` allows, as commands.
    fn lifecycle_buttons(&self, incident: &Incident, may: &dyn Fn(Action) -> bool) -> Vec<Button> {
        let mut out = Vec::new();
        if incident.acknowledged_at.is_none() && may(Action::Acknowledge) {
            out.push(button("Acknowledge", "/inc ack"));
        }
        for to in incident.status.legal_next() {
            if !may(Action::for_transition(incident.status, *to)) {
                continue;
            }
            let (label, command) = match (incident.status, to) {
                (Status::Resolved | Status::Reviewing, Status::Mitigating) => {
                    ("Reopen", "/inc reopen")
                }
                (_, Status::Declared) => ("Declare", "/inc status declared"),
                (_, Status::Triaging) => ("Triage", "/inc triage"),
                (_, Status::Mitigating) => ("Mitigate", "/inc mitigate"),
                (_, Status::Resolved) => ("Resolve", "/inc resolve"),
                (_, Status::Reviewing) => ("Review", "/inc review"),
                (_, Status::Closed) => ("Close", "/inc close"),
                (_, Status::Cancelled) => ("Cancel", "/inc cancel"),
                (_, Status::Detected) => continue,
            };
            out.push(button(label, command));
        }
        out
    }

    /// A value that changes whenever an incident is declared or changes: the live board's cursor.
    pub async fn board_stamp(&self) -> Result<(i64, i64), EngineError> {
        Ok(self.store().incidents_stamp().await?)
    }

    /// Whether incident `id` exists.
    pub async fn incident_exists(&self, id: i64) -> Result<bool, EngineError> {
        Ok(self.store().incident(id).await?.is_some())
    }

    /// The war room's items after event `after_event` and post `after_post`, or `None` when nothing is new.
    pub async fn room_update(
        &self,
        id: i64,
        after_event: i64,
        after_post: i64,
    ) -> Result<Option<RoomUpdate>, EngineError> {
        let store = self.store();
        let events = store.timeline(id, after_event, ROOM_TAIL).await?;
        let post_rows = store
            .room_posts(id, super::outbound::WEB, after_post)
            .await?;
        if events.is_empty() && post_rows.is_empty() {
            return Ok(None);
        }
        let incident = store.incident(id).await?.ok_or(EngineError::NotFound(id))?;
        let pinned = console::pinned_ids(&events);
        Ok(Some(RoomUpdate {
            items: console::room_items(&with_recorded(&events), &posts(&post_rows), &pinned),
            last_event: events.last().map_or(after_event, |e| e.id),
            last_post: post_rows.last().map_or(after_post, |p| p.id),
            incident,
        }))
    }

    /// The causal chain of incident `id`: linked changes, alert spans, milestones, pages, updates.
    #[tracing::instrument(skip(self))]
    pub async fn causal_chain(&self, id: i64) -> Result<CausalChain, EngineError> {
        let store = self.store();
        let incident = store.incident(id).await?.ok_or(EngineError::NotFound(id))?;
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = store.timeline(id, after, 1000).await?;
            let full = page.len() == 1000;
            after = page.last().map_or(after, |e| e.id);
            events.extend(page);
            if !full || events.len() >= CHAIN_EVENTS {
                break;
            }
        }
        let changes: Vec<_> = store
            .linked_changes(id)
            .await?
            .into_iter()
            .map(|l| (l.change, l.confirmed))
            .collect();
        Ok(causal_chain::build(
            &incident,
            &events,
            &changes,
            self.now(),
        ))
    }
}
