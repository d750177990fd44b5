//! The fenced outbox end to end against the local Slack Web API: a lease that expires during a slow
//! delivery, restarts mid-delivery, a room whose creation is rate-limited for a while, a permanent
//! error on the timeline and in `/metrics`, and a poisoned channel that delays no other.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use slack_server::helpers::*;
use slack_server::{FakeSlack, Faults};
use std::sync::Arc;
use std::time::Duration;
use warroom::store::{NewOutbox, OutboxStatus};

async fn spawn_tweaked(
    backend: Backend,
    fake: &FakeSlack,
    tweak: impl FnOnce(&mut warroom::config::Config) + Send + 'static,
) -> TestApp {
    let fake = fake.clone();
    TestApp::spawn_with(backend, move |c| {
        fake.configure(c);
        tweak(c);
    })
    .await
}

/// Writes `texts` as posts into incident `id`'s Slack channel, in one transaction, and wakes the workers.
async fn enqueue_posts(app: &TestApp, id: i64, texts: &[&str]) {
    let store = app.engine().store().clone();
    let mut tx = store.begin().await.unwrap();
    for text in texts {
        let entry = NewOutbox {
            destination: "slack".into(),
            action: "post".into(),
            incident_id: Some(id),
            channel_key: warroom::engine::outbound::channel_key(id, "slack"),
            payload: json!({ "text": text }),
            idempotency_key: Some(format!("test:{id}:{text}")),
        };
        tx.enqueue(&entry, chrono::Utc::now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    app.engine().hub().notify(id);
}

/// The texts posted in incident `id`'s channel that start with `prefix`, in order.
fn posted(fake: &FakeSlack, room: &str, prefix: &str) -> Vec<String> {
    let channel = fake
        .channels()
        .into_iter()
        .find(|c| c.id == room)
        .expect("the room exists");
    assert_no_duplicate_posts(&channel);
    channel
        .messages
        .iter()
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.starts_with(prefix))
        .map(String::from)
        .collect()
}

async fn entry_of(
    app: &TestApp,
    id: i64,
    text: &str,
) -> (warroom::store::OutboxEntry, OutboxStatus) {
    app.engine()
        .store()
        .outbox_for_incident(id)
        .await
        .unwrap()
        .into_iter()
        .find(|(e, _)| e.payload["text"] == text)
        .expect("the entry")
}

async fn a_lease_that_expires_mid_delivery_never_posts_twice(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn_tweaked(backend, &fake, |c| c.outbox.lease_secs = 1).await;
    // A second worker on the same database, with its own Slack client: another replica.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine = app.engine().clone();
    let other = warroom::chat::slack::SlackDeliverer::new(
        warroom::chat::slack::SlackClient::new(&fake.url, slack_server::TOKEN),
        engine.delivery_context(),
        app.config.slack.clone(),
    );
    let second = tokio::spawn(warroom::engine::outbox_worker::run(
        engine,
        vec![Arc::new(other)],
        app.config.outbox.clone(),
        stopped,
    ));
    let id = common::declare(&app, "Slow Slack", "P2").await;
    drained(&app, id, 20).await;
    let room = room_of(&app, id).await;
    // Slack now takes 2.5 s per post: longer than the 1 s lease, so only the heartbeat keeps it.
    fake.state
        .lock()
        .unwrap()
        .slow_replies
        .insert("chat.postMessage".into(), Duration::from_millis(2500));
    let before = fake.calls("chat.postMessage");
    enqueue_posts(&app, id, &["slow one", "slow two"]).await;
    drained(&app, id, 30).await;
    assert_eq!(posted(&fake, &room, "slow "), ["slow one", "slow two"]);
    assert_eq!(
        fake.calls("chat.postMessage") - before,
        2,
        "no worker took over a delivery whose lease was renewed"
    );
    let (entry, _) = entry_of(&app, id, "slow one").await;
    assert_eq!((entry.attempts, entry.starts), (1, 1));
    let _ = stop.send(true);
    second.await.unwrap();
}
both_backends!(
    lease_expiry,
    a_lease_that_expires_mid_delivery_never_posts_twice
);

async fn restarts_mid_delivery_spend_no_attempts(backend: Backend) {
    let fake = FakeSlack::start().await;
    // Room creation hangs until the fake is told otherwise: every restart cuts it off.
    fake.state
        .lock()
        .unwrap()
        .slow_replies
        .insert("conversations.create".into(), Duration::from_secs(60));
    let mut app = spawn_tweaked(backend, &fake, |_| {}).await;
    let id = common::declare(&app, "Restarts", "P2").await;
    let mut last_restart = std::time::Instant::now();
    for n in 1..=3 {
        // This process's own delivery began: its start is recorded and its call reached the platform.
        let started = app.engine().store().clone();
        let state = fake.state.clone();
        wait_until("the room creation began", 10, || {
            let (store, state) = (started.clone(), state.clone());
            async move {
                let entries = store.outbox_for_incident(id).await.unwrap();
                let create = entries.iter().find(|(e, _)| e.action == "create_room");
                let arrived = state
                    .lock()
                    .unwrap()
                    .slow_arrived
                    .get("conversations.create")
                    .copied()
                    .unwrap_or(0);
                create.is_some_and(|(e, _)| e.claim_token.is_some() && e.starts >= n)
                    && arrived >= n as usize
            }
        })
        .await;
        last_restart = std::time::Instant::now();
        app = app.restart().await;
    }
    // The platform recovers for the process started last (its room creation may already be waiting at
    // the platform), not for the calls of the processes the restarts cut off.
    fake.state.lock().unwrap().release_slow_since(last_restart);
    drained(&app, id, 20).await;
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let (create, _) = entries
        .iter()
        .find(|(e, _)| e.action == "create_room")
        .unwrap();
    assert_eq!(
        create.attempts, 1,
        "only the delivery that reported back counts"
    );
    assert!(create.starts >= 4, "{} starts", create.starts);
    assert_eq!(fake.channels_named("inc-").len(), 1);
}
both_backends!(restarts, restarts_mid_delivery_spend_no_attempts);

async fn entries_wait_for_a_rate_limited_room_and_arrive_once_in_order(backend: Backend) {
    let fake = FakeSlack::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        // Five outbox attempts' worth of 429s (each attempt tries three times in place).
        s.rate_limit_next.insert("conversations.create".into(), 15);
    }
    fake.faults(Faults {
        retry_after_secs: 0,
        ..Faults::default()
    });
    let app = spawn_tweaked(backend, &fake, |c| c.outbox.max_attempts = 2).await;
    let id = common::declare(&app, "Rate limited room", "P2").await;
    let texts = ["msg 1", "msg 2", "msg 3", "msg 4", "msg 5"];
    enqueue_posts(&app, id, &texts).await;
    drained(&app, id, 30).await;
    let room = room_of(&app, id).await;
    assert_eq!(posted(&fake, &room, "msg "), texts);
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let (create, status) = entries
        .iter()
        .find(|(e, _)| e.action == "create_room")
        .unwrap();
    assert_eq!(*status, OutboxStatus::Done);
    assert!(
        create.attempts > 2,
        "a rate limit retried past max_attempts: {}",
        create.attempts
    );
    assert_eq!(fake.channels_named("inc-").len(), 1);
}
both_backends!(
    waits_for_room,
    entries_wait_for_a_rate_limited_room_and_arrive_once_in_order
);

async fn a_permanent_error_is_on_the_timeline_and_in_metrics(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn_tweaked(backend, &fake, |c| {
        c.slack.bot_token = Some("xoxb-revoked".into())
    })
    .await;
    let id = common::declare(&app, "Revoked token", "P2").await;
    let store = app.engine().store().clone();
    wait_until("the failed delivery on the timeline", 10, || {
        let store = store.clone();
        async move {
            store.timeline(id, 0, 100).await.unwrap().iter().any(|e| {
                e.kind == warroom::domain::EventKind::DeliveryFailed
                    && e.text
                        .as_deref()
                        .unwrap_or_default()
                        .contains("invalid_auth")
            })
        }
    })
    .await;
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("warroom_outbox_failed_total{")
                && l.contains("destination=\"slack\"")
                && l.contains("reason=\"invalid_auth\"")),
        "{metrics}"
    );
    assert!(metrics.contains("warroom_outbox_failed "), "{metrics}");
    let (status, body) = app.get_json("/api/v1/outbox?state=failed").await;
    assert_eq!(status, 200, "{body}");
    let failed = body["entries"].as_array().unwrap();
    let create = failed
        .iter()
        .find(|e| e["action"] == "create_room")
        .expect("the failed room creation is listed");
    assert_eq!(create["incident_id"], id);
    assert_eq!(create["state"], "failed");
    assert!(
        create["last_error"]
            .as_str()
            .unwrap()
            .contains("invalid_auth")
    );
    assert!(create.get("claim_token").is_none());
    assert!(body["counts"]["failed"].as_i64().unwrap() >= 1);

    let (status, body) = app.get_json("/api/v1/outbox?state=stuck").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("state:")
    );
    let (status, body) = app.get_json("/api/v1/outbox?limit=many").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"));
}
both_backends!(
    permanent_errors,
    a_permanent_error_is_on_the_timeline_and_in_metrics
);

async fn a_poisoned_channel_does_not_delay_another_incidents_posts(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn_tweaked(backend, &fake, |c| c.outbox.max_attempts = 2).await;
    let sick = common::declare(&app, "Sick channel", "P2").await;
    let healthy = common::declare(&app, "Healthy channel", "P2").await;
    drained(&app, sick, 20).await;
    drained(&app, healthy, 20).await;
    let sick_room = room_of(&app, sick).await;
    let healthy_room = room_of(&app, healthy).await;
    fake.state
        .lock()
        .unwrap()
        .failing_channels
        .push(sick_room.clone());
    enqueue_posts(&app, sick, &["poison 1"]).await;
    let store = app.engine().store().clone();
    wait_until("the poisoned entry is retrying", 10, || {
        let store = store.clone();
        async move {
            let entries = store.outbox_for_incident(sick).await.unwrap();
            entries.iter().any(|(e, s)| {
                e.payload["text"] == "poison 1" && *s == OutboxStatus::Pending && e.attempts >= 3
            })
        }
    })
    .await;
    enqueue_posts(&app, healthy, &["fine 1", "fine 2"]).await;
    drained(&app, healthy, 5).await;
    assert_eq!(posted(&fake, &healthy_room, "fine "), ["fine 1", "fine 2"]);
    let (entry, status) = entry_of(&app, sick, "poison 1").await;
    assert_eq!(
        status,
        OutboxStatus::Pending,
        "a 5xx never fails an entry for good"
    );

    let (code, body) = app.get_json("/api/v1/outbox?state=retrying").await;
    assert_eq!(code, 200, "{body}");
    let listed: Vec<&Value> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == entry.id)
        .collect();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["poisoned"], true);
    assert_eq!(listed[0]["state"], "retrying");
    assert!(body["counts"]["retrying"].as_i64().unwrap() >= 1);
    assert!(
        app.get_text("/metrics")
            .await
            .contains("warroom_outbox_retrying ")
    );

    // The channel heals: the entry arrives once.
    fake.state.lock().unwrap().failing_channels.clear();
    drained(&app, sick, 10).await;
    assert_eq!(posted(&fake, &sick_room, "poison "), ["poison 1"]);
}
both_backends!(
    poison,
    a_poisoned_channel_does_not_delay_another_incidents_posts
);
