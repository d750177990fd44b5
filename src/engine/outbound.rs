//! Which outbound chat actions a change causes: written to the outbox in the change's transaction.

use crate::domain::escape::defuse_broadcasts;
use crate::domain::{EventKind, Incident, TimelineEvent};
use crate::store::NewOutbox;
use serde_json::json;

/// The built-in web war room.
pub const WEB: &str = "web";

/// Entries of one incident on one platform are delivered in order under this key.
pub fn channel_key(incident_id: i64, destination: &str) -> String {
    format!("incident:{incident_id}:{destination}")
}

/// A message for the incident's room on `destination`.
pub fn post(incident: &Incident, destination: &str, text: &str, key: Option<String>) -> NewOutbox {
    NewOutbox {
        destination: destination.to_string(),
        action: "post".into(),
        incident_id: Some(incident.id),
        channel_key: channel_key(incident.id, destination),
        payload: json!({"text": defuse_broadcasts(text), "incident": incident.id}),
        idempotency_key: key,
    }
}

/// A message only `user` sees in `channel` on `platform` (why a click did nothing).
pub fn ephemeral(
    platform: &str,
    incident: Option<i64>,
    channel: &str,
    user: &str,
    text: &str,
) -> NewOutbox {
    NewOutbox {
        destination: platform.into(),
        action: "ephemeral".into(),
        incident_id: incident,
        channel_key: format!("{platform}:ephemeral:{channel}"),
        payload: json!({"channel": channel, "user": user, "text": text}),
        idempotency_key: None,
    }
}

/// Looking up a platform user's name, once per user.
pub fn lookup_user(platform: &str, user: &str) -> NewOutbox {
    NewOutbox {
        destination: platform.into(),
        action: "lookup_user".into(),
        incident_id: None,
        channel_key: format!("{platform}:users"),
        payload: json!({"user": user}),
        idempotency_key: Some(format!("{platform}:lookup_user:{user}")),
    }
}

/// Creating the incident's room on every platform that has rooms (the web room always exists).
pub fn room_opened(incident: &Incident, destinations: &[String]) -> Vec<NewOutbox> {
    destinations
        .iter()
        .filter(|d| d.as_str() != WEB)
        .map(|d| NewOutbox {
            destination: d.clone(),
            action: "create_room".into(),
            incident_id: Some(incident.id),
            channel_key: channel_key(incident.id, d),
            payload: json!({"incident": incident.id, "title": incident.title, "severity": incident.severity,
                "service": incident.service}),
            idempotency_key: Some(format!("{d}:create_room:{}", incident.id)),
        })
        .collect()
}

/// What the bot says in the room about an event, if it says anything.
fn announcement(incident: &Incident, event: &TimelineEvent) -> Option<String> {
    let text = event.text.as_deref().unwrap_or_default();
    let actor = event.actor.as_deref().unwrap_or("warroom");
    Some(match event.kind {
        EventKind::Declared | EventKind::Detected => {
            let mut s = format!(
                "🚨 Incident #{} declared: {} — {} {}",
                incident.id, incident.title, incident.severity, incident.kind
            );
            if let Some(svc) = &incident.service {
                s.push_str(&format!(" on {svc}"));
            }
            if incident.holder(crate::domain::Role::Commander).is_none() {
                s.push_str("\nNo commander yet: `/inc role commander @you` to take it.");
            }
            s
        }
        EventKind::StatusUpdate => format!("📣 Status update from {actor}: {text}"),
        EventKind::StatusChanged | EventKind::SeverityChanged | EventKind::RoleAssigned => {
            text.to_string()
        }
        EventKind::ActionItem => format!("✅ Action item: {text}"),
        EventKind::Impact => format!("Impact: {text}"),
        EventKind::AlertsResolved => text.to_string(),
        EventKind::PageSent => format!("📟 {text}"),
        EventKind::PageAcknowledged => format!("✅ {text}"),
        EventKind::PageEscalated => format!("⏫ {text}"),
        EventKind::PageExhausted => format!("⚠️ {text}"),
        // Action-item reminders go to their owner by DM, not to the room.
        EventKind::Reminder if event.data["reminder"] != "action_item" => format!("⏰ {text}"),
        _ => return None,
    })
}

/// Whether `destination` gets a post for `kind`: the web room shows the timeline itself, so it
/// only gets what is addressed to people (declare greeting, status updates, reminders).
fn wants(destination: &str, kind: EventKind) -> bool {
    if destination == WEB {
        matches!(
            kind,
            EventKind::Declared
                | EventKind::Detected
                | EventKind::StatusUpdate
                | EventKind::Reminder
        )
    } else {
        true
    }
}

/// Room posts for newly appended events, on every destination.
pub fn for_events(
    incident: &Incident,
    events: &[TimelineEvent],
    destinations: &[String],
) -> Vec<NewOutbox> {
    let mut out = Vec::new();
    let opening = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Declared | EventKind::Detected));
    let joined: Vec<&TimelineEvent> = events
        .iter()
        .filter(|e| e.kind == EventKind::AlertFiring)
        .collect();
    // Alerts that join an open incident: one digest per dispatch, not a post per alert (a storm would
    // flood the room); the opening greeting stands for the alerts an incident opens with, and the web
    // room shows the timeline itself.
    if let Some(first) = joined.first().filter(|_| !opening) {
        let text = alerts_joined(&joined);
        for d in destinations.iter().filter(|d| d.as_str() != WEB) {
            out.push(post(
                incident,
                d,
                &text,
                Some(format!("{d}:alerts:{}", first.id)),
            ));
        }
    }
    for event in events {
        for d in destinations
            .iter()
            .filter(|d| ROOMS_WITH_SUMMARY.contains(&d.as_str()))
        {
            out.extend(room_extras(incident, event, d));
        }
        let Some(text) = announcement(incident, event) else {
            continue;
        };
        for d in destinations.iter().filter(|d| wants(d, event.kind)) {
            let mut entry = post(incident, d, &text, Some(format!("{d}:event:{}", event.id)));
            entry.payload["people"] = json!(people_named(event));
            out.push(entry);
        }
    }
    out
}

/// The person (or guest) ids an event names: its actor and the `user`, `previous` and `owner` it
/// is about; a platform mentions them by its own ids where it knows them.
fn people_named(event: &TimelineEvent) -> Vec<String> {
    let mut ids: Vec<String> = event.actor.iter().cloned().collect();
    for key in ["user", "previous", "owner"] {
        if let Some(id) = event.data[key].as_str() {
            ids.push(id.to_string());
        }
    }
    ids.retain(|id| id != crate::domain::actor::SYSTEM_ID);
    ids.dedup();
    ids
}

/// Alerts listed by name in a digest; the rest are counted.
const DIGEST_LINES: usize = 5;

/// The digest of alerts that joined an incident: each alert's timeline line, the first few by name.
fn alerts_joined(joined: &[&TimelineEvent]) -> String {
    let line = |e: &TimelineEvent| e.text.clone().unwrap_or_else(|| "an alert fired".into());
    if let [one] = joined {
        return format!("More alerts on this incident: {}", line(one));
    }
    let mut s = format!("{} more alerts on this incident:", joined.len());
    for e in joined.iter().take(DIGEST_LINES) {
        s.push_str(&format!("\n• {}", line(e)));
    }
    if joined.len() > DIGEST_LINES {
        s.push_str(&format!(
            "\n… and {} more on the timeline",
            joined.len() - DIGEST_LINES
        ));
    }
    s
}

/// Slack's destination name: it also keeps a pinned summary and announces to a channel.
pub const SLACK: &str = "slack";

/// Discord's destination name: like Slack, a pinned summary and an announce channel.
pub const DISCORD: &str = "discord";

/// The platforms whose rooms keep a pinned summary and announce to a channel.
const ROOMS_WITH_SUMMARY: [&str; 2] = [SLACK, DISCORD];

/// Whether an event changes what the pinned summary shows.
fn changes_summary(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Declared
            | EventKind::Detected
            | EventKind::StatusChanged
            | EventKind::SeverityChanged
            | EventKind::RoleAssigned
            | EventKind::TitleChanged
            | EventKind::Impact
            | EventKind::AlertFiring
            | EventKind::AlertResolved
            | EventKind::AlertsResolved
    )
}

/// Whether an event is announced in `slack.announce_channel`: declare, severity change, status
/// update, resolve.
fn announced(event: &TimelineEvent) -> bool {
    match event.kind {
        EventKind::Declared | EventKind::SeverityChanged | EventKind::StatusUpdate => true,
        EventKind::StatusChanged => event.data["to"] == "resolved",
        _ => false,
    }
}

/// A chat platform's entries beyond room posts: a `summary` refresh (the pinned message, edited in
/// place) and an `announce` post (delivered only when `<platform>.announce_channel` is set).
fn room_extras(incident: &Incident, event: &TimelineEvent, platform: &str) -> Vec<NewOutbox> {
    let mut out = Vec::new();
    if changes_summary(event.kind) {
        out.push(NewOutbox {
            destination: platform.into(),
            action: "summary".into(),
            incident_id: Some(incident.id),
            channel_key: channel_key(incident.id, platform),
            payload: json!({"incident": incident.id, "topic": matches!(event.kind,
                EventKind::StatusChanged | EventKind::SeverityChanged | EventKind::RoleAssigned
                    | EventKind::TitleChanged)}),
            idempotency_key: Some(format!("{platform}:summary:{}", event.id)),
        });
    }
    if announced(event) {
        let what = match event.kind {
            EventKind::Declared => format!(
                "🚨 {} {} declared: {}",
                incident.severity, incident.kind, incident.title
            ),
            _ => event.text.clone().unwrap_or_default(),
        };
        out.push(NewOutbox {
            destination: platform.into(),
            action: "announce".into(),
            incident_id: Some(incident.id),
            // After the room's creation, so the announcement can link the channel.
            channel_key: channel_key(incident.id, platform),
            payload: json!({"incident": incident.id,
                "text": defuse_broadcasts(&format!("Incident #{}: {what}", incident.id))}),
            idempotency_key: Some(format!("{platform}:announce:{}", event.id)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IncidentType, NewIncident, Severity, Status};
    use chrono::Utc;

    fn incident() -> Incident {
        let mut i = Incident::open(
            NewIncident {
                title: "API down".into(),
                severity: Severity::P1,
                kind: IncidentType::Outage,
                service: Some("api".into()),
                status: Status::Declared,
                declared_by: None,
                detected_at: Utc::now(),
            },
            Utc::now(),
        );
        i.id = 7;
        i
    }

    fn event(kind: EventKind, text: &str) -> TimelineEvent {
        TimelineEvent {
            id: 42,
            incident_id: 7,
            kind,
            at: Utc::now(),
            recorded_at: Utc::now(),
            actor: Some("alice".into()),
            text: Some(text.into()),
            data: json!({}),
        }
    }

    #[test]
    fn status_updates_reach_every_room_once_and_are_defused() {
        let dests = vec![WEB.to_string(), "slack".to_string()];
        let out = for_events(
            &incident(),
            &[event(EventKind::StatusUpdate, "ping @here")],
            &dests,
        );
        let out: Vec<_> = out.into_iter().filter(|o| o.action == "post").collect();
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].payload["text"],
            "📣 Status update from alice: ping @\u{200B}here"
        );
        assert_eq!(out[1].idempotency_key.as_deref(), Some("slack:event:42"));
        assert_eq!(out[1].channel_key, "incident:7:slack");
    }

    #[test]
    fn chat_messages_are_not_echoed_and_web_skips_what_its_timeline_shows() {
        let dests = vec![WEB.to_string(), "slack".to_string()];
        assert!(for_events(&incident(), &[event(EventKind::ChatMessage, "hi")], &dests).is_empty());
        let out = for_events(&incident(), &[event(EventKind::StatusChanged, "x")], &dests);
        let out: Vec<_> = out.into_iter().filter(|o| o.action == "post").collect();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].destination, "slack");
        assert_eq!(room_opened(&incident(), &dests).len(), 1);
    }

    #[test]
    fn alerts_joining_an_open_incident_are_posted_as_one_digest() {
        let dests = vec![WEB.to_string(), SLACK.to_string()];
        let firing: Vec<TimelineEvent> = (0..7)
            .map(|i| {
                let mut e = event(
                    EventKind::AlertFiring,
                    &format!("🔥 Alert{i} firing on api"),
                );
                e.id = 100 + i;
                e
            })
            .collect();
        let posts = |events: &[TimelineEvent]| -> Vec<NewOutbox> {
            for_events(&incident(), events, &dests)
                .into_iter()
                .filter(|o| o.action == "post")
                .collect()
        };
        let out = posts(&firing);
        assert_eq!(out.len(), 1, "one digest, on Slack only: {out:?}");
        assert_eq!(out[0].destination, SLACK);
        assert_eq!(out[0].idempotency_key.as_deref(), Some("slack:alerts:100"));
        let text = out[0].payload["text"].as_str().unwrap();
        assert!(
            text.starts_with("7 more alerts on this incident:"),
            "{text}"
        );
        assert!(
            text.contains("• 🔥 Alert4 firing on api") && !text.contains("Alert5"),
            "{text}"
        );
        assert!(text.ends_with("… and 2 more on the timeline"), "{text}");
        let one = posts(&firing[..1]);
        assert_eq!(
            one[0].payload["text"],
            "More alerts on this incident: 🔥 Alert0 firing on api"
        );
        // The alerts an incident opens with are in its greeting: no digest beside it.
        let mut opening = vec![event(EventKind::Detected, "d")];
        opening.extend(firing[..3].iter().cloned());
        let out = posts(&opening);
        assert!(
            out.iter()
                .all(|o| !o.payload["text"].as_str().unwrap().contains("more alerts")),
            "{out:?}"
        );
        // Every alert resolved: said in the room, where people decide whether to resolve.
        let all = posts(&[event(
            EventKind::AlertsResolved,
            "All 3 alerts of this incident have resolved.",
        )]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].destination, SLACK);
    }

    #[test]
    fn slack_gets_summary_refreshes_and_announcements() {
        let dests = vec![WEB.to_string(), SLACK.to_string()];
        let mut resolved = event(EventKind::StatusChanged, "resolved it");
        resolved.data = json!({"from": "mitigating", "to": "resolved"});
        let out = for_events(&incident(), &[resolved], &dests);
        let actions: Vec<&str> = out.iter().map(|o| o.action.as_str()).collect();
        assert_eq!(actions, ["summary", "announce", "post"]);
        assert_eq!(out[1].channel_key, "incident:7:slack");
        let out = for_events(&incident(), &[event(EventKind::Note, "n")], &dests);
        assert!(out.is_empty());
        let web_only = for_events(
            &incident(),
            &[event(EventKind::Declared, "d")],
            &[WEB.into()],
        );
        assert!(web_only.iter().all(|o| o.destination == WEB));
    }
}
