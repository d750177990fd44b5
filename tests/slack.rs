//! Slack end to end against a local Slack Web API: war rooms once despite faults and restarts,
//! every message/edit/deletion/pin on the timeline, commands and buttons, signatures, escaping.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use slack_server::{FakeSlack, Faults};
use std::time::Duration;

async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn spawn(backend: Backend, fake: &FakeSlack) -> TestApp {
    let fake = fake.clone();
    TestApp::spawn_with(backend, move |c| fake.configure(c)).await
}

/// Waits until every outbox entry of `id` is delivered; panics on a failed one.
async fn drained(app: &TestApp, id: i64, secs: u64) {
    let store = app.engine().store().clone();
    wait_until(&format!("incident {id}'s outbox drained"), secs, || {
        let store = store.clone();
        async move {
            let entries = store.outbox_for_incident(id).await.unwrap();
            for (e, status) in &entries {
                assert_ne!(
                    *status,
                    warroom::store::OutboxStatus::Failed,
                    "delivery failed: {} {:?}",
                    e.action,
                    e.last_error
                );
            }
            entries
                .iter()
                .all(|(_, s)| *s == warroom::store::OutboxStatus::Done)
        }
    })
    .await;
}

async fn room_of(app: &TestApp, id: i64) -> String {
    let store = app.engine().store().clone();
    wait_until("the Slack room", 20, || {
        let store = store.clone();
        async move { store.chat_room(id, "slack").await.unwrap().is_some() }
    })
    .await;
    store.chat_room(id, "slack").await.unwrap().unwrap().room_id
}

async fn timeline(app: &TestApp, id: i64) -> Vec<Value> {
    let (status, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn keys(channel: &slack_server::Channel) -> Vec<String> {
    channel
        .messages
        .iter()
        .filter_map(|m| {
            m["metadata"]["event_payload"]["key"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

fn assert_no_duplicate_posts(channel: &slack_server::Channel) {
    let mut k = keys(channel);
    let n = k.len();
    k.sort();
    k.dedup();
    assert_eq!(k.len(), n, "a message was posted twice in {}", channel.name);
    assert_eq!(n, channel.messages.len(), "every bot post carries its key");
}

async fn war_room_once_despite_faults(backend: Backend) {
    let fake = FakeSlack::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        s.add_foreign_channel("inc-1-payments-down");
        s.add_foreign_channel("announcements");
    }
    fake.faults(Faults {
        rate_limited: 0.2,
        fail_after_effect: 0.2,
        retry_after_secs: 1,
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

async fn event(app: &TestApp, event_id: &str, event: Value, retry: Option<&str>) -> u16 {
    let body = json!({"type": "event_callback", "event_id": event_id, "event_time": 1700000001,
        "authorizations": [{"user_id": slack_server::BOT_USER}], "event": event})
    .to_string();
    let extra: Vec<(&str, &str)> = retry
        .map(|r| {
            vec![
                ("x-slack-retry-num", r),
                ("x-slack-retry-reason", "http_timeout"),
            ]
        })
        .unwrap_or_default();
    let resp = slack_server::send_signed(
        &app.client,
        &app.url("/slack/events"),
        &body,
        "application/json",
        &extra,
    )
    .await;
    resp.status().as_u16()
}

async fn events_become_the_timeline(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.add_user("UALICE001", "Alice");
    let app = spawn(backend, &fake).await;
    let id = common::declare(&app, "Login errors", "P1").await;
    let ch = room_of(&app, id).await;

    let body = json!({"type": "url_verification", "challenge": "abc123", "token": "x"}).to_string();
    let resp = slack_server::send_signed(
        &app.client,
        &app.url("/slack/events"),
        &body,
        "application/json",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["challenge"], "abc123");

    let hello = json!({"type": "message", "channel": ch, "user": "UALICE001", "text": "errors since 10:02 &amp; rising", "ts": "1700000100.000100"});
    assert_eq!(event(&app, "Ev001", hello.clone(), None).await, 200);
    let store = app.engine().store().clone();
    wait_until("Alice's name cached through users.info", 10, || {
        let store = store.clone();
        async move { store.slack_user_name("UALICE001").await.unwrap().is_some() }
    })
    .await;
    // Slack retries the same event: nothing new.
    assert_eq!(event(&app, "Ev001", hello, Some("1")).await, 200);
    let reply = json!({"type": "message", "channel": ch, "user": "UALICE001", "text": "rolling back <@UALICE001>",
        "ts": "1700000101.000100", "thread_ts": "1700000100.000100"});
    event(&app, "Ev002", reply, None).await;
    let file = json!({"type": "message", "subtype": "file_share", "channel": ch, "user": "UALICE001", "text": "",
        "ts": "1700000102.000100", "files": [{"name": "graph.png", "permalink": "https://files/graph.png"}]});
    event(&app, "Ev003", file, None).await;
    let edit = json!({"type": "message", "subtype": "message_changed", "channel": ch, "event_ts": "1700000103.000100",
        "message": {"user": "UALICE001", "text": "errors since 10:01", "ts": "1700000100.000100", "edited": {"ts": "1700000103.000100"}},
        "previous_message": {"user": "UALICE001", "text": "errors since 10:02 &amp; rising", "ts": "1700000100.000100"}});
    event(&app, "Ev004", edit, None).await;
    let pin = json!({"type": "reaction_added", "user": "UALICE001", "reaction": "pushpin", "event_ts": "1700000104.000100",
        "item": {"type": "message", "channel": ch, "ts": "1700000100.000100"}});
    event(&app, "Ev005", pin.clone(), None).await;
    event(&app, "Ev005", pin, Some("2")).await;
    let delete = json!({"type": "message", "subtype": "message_deleted", "channel": ch, "event_ts": "1700000105.000100",
        "deleted_ts": "1700000101.000100", "previous_message": {"user": "UALICE001", "text": "rolling back", "ts": "1700000101.000100"}});
    event(&app, "Ev006", delete, None).await;
    // Ignored: the bot's own message, another channel, another reaction.
    event(&app, "Ev007", json!({"type": "message", "channel": ch, "bot_id": "B0001", "text": "bot says", "ts": "1700000106.000100"}), None).await;
    event(&app, "Ev008", json!({"type": "message", "channel": "COTHER001", "user": "UALICE001", "text": "elsewhere", "ts": "1700000107.000100"}), None).await;
    event(
        &app,
        "Ev009",
        json!({"type": "reaction_added", "user": "UALICE001", "reaction": "eyes",
        "item": {"type": "message", "channel": ch, "ts": "1700000100.000100"}}),
        None,
    )
    .await;

    let events = timeline(&app, id).await;
    let chat: Vec<&Value> = events
        .iter()
        .filter(|e| {
            [
                "chat_message",
                "message_edited",
                "message_deleted",
                "pinned",
            ]
            .contains(&e["kind"].as_str().unwrap())
        })
        .collect();
    let kinds: Vec<&str> = chat.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "chat_message",
            "chat_message",
            "chat_message",
            "message_edited",
            "pinned",
            "message_deleted"
        ]
    );
    assert_eq!(chat[0]["text"], "errors since 10:02 & rising");
    assert_eq!(chat[0]["data"]["message_id"], "1700000100.000100");
    assert_eq!(
        chat[0]["at"].as_str().unwrap()[..19],
        *"2023-11-14T22:15:00"
    );
    assert_eq!(
        chat[1]["actor"], "Alice",
        "names come from the users.info cache"
    );
    assert_eq!(chat[1]["text"], "rolling back @Alice");
    assert_eq!(chat[1]["data"]["thread"], "1700000100.000100");
    assert_eq!(chat[2]["data"]["files"][0]["name"], "graph.png");
    assert_eq!(chat[3]["text"], "errors since 10:01");
    assert_eq!(chat[3]["data"]["previous"], "errors since 10:02 & rising");
    assert_eq!(chat[3]["data"]["event"], chat[0]["id"]);
    assert_eq!(chat[4]["data"]["event"], chat[0]["id"]);
    assert_eq!(chat[5]["data"]["message_id"], "1700000101.000100");
    assert!(!events.iter().any(|e| {
        e["text"]
            .as_str()
            .is_some_and(|t| t.contains("bot says") || t.contains("elsewhere"))
    }));
}
both_backends!(events_become_the_timeline_test, events_become_the_timeline);

async fn command(app: &TestApp, channel: &str, text: &str) -> Value {
    let (cmd, rest) = text.split_once(' ').unwrap_or((text, ""));
    let body = serde_urlencoded::to_string([
        ("token", "legacy"),
        ("team_id", "T0001"),
        ("channel_id", channel),
        ("user_id", "UALICE001"),
        ("user_name", "alice"),
        ("command", cmd),
        ("text", rest),
        ("trigger_id", "1337.42.abcd"),
        ("response_url", "https://hooks.slack.invalid/commands/1"),
    ])
    .unwrap();
    let resp = slack_server::send_signed(
        &app.client,
        &app.url("/slack/commands"),
        &body,
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn commands_and_buttons_change_the_incident(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn(backend, &fake).await;
    let answer = command(
        &app,
        "CGENERAL1",
        "/inc declare P1 service:api Checkout <broken>",
    )
    .await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Checkout &lt;broken&gt;"),
        "{answer}"
    );
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let id = list["incidents"][0]["id"].as_i64().unwrap_or(1);
    let ch = room_of(&app, id).await;
    drained(&app, id, 20).await;
    let members = fake
        .channels()
        .into_iter()
        .find(|c| c.id == ch)
        .unwrap()
        .members;
    assert!(
        members.contains(&"UALICE001".to_string()),
        "the declarer is invited: {members:?}"
    );

    let answer = command(&app, &ch, "/inc sev P0").await;
    assert_eq!(answer["response_type"], "in_channel");
    let answer = command(&app, &ch, "/inc role commander <@UALICE001|alice>").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let answer = command(&app, &ch, "/inc sev P9").await;
    assert_eq!(
        answer["response_type"], "ephemeral",
        "usage errors reach only the typist"
    );
    assert!(
        answer["text"].as_str().unwrap().contains("/inc sev"),
        "{answer}"
    );
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["severity"], "P0");
    assert_eq!(inc["roles"]["commander"], "alice");
    drained(&app, id, 20).await;
    let channel = fake.channels().into_iter().find(|c| c.id == ch).unwrap();
    let summary = channel
        .messages
        .iter()
        .find(|m| m["metadata"]["event_payload"]["key"] == format!("summary:{id}"))
        .unwrap();
    assert!(
        summary["blocks"].to_string().contains("<@UALICE001>"),
        "role holders are mentioned by id"
    );
    assert!(
        channel.topic.contains("commander: alice"),
        "{}",
        channel.topic
    );

    // `/inc declare` alone opens the modal inline; its submission declares.
    let answer = command(&app, "CGENERAL1", "/inc declare").await;
    assert_eq!(answer["response_type"], "ephemeral");
    assert_eq!(fake.state.lock().unwrap().views.len(), 1);
    let submission = json!({"type": "view_submission", "user": {"id": "UBOB00001", "username": "bob"},
        "view": {"callback_id": "warroom_declare_view", "state": {"values": {
            "title": {"value": {"type": "plain_text_input", "value": "Cache cold"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "P3"}}},
            "service": {"value": {"type": "plain_text_input", "value": null}},
            "type": {"value": {"type": "static_select", "selected_option": {"value": "degradation"}}}}}}});
    let resp = interact(&app, &submission).await;
    assert_eq!(resp.0, 200);
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert!(list.to_string().contains("Cache cold"), "{list}");
    // Help outside a war room offers a Declare button, which opens the same form.
    let help = command(&app, "CGENERAL1", "/inc help").await;
    assert_eq!(help["response_type"], "ephemeral");
    assert!(
        help["blocks"].to_string().contains("warroom_declare"),
        "{help}"
    );
    let declare_click = json!({"type": "block_actions", "user": {"id": "UBOB00001", "username": "bob"},
        "trigger_id": "t2", "channel": {"id": "CGENERAL1"}, "actions": [{"action_id": "warroom_declare"}]});
    assert_eq!(interact(&app, &declare_click).await.0, 200);
    assert_eq!(fake.state.lock().unwrap().views.len(), 2);

    // Buttons: Resolve works; a second Acknowledge after resolve is told privately why not.
    let click = |action: &str| {
        json!({"type": "block_actions", "user": {"id": "UBOB00001", "username": "bob"},
        "trigger_id": "t1", "channel": {"id": ch}, "actions": [{"action_id": action, "value": id.to_string()}]})
    };
    assert_eq!(interact(&app, &click("warroom_resolve")).await.0, 200);
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "resolved");
    interact(&app, &click("warroom_ack")).await;
    let f = fake.clone();
    wait_until("the refusal reaches the clicker", 10, || {
        let f = f.clone();
        async move {
            f.state
                .lock()
                .unwrap()
                .ephemerals
                .iter()
                .any(|e| e["user"] == "UBOB00001")
        }
    })
    .await;
    let events = timeline(&app, id).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "command" && e["actor"] == "alice")
    );
}
both_backends!(
    commands_and_buttons_test,
    commands_and_buttons_change_the_incident
);

async fn interact(app: &TestApp, payload: &Value) -> (u16, String) {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let resp = slack_server::send_signed(
        &app.client,
        &app.url("/slack/interactions"),
        &body,
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn forged_requests_are_refused(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn(backend, &fake).await;
    let body = json!({"type": "url_verification", "challenge": "c"}).to_string();
    let now = chrono::Utc::now().timestamp();
    for path in ["/slack/events", "/slack/commands", "/slack/interactions"] {
        let unsigned = app
            .client
            .post(app.url(path))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401, "{path} unsigned");
        let (_, err) = common::split(unsigned).await;
        assert_eq!(err["error"]["code"], "unauthorized");
        let wrong = app
            .client
            .post(app.url(path))
            .body(body.clone())
            .header("x-slack-request-timestamp", now.to_string())
            .header("x-slack-signature", format!("v0={}", "0".repeat(64)))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} mis-signed");
        let stale = app
            .client
            .post(app.url(path))
            .body(body.clone())
            .header("x-slack-request-timestamp", (now - 600).to_string())
            .header("x-slack-signature", slack_server::sign(&body, now - 600))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 401, "{path} replayed");
        let tampered = app
            .client
            .post(app.url(path))
            .body(format!("{body} "))
            .header("x-slack-request-timestamp", now.to_string())
            .header("x-slack-signature", slack_server::sign(&body, now))
            .send()
            .await
            .unwrap();
        assert_eq!(tampered.status(), 401, "{path} tampered body");
    }
}
both_backends!(forged_requests_test, forged_requests_are_refused);

async fn broadcasts_are_posted_escaped(backend: Backend) {
    let fake = FakeSlack::start().await;
    let app = spawn(backend, &fake).await;
    let id = common::declare(&app, "DB down <!channel> @here", "P1").await;
    app.engine()
        .add_text(
            id,
            warroom::domain::EventKind::StatusUpdate,
            "ping <!here> & @channel <https://evil|click>",
            "alertmanager",
        )
        .await
        .unwrap();
    drained(&app, id, 20).await;
    let ch = fake.channels_named(&format!("inc-{id}-")).remove(0);
    assert_eq!(ch.name, format!("inc-{id}-db-down-channel-here"));
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
