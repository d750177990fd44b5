//! The web console's read model, pure: the board's filter, order and counts; the war room's
//! timeline with bot replies folded into the events they answer; alert groups and pages for its panel.

use super::{EventKind, Incident, Role, Severity, TimelineEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which incidents the board lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    /// Every incident, not only the open ones.
    pub all: bool,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this service.
    pub service: Option<String>,
    /// Only the viewer's: incidents where they hold a role or were paged.
    pub mine: bool,
}

/// How many incidents the board counts, by severity and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BoardCounts {
    /// Open incidents (detected, declared, triaging, mitigating).
    pub open: usize,
    /// Open incidents by severity (`P0` …), every severity present.
    pub open_by_severity: BTreeMap<String, usize>,
    /// Incidents listed after the filter.
    pub shown: usize,
}

/// The people named by page events of each incident (`data.user`, else `data.target`).
pub fn paged_people(events: &[TimelineEvent]) -> HashMap<i64, BTreeSet<String>> {
    let mut by: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for e in events.iter().filter(|e| is_page(e)) {
        if let Some(who) = page_target(&e.data) {
            by.entry(e.incident_id).or_default().insert(who.to_string());
        }
    }
    by
}

/// A page event about somebody paged (not a level that reached nobody).
fn is_page(e: &TimelineEvent) -> bool {
    matches!(
        e.kind,
        EventKind::PageSent | EventKind::PageAcknowledged | EventKind::PageEscalated
    ) && e.data["reason"] != "nobody_reached"
}

fn page_target(data: &Value) -> Option<&str> {
    data.get("user")
        .and_then(Value::as_str)
        .or_else(|| data.get("target").and_then(Value::as_str))
}

/// Whether `person` holds a role in `incident` or was paged for it.
pub fn is_mine(incident: &Incident, person: &str, paged: &HashMap<i64, BTreeSet<String>>) -> bool {
    incident.roles.values().any(|h| h == person)
        || paged.get(&incident.id).is_some_and(|p| p.contains(person))
}

/// The board: `incidents` filtered for `viewer`, ordered by severity (P0 first) then age (oldest
/// first), with the counts over every incident given.
pub fn board(
    incidents: Vec<Incident>,
    filter: &BoardFilter,
    viewer: Option<&str>,
    paged: &HashMap<i64, BTreeSet<String>>,
) -> (Vec<Incident>, BoardCounts) {
    let mut counts = BoardCounts::default();
    for s in [Severity::P0, Severity::P1, Severity::P2, Severity::P3] {
        counts.open_by_severity.insert(s.to_string(), 0);
    }
    for i in incidents.iter().filter(|i| i.status.is_open()) {
        counts.open += 1;
        *counts
            .open_by_severity
            .entry(i.severity.to_string())
            .or_default() += 1;
    }
    let mut shown: Vec<Incident> = incidents
        .into_iter()
        .filter(|i| filter.all || i.status.is_open())
        .filter(|i| filter.severity.is_none_or(|s| i.severity == s))
        .filter(|i| {
            filter
                .service
                .as_deref()
                .is_none_or(|s| i.service.as_deref() == Some(s))
        })
        .filter(|i| !filter.mine || viewer.is_some_and(|v| is_mine(i, v, paged)))
        .collect();
    shown.sort_by_key(|i| (i.severity, i.created_at, i.id));
    counts.shown = shown.len();
    (shown, counts)
}

/// What a timeline filter shows an item under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemClass {
    /// Said in the room: messages, commands, the bot's posts.
    Conversation,
    /// A key event: status, severity, roles, alerts, changes, notes, pages …
    Key,
    /// Everything else (reminders, deliveries, drafts).
    Other,
}

/// The class of an event kind.
pub fn class_of(kind: EventKind) -> ItemClass {
    match kind {
        EventKind::ChatMessage
        | EventKind::MessageEdited
        | EventKind::MessageDeleted
        | EventKind::Command => ItemClass::Conversation,
        k if k.is_key_event() => ItemClass::Key,
        _ => ItemClass::Other,
    }
}

/// A bot post as the room shows it: what it says and which event it answers, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// Its id.
    pub id: i64,
    /// The text posted.
    pub text: String,
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// The event it answers.
    pub answers: Option<i64>,
}

/// One line of the war room's timeline: an event with the bot's replies to it, or a lone bot post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomItem {
    /// `e<id>` for an event, `p<id>` for a post: unique on the page.
    pub key: String,
    /// The event or post id.
    pub id: i64,
    /// The event kind, or `bot`.
    pub kind: String,
    /// What the timeline filters show it under.
    pub class: ItemClass,
    /// When it happened (RFC 3339).
    pub at: String,
    /// Who did it (`warroom` for the bot).
    pub actor: Option<String>,
    /// Its text.
    pub text: Option<String>,
    /// The bot's answers to it, folded in.
    pub replies: Vec<String>,
    /// Whether somebody pinned it.
    pub pinned: bool,
    /// For a post that answers an event shown earlier: that event's key (the page folds it in).
    pub answers: Option<String>,
}

/// The event ids pinned by `pinned` events among `events`.
pub fn pinned_ids(events: &[TimelineEvent]) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Pinned)
        .filter_map(|e| e.data.get("event").and_then(Value::as_i64))
        .collect()
}

fn event_item(e: &TimelineEvent, pinned: &BTreeSet<i64>) -> RoomItem {
    let mut replies = Vec::new();
    if e.kind == EventKind::Command
        && let Some(result) = e.data.get("result").and_then(Value::as_str)
    {
        replies.push(result.to_string());
    }
    RoomItem {
        key: format!("e{}", e.id),
        id: e.id,
        kind: e.kind.to_string(),
        class: class_of(e.kind),
        at: e.at.to_rfc3339(),
        actor: e.actor.clone(),
        text: e.text.clone(),
        replies,
        pinned: pinned.contains(&e.id),
        answers: None,
    }
}

fn post_item(p: &Post) -> RoomItem {
    RoomItem {
        key: format!("p{}", p.id),
        id: p.id,
        kind: "bot".into(),
        class: ItemClass::Conversation,
        at: p.at.to_rfc3339(),
        actor: Some("warroom".into()),
        text: Some(p.text.clone()),
        replies: Vec::new(),
        pinned: false,
        answers: p.answers.map(|id| format!("e{id}")),
    }
}

/// Events and posts as one timeline in time order: a post answering an event among `events` is
/// folded into it, one answering an earlier event keeps `answers` for the page to fold, the rest stand alone.
pub fn room_items(
    events: &[(TimelineEvent, DateTime<Utc>)],
    posts: &[Post],
    pinned: &BTreeSet<i64>,
) -> Vec<RoomItem> {
    let mut items: Vec<(DateTime<Utc>, RoomItem)> = events
        .iter()
        .map(|(e, at)| (*at, event_item(e, pinned)))
        .collect();
    let index: HashMap<i64, usize> = events
        .iter()
        .enumerate()
        .map(|(n, (e, _))| (e.id, n))
        .collect();
    for p in posts {
        match p.answers.and_then(|id| index.get(&id)) {
            Some(&n) => items[n].1.replies.push(p.text.clone()),
            None => items.push((p.at, post_item(p))),
        }
    }
    items.sort_by_key(|(t, _)| *t);
    items.into_iter().map(|(_, i)| i).collect()
}

/// Alerts of one name in an incident: how many fired, how many still fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertGroup {
    /// The alert name.
    pub alertname: String,
    /// The services they fired on.
    pub services: Vec<String>,
    /// Distinct alerts (fingerprints) that fired.
    pub count: usize,
    /// Of those, the ones not resolved.
    pub firing: usize,
    /// Times they fired, flaps included.
    pub reports: usize,
}

/// The incident's alerts grouped by name, still-firing groups first, from its alert events.
pub fn alert_groups(events: &[TimelineEvent]) -> Vec<AlertGroup> {
    #[derive(Default)]
    struct Acc {
        services: BTreeSet<String>,
        firing: BTreeMap<String, bool>,
        reports: usize,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for e in events {
        let name = str_of(&e.data, "alertname").unwrap_or("alert").to_string();
        let fp = str_of(&e.data, "fingerprint")
            .unwrap_or_default()
            .to_string();
        match e.kind {
            EventKind::AlertFiring => {
                let acc = by.entry(name).or_default();
                acc.reports += 1;
                acc.firing.insert(fp, true);
                if let Some(s) = str_of(&e.data, "service") {
                    acc.services.insert(s.to_string());
                }
            }
            EventKind::AlertResolved => {
                if let Some(f) = by.get_mut(&name).and_then(|a| a.firing.get_mut(&fp)) {
                    *f = false;
                }
            }
            EventKind::AlertsResolved => {
                for acc in by.values_mut() {
                    acc.firing.values_mut().for_each(|f| *f = false);
                }
            }
            _ => {}
        }
    }
    let mut groups: Vec<AlertGroup> = by
        .into_iter()
        .map(|(alertname, a)| AlertGroup {
            alertname,
            services: a.services.into_iter().collect(),
            count: a.firing.len(),
            firing: a.firing.values().filter(|f| **f).count(),
            reports: a.reports,
        })
        .collect();
    groups.sort_by(|a, b| b.firing.cmp(&a.firing).then(a.alertname.cmp(&b.alertname)));
    groups
}

/// A page of the incident, as its events tell it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLine {
    /// Whom.
    pub target: String,
    /// `sent`, `acknowledged` or `escalated`: the latest state.
    pub state: String,
    /// When it was sent (RFC 3339).
    pub at: String,
}

/// The incident's pages from its `page_*` events, one line per person, in the order first paged.
pub fn pages(events: &[TimelineEvent]) -> Vec<PageLine> {
    let mut out: Vec<PageLine> = Vec::new();
    for e in events.iter().filter(|e| is_page(e)) {
        let target = page_target(&e.data).unwrap_or("someone").to_string();
        let state = match e.kind {
            EventKind::PageAcknowledged => "acknowledged",
            EventKind::PageEscalated => "escalated",
            _ => "sent",
        };
        match out.iter_mut().find(|p| p.target == target) {
            Some(p) => p.state = state.into(),
            None => out.push(PageLine {
                target,
                state: state.into(),
                at: e.at.to_rfc3339(),
            }),
        }
    }
    out
}

fn str_of<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

/// The role assignments a viewer may be offered: every role, with its holder.
pub fn roles_of(incident: &Incident) -> Vec<(Role, Option<String>)> {
    Role::ALL
        .iter()
        .map(|r| (*r, incident.holder(*r).map(str::to_string)))
        .collect()
}

#[cfg(test)]
#[path = "console_tests.rs"]
mod tests;
