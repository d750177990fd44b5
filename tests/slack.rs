//! Slack war rooms end to end against a local Slack Web API: one room per incident despite faults
//! and a restart, the pinned summary, announcements, escaping, permanent errors, the manifest.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use slack_server::helpers::*;
use slack_server::{FakeSlack, Faults};
use std::time::Duration;

async fn war_room_once_despite_faults(backend: Backend) {
    let fake = FakeSlack::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        s.add_foreign_channel("inc-1-payments-down");
        s.add_foreign_channel("announcements");
    }
    fake.faults(Faults {
        rate_limited: 0.25,
        fail_after_effect: 0.2,
        retry_after_secs: 1,
        // Every creation's reply is lost: the retry must find the channel, not make another.
        always_fail_after_effect: vec!["conversations.create".into()],
        ..Faults::default()
    });
    let fake2 = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        fake2.configure(c);
        c.slack.announce_channel = Some("#announcements".into());
    })
    .await;
    let first = common::declare(&app, "Payments down", "P1").await;
    let second = common::declare(&app, "Search slow", "P2").await;
    drained(&app, first, 60).await;
    drained(&app, second, 60).await;
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/incidents/{first}"),
            json!({"status": "triaging"}),
        )
        .await;
    assert_eq!(status, 200);
    drained(&app, first, 60).await;

    let ours: Vec<_> = fake
        .channels()
        .into_iter()
        .filter(|c| c.creator == slack_server::BOT_USER && c.name.starts_with("inc-"))
        .collect();
    assert_eq!(
        ours.len(),
        2,
        "one channel per incident: {:?}",
        ours.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    let payments = ours.iter().find(|c| c.name.starts_with("inc-1-")).unwrap();
    assert_eq!(
        payments.name, "inc-1-payments-down-2",
        "name_taken by someone else → suffix"
    );
    assert_eq!(room_of(&app, first).await, payments.id);
    for channel in &ours {
        assert_no_duplicate_posts(channel);
        let summaries: Vec<_> = channel
            .messages
            .iter()
            .filter(|m| {
                m["metadata"]["event_payload"]["key"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("summary:"))
            })
            .collect();
        assert_eq!(summaries.len(), 1, "one pinned summary in {}", channel.name);
        assert_eq!(
            channel.pins,
            vec![summaries[0]["ts"].as_str().unwrap().to_string()]
        );
        let greetings = channel
            .messages
            .iter()
            .filter(|m| m["text"].as_str().unwrap_or_default().contains("declared:"))
            .count();
        assert_eq!(greetings, 1, "one declare greeting in {}", channel.name);
    }
    // The summary was edited in place with the new status; the topic follows.
    let summary = payments
        .messages
        .iter()
        .find(|m| m["metadata"]["event_payload"]["key"] == "summary:1")
        .unwrap();
    assert!(
        summary["blocks"].to_string().contains("triaging"),
        "{summary}"
    );
    assert!(
        payments.topic.starts_with("P1 · triaging"),
        "{}",
        payments.topic
    );
    // Announcements: joined the channel (not_in_channel → join), each announced once.
    let ann = fake
        .channels()
        .into_iter()
        .find(|c| c.name == "announcements")
        .unwrap();
    assert_no_duplicate_posts(&ann);
    assert_eq!(ann.messages.len(), 2, "two declares announced");
    assert!(
        ann.messages.iter().any(|m| m["text"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{}>", payments.id))),
        "announcements link the war room"
    );
    assert!(fake.calls("conversations.join") >= 1);
    {
        let s = fake.state.lock().unwrap();
        assert!(
            s.rate_limited_sent > 0 && s.failed_after_effect_sent > 0,
            "faults were injected"
        );
    }
    // The room is on the timeline.
    let events = timeline(&app, first).await;
    let rooms: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "room_created")
        .collect();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["data"]["name"], "inc-1-payments-down-2");
}
both_backends!(
    war_room_once_despite_faults_test,
    war_room_once_despite_faults
);

async fn restart_mid_delivery(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.faults(Faults {
        always_fail_after_effect: vec!["conversations.create".into(), "chat.postMessage".into()],
        ..Faults::default()
    });
    let app = spawn(backend, &fake).await;
    let id = common::declare(&app, "Queue stuck", "P2").await;
    let f = fake.clone();
    wait_until("the channel was created (reply lost)", 10, || {
        let f = f.clone();
        async move { f.calls("conversations.create") >= 1 }
    })
    .await;
    let app = app.restart().await;
    drained(&app, id, 30).await;
    fake.faults(Faults::default());
    let channels = fake.channels_named(&format!("inc-{id}-"));
    assert_eq!(
        channels.len(),
        1,
        "no second channel after the lost reply and the restart"
    );
    assert_eq!(fake.calls("conversations.create"), 1);
    assert_no_duplicate_posts(&channels[0]);
    assert_eq!(channels[0].pins.len(), 1);
    assert_eq!(room_of(&app, id).await, channels[0].id);
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let create = entries
        .iter()
        .find(|(e, _)| e.action == "create_room")
        .unwrap();
    assert_eq!(
        create.0.result.as_ref().unwrap()["channel"],
        channels[0].id.as_str()
    );
}
both_backends!(restart_mid_delivery_test, restart_mid_delivery);

async fn broadcasts_are_posted_escaped(backend: Backend) {
    let fake = FakeSlack::start().await;
    let f = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        f.configure(c);
        c.slack.private_channels = true;
    })
    .await;
    let id = common::declare(&app, "DB down <!channel> @here", "P1").await;
    app.engine()
        .add_text(
            id,
            warroom::domain::EventKind::StatusUpdate,
            "ping <!here> & @channel <https://evil|click>",
            &warroom::domain::Actor::service("alertmanager", "api"),
        )
        .await
        .unwrap();
    drained(&app, id, 20).await;
    let ch = fake.channels_named(&format!("inc-{id}-")).remove(0);
    assert_eq!(ch.name, format!("inc-{id}-db-down-channel-here"));
    assert!(
        ch.is_private,
        "slack.private_channels makes war rooms private"
    );
    let all: String = ch
        .messages
        .iter()
        .map(|m| format!("{} {}\n", m["text"], m["blocks"]))
        .collect();
    assert!(
        !all.contains("<!channel>") && !all.contains("<!here>") && !all.contains("<https://evil"),
        "{all}"
    );
    assert!(
        !all.contains("@here") && !all.contains("@channel"),
        "raw broadcasts in {all}"
    );
    assert!(
        all.contains("&lt;!channel&gt;") && all.contains("&amp;"),
        "{all}"
    );
    assert!(!ch.topic.contains("<!channel>"), "{}", ch.topic);
}
both_backends!(broadcasts_escaped_test, broadcasts_are_posted_escaped);

async fn permanent_errors_reach_the_timeline(backend: Backend) {
    let fake = FakeSlack::start().await;
    let f = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        f.configure(c);
        c.slack.bot_token = Some("xoxb-revoked".into());
    })
    .await;
    let id = common::declare(&app, "Disk full", "P2").await;
    let store = app.engine().store().clone();
    wait_until("the failed delivery on the timeline", 10, || {
        let store = store.clone();
        async move {
            let events = store.timeline(id, 0, 100).await.unwrap();
            events.iter().any(|e| {
                e.kind == warroom::domain::EventKind::DeliveryFailed
                    && e.text
                        .as_deref()
                        .unwrap_or_default()
                        .contains("invalid_auth")
            })
        }
    })
    .await;
    assert!(fake.channels().is_empty());
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let (create, status) = entries
        .iter()
        .find(|(e, _)| e.action == "create_room")
        .unwrap();
    assert_eq!(*status, warroom::store::OutboxStatus::Failed);
    assert_eq!(create.attempts, 1, "invalid_auth is not retried");
}
both_backends!(permanent_errors_test, permanent_errors_reach_the_timeline);

async fn direct_messages_and_ephemerals_are_delivered_once(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.faults(Faults {
        always_fail_after_effect: vec!["chat.postMessage".into()],
        ..Faults::default()
    });
    let app = spawn(backend, &fake).await;
    let store = app.engine().store().clone();
    let mut tx = store.begin().await.unwrap();
    for (action, payload) in [
        (
            "dm",
            json!({"user": "UALICE001", "text": "You are paged: <!channel> db down"}),
        ),
        (
            "ephemeral",
            json!({"channel": "CGENERAL1", "user": "UALICE001", "text": "only you"}),
        ),
    ] {
        let entry = warroom::store::NewOutbox {
            destination: "slack".into(),
            action: action.into(),
            incident_id: None,
            channel_key: format!("test:{action}"),
            payload,
            idempotency_key: Some(format!("test:{action}")),
        };
        tx.enqueue(&entry, chrono::Utc::now()).await.unwrap();
    }
    tx.commit().await.unwrap();
    app.engine().hub().notify(0);
    let f = fake.clone();
    wait_until("the DM and the ephemeral", 10, || {
        let f = f.clone();
        async move {
            let s = f.state.lock().unwrap();
            !s.ephemerals.is_empty() && s.channels.iter().any(|c| c.id == "DUALICE001")
        }
    })
    .await;
    let s2 = store.clone();
    wait_until("the DM entry is done", 10, || {
        let store = s2.clone();
        async move { store.outbox_depth().await.unwrap() == 0 }
    })
    .await;
    let dm = fake
        .channels()
        .into_iter()
        .find(|c| c.id == "DUALICE001")
        .unwrap();
    assert_eq!(
        dm.messages.len(),
        1,
        "the lost reply did not cause a second DM"
    );
    assert_eq!(
        dm.messages[0]["text"],
        "You are paged: &lt;!channel&gt; db down"
    );
    assert_eq!(fake.state.lock().unwrap().ephemerals[0]["text"], "only you");
}
both_backends!(
    direct_messages_test,
    direct_messages_and_ephemerals_are_delivered_once
);

async fn long_retry_after_is_honoured_by_the_outbox(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.faults(Faults {
        rate_limited: 1.0,
        retry_after_secs: 30,
        ..Faults::default()
    });
    let app = spawn(backend, &fake).await;
    let id = common::declare(&app, "Rate limited", "P3").await;
    let store = app.engine().store().clone();
    let create = |store: warroom::store::Store| async move {
        let entries = store.outbox_for_incident(id).await.unwrap();
        entries
            .into_iter()
            .find(|(e, _)| e.action == "create_room")
            .unwrap()
            .0
    };
    wait_until("the first rate-limited attempt", 10, || {
        let store = store.clone();
        async move { create(store).await.last_error.is_some() }
    })
    .await;
    // Synchronise on the outbox instead of sleeping: a claim made now finds nothing due (a worker
    // of this test's own, on the same engine, as the app's worker would claim it).
    let deliverer = warroom::chat::slack::SlackDeliverer::new(
        warroom::chat::slack::SlackClient::new(&fake.url, slack_server::TOKEN),
        app.engine().delivery_context(),
        app.config.slack.clone(),
    );
    let handled =
        warroom::engine::outbox_worker::drain_once(app.engine(), &deliverer, &app.config.outbox)
            .await
            .unwrap();
    assert_eq!(handled, 0, "nothing is due before Slack's Retry-After: 30");
    let entry = create(store.clone()).await;
    assert_eq!(
        entry.attempts, 1,
        "no new attempt before Slack's Retry-After: 30"
    );
    assert!(entry.last_error.unwrap().contains("rate limited"));
    assert_eq!(
        fake.state.lock().unwrap().rate_limited_sent,
        1,
        "a long Retry-After is not waited out in place"
    );
}
both_backends!(
    long_retry_after_test,
    long_retry_after_is_honoured_by_the_outbox
);

async fn two_replicas_make_one_room(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.faults(Faults {
        rate_limited: 0.1,
        fail_after_effect: 0.1,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let app = spawn(backend, &fake).await;
    // A second replica on the same database and the same Slack workspace.
    let replica = warroom::app::App::start(app.config.clone()).await.unwrap();
    let mut ids = Vec::new();
    for title in ["Replica one", "Replica two", "Replica three"] {
        ids.push(common::declare(&app, title, "P2").await);
    }
    for id in &ids {
        drained(&app, *id, 30).await;
    }
    replica.stop().await.unwrap();
    for id in ids {
        let channels = fake.channels_named(&format!("inc-{id}-"));
        assert_eq!(channels.len(), 1, "exactly one war room for incident {id}");
        assert_no_duplicate_posts(&channels[0]);
        assert_eq!(channels[0].pins.len(), 1);
    }
}
both_backends!(two_replicas_test, two_replicas_make_one_room);

#[test]
fn manifest_needs_a_public_url() {
    let bin = env!("CARGO_BIN_EXE_warroom");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin)
        .args(["slack", "manifest"])
        .current_dir(dir.path())
        .env("WARROOM_SERVER__PUBLIC_URL", "https://warroom.example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        m["settings"]["event_subscriptions"]["request_url"],
        "https://warroom.example.com/slack/events"
    );
    assert_eq!(
        m["features"]["slash_commands"][0]["url"],
        "https://warroom.example.com/slack/commands"
    );
    let out = std::process::Command::new(bin)
        .args(["slack", "manifest"])
        .current_dir(dir.path())
        .env_remove("WARROOM_SERVER__PUBLIC_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.public_url"));
}

/// Alerts that join an open incident reach its Slack room as one digest per dispatch (escaped), and
/// the room is told when every alert has resolved.
async fn joining_alerts_and_their_resolution_are_posted(backend: Backend) {
    let fake = FakeSlack::start().await;
    let f = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        f.configure(c);
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 20;
    })
    .await;
    let alert = |name: &str, status: &str| {
        json!({"alerts": [{"name": name, "service": "payments", "severity": "critical", "status": status,
            "summary": "errors <!channel> & more"}]})
    };
    let (s, b) = app
        .post_json("/hooks/alerts", alert("HighErrorRate", "firing"))
        .await;
    assert!((200..300).contains(&s), "{s} {b}");
    let mut id = None;
    for _ in 0..400 {
        let (_, list) = app.get_json("/api/v1/incidents").await;
        id = list["incidents"][0]["id"].as_i64();
        if id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let id = id.expect("the alert opened an incident");
    drained(&app, id, 20).await;
    // A second alert on the service joins the open incident (root-cause merge).
    let (s, b) = app
        .post_json("/hooks/alerts", alert("LatencyHigh", "firing"))
        .await;
    assert!((200..300).contains(&s), "{s} {b}");
    let texts = |fake: &FakeSlack| -> Vec<String> {
        fake.channels_named(&format!("inc-{id}-"))
            .first()
            .map(|c| {
                c.messages
                    .iter()
                    .map(|m| m["text"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_until("the digest of the joining alert", 10, || {
        let found = texts(&fake).iter().any(|t| {
            t.starts_with("More alerts on this incident: 🔥 LatencyHigh firing on payments")
        });
        async move { found }
    })
    .await;
    for name in ["HighErrorRate", "LatencyHigh"] {
        let (s, b) = app
            .post_json("/hooks/alerts", alert(name, "resolved"))
            .await;
        assert!((200..300).contains(&s), "{s} {b}");
    }
    wait_until("the all-resolved message", 10, || {
        let found = texts(&fake)
            .iter()
            .any(|t| t.starts_with("All 2 alerts of this incident have resolved."));
        async move { found }
    })
    .await;
    drained(&app, id, 20).await;
    let all = texts(&fake).join("\n");
    assert!(
        !all.contains("<!channel>") && all.contains("&lt;!channel&gt; &amp; more"),
        "alert text escaped: {all}"
    );
    assert_eq!(
        all.matches("More alerts on this incident").count(),
        1,
        "one digest for the one joining alert: {all}"
    );
    assert_no_duplicate_posts(&fake.channels_named(&format!("inc-{id}-")).remove(0));
}
both_backends!(
    joining_alerts_posted,
    joining_alerts_and_their_resolution_are_posted
);
