//! What must hold after the faults, read from the database (through the library's `Store`, the same
//! reads the app makes) and from the local Slack server's own record of what was posted.

use crate::slack_server::{BOT_USER, FakeSlack};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use warroom::store::{IncidentFilter, OutboxStatus, Store};

/// Slack delivery once everything is delivered.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Delivered {
    /// Incidents.
    pub incidents: usize,
    /// Slack channels the bot created (one per incident).
    pub rooms: usize,
    /// Messages in those channels (greetings, digests, summaries), each with its own key.
    pub messages: usize,
    /// Slack outbox entries, all `done`.
    pub entries: usize,
    /// Deliveries that began and never reported back (cut off by a kill or a lost lease).
    pub cut_off: i64,
    /// Attempts beyond the first (retries after a platform fault).
    pub retries: i64,
}

/// Why the state is not (yet) what it must be.
pub enum NotYet {
    /// Still delivering: try again.
    Pending(String),
    /// Broken for good: a duplicate, a second room, a failed entry.
    Broken(String),
}

/// Checks every incident: one Slack room, every entry delivered, every keyed message once.
pub async fn slack_exactly_once(store: &Store, fake: &FakeSlack) -> Result<Delivered, NotYet> {
    let pending = |s: String| NotYet::Pending(s);
    let incidents = store
        .incidents(&IncidentFilter {
            limit: 1000,
            ..IncidentFilter::default()
        })
        .await
        .map_err(|e| pending(format!("reading incidents: {e}")))?;
    // Entries, then the channels, then the entries again: if nothing changed in between, the
    // channels show exactly what those entries did (a post completed after a channel snapshot
    // would otherwise look missing).
    let before = outbox_of(store, &incidents).await.map_err(pending)?;
    let channels = fake.channels();
    if outbox_of(store, &incidents).await.map_err(pending)? != before {
        return Err(pending("the outbox is still changing".into()));
    }
    let mut out = Delivered {
        incidents: incidents.len(),
        ..Delivered::default()
    };
    for (inc, entries) in incidents.iter().zip(&before) {
        let prefix = format!("inc-{}-", inc.id);
        let ours: Vec<_> = channels
            .iter()
            .filter(|c| {
                c.creator == BOT_USER
                    && (c.name.starts_with(&prefix) || c.name == prefix.trim_end_matches('-'))
            })
            .collect();
        if ours.len() > 1 {
            let names: Vec<_> = ours.iter().map(|c| &c.name).collect();
            return Err(NotYet::Broken(format!(
                "incident {} has {} rooms: {names:?}",
                inc.id,
                ours.len()
            )));
        }
        let mut keys: HashMap<String, usize> = HashMap::new();
        if let Some(channel) = ours.first() {
            for m in &channel.messages {
                let Some(key) = m["metadata"]["event_payload"]["key"].as_str() else {
                    return Err(NotYet::Broken(format!(
                        "a message without a key in {}",
                        channel.name
                    )));
                };
                *keys.entry(key.to_string()).or_default() += 1;
            }
            if let Some((key, n)) = keys.iter().find(|(_, n)| **n > 1) {
                return Err(NotYet::Broken(format!(
                    "{key} posted {n} times in {}",
                    channel.name
                )));
            }
        }
        let mut posts = 0;
        for (e, status) in entries.iter().filter(|(e, _)| e.destination == "slack") {
            match status {
                OutboxStatus::Failed => {
                    return Err(NotYet::Broken(format!(
                        "incident {}: {} failed for good after {} attempts: {:?}",
                        inc.id, e.action, e.attempts, e.last_error
                    )));
                }
                OutboxStatus::Pending => {
                    return Err(pending(format!(
                        "incident {}: {} #{} pending ({} attempts, {} starts, {:?})",
                        inc.id, e.action, e.id, e.attempts, e.starts, e.last_error
                    )));
                }
                OutboxStatus::Done => {}
            }
            out.entries += 1;
            out.cut_off += (e.starts - e.attempts).max(0);
            out.retries += (e.attempts - 1).max(0);
            if e.action == "post" {
                posts += 1;
                if keys.get(&format!("outbox:{}", e.id)) != Some(&1) {
                    return Err(NotYet::Broken(format!(
                        "incident {}: post #{} is done but not in the room",
                        inc.id, e.id
                    )));
                }
            }
        }
        let Some(channel) = ours.first() else {
            return Err(pending(format!("incident {} has no room yet", inc.id)));
        };
        let room = store
            .chat_room(inc.id, "slack")
            .await
            .map_err(|e| pending(e.to_string()))?;
        if room.as_ref().map(|r| r.room_id.as_str()) != Some(channel.id.as_str()) {
            return Err(NotYet::Broken(format!(
                "incident {}: stored room {room:?} is not its channel {}",
                inc.id, channel.id
            )));
        }
        if keys.get(&format!("summary:{}", inc.id)) != Some(&1) || keys.len() != posts + 1 {
            return Err(NotYet::Broken(format!(
                "incident {}: {} keyed messages for {posts} posts and one summary",
                inc.id,
                keys.len()
            )));
        }
        out.rooms += 1;
        out.messages += channel.messages.len();
    }
    Ok(out)
}

/// Every incident's outbox entries (in `incidents`' order).
async fn outbox_of(
    store: &Store,
    incidents: &[warroom::domain::Incident],
) -> Result<Vec<Vec<(warroom::store::OutboxEntry, OutboxStatus)>>, String> {
    let mut all = Vec::new();
    for inc in incidents {
        let entries = store
            .outbox_for_incident(inc.id)
            .await
            .map_err(|e| format!("reading the outbox: {e}"))?;
        all.push(entries);
    }
    Ok(all)
}

/// Waits (up to `limit`) until [`slack_exactly_once`] holds; returns it and how long it took.
/// Panics at once on a broken invariant, and with the last reason when the time is up.
pub async fn drained(store: &Store, fake: &FakeSlack, limit: Duration) -> (Delivered, Duration) {
    let started = Instant::now();
    loop {
        match slack_exactly_once(store, fake).await {
            Ok(d) => return (d, started.elapsed()),
            Err(NotYet::Broken(why)) => panic!("{why}"),
            Err(NotYet::Pending(why)) if started.elapsed() > limit => {
                panic!("not drained within {limit:?}: {why}")
            }
            Err(NotYet::Pending(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Ingest after the faults: every acknowledged alert stored, none stored twice.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stored {
    /// Alerts sent.
    pub sent: u64,
    /// Alerts acknowledged with a 2xx.
    pub acknowledged: usize,
    /// Alerts stored (acknowledged ones and some whose answer a kill cut off).
    pub stored: i64,
    /// Acknowledged alerts not stored.
    pub lost: usize,
    /// Reports counted beyond one per alert (each alert was sent once).
    pub duplicated: i64,
}

/// Reads which of `acknowledged` are stored, and every alert's report count.
pub async fn alerts_stored(store: &Store, sent: u64, acknowledged: &[String]) -> Stored {
    let mut tx = store.begin().await.unwrap();
    let mut found = 0;
    for chunk in acknowledged.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        found += tx.known_alerts(&refs).await.unwrap().len();
    }
    drop(tx); // read only: rolled back
    let (rows, reports, _) = store.alert_totals().await.unwrap();
    Stored {
        sent,
        acknowledged: acknowledged.len(),
        stored: rows,
        lost: acknowledged.len() - found,
        duplicated: reports - rows,
    }
}

/// Incidents per service: one per alert group (alertname, service) when grouping held.
pub async fn incidents_per_service(store: &Store) -> BTreeMap<String, usize> {
    let incidents = store
        .incidents(&IncidentFilter {
            limit: 1000,
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for inc in incidents {
        *out.entry(inc.service.unwrap_or_default()).or_default() += 1;
    }
    out
}
