//! Slack inbound end to end: Events API → timeline, slash commands, buttons and the declare form,
//! and refusal of unsigned, mis-signed and replayed requests.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use slack_server::FakeSlack;
use slack_server::helpers::*;

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
    fake.add_user("UGUEST001", "Gus");
    let (app, _catalog) = spawn_with_catalog(backend, &fake, PEOPLE).await;
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

    // A Slack user the catalog does not list is a guest; their name comes through users.info.
    let guest = json!({"type": "message", "channel": ch, "user": "UGUEST001", "text": "on it", "ts": "1700000109.000100"});
    event(&app, "Ev011", guest, None).await;
    let store = app.engine().store().clone();
    wait_until("the guest's name cached through users.info", 10, || {
        let store = store.clone();
        async move { store.slack_user_name("UGUEST001").await.unwrap().is_some() }
    })
    .await;
    let again = json!({"type": "message", "channel": ch, "user": "UGUEST001", "text": "<@UALICE001> look", "ts": "1700000110.000100"});
    event(&app, "Ev012", again, None).await;

    let empty = json!({"type": "message", "channel": ch, "user": "UALICE001", "text": "", "ts": "1700000108.000100"});
    assert_eq!(
        event(&app, "Ev010", empty, None).await,
        200,
        "nothing to record is still acknowledged"
    );

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
            "message_deleted",
            "chat_message",
            "chat_message"
        ]
    );
    assert_eq!(chat[0]["text"], "errors since 10:02 & rising");
    assert_eq!(chat[0]["data"]["message_id"], "1700000100.000100");
    assert_eq!(
        chat[0]["at"].as_str().unwrap()[..19],
        *"2023-11-14T22:15:00"
    );
    for e in &chat[..6] {
        assert_eq!(
            e["actor"], "alice",
            "a known Slack user is their person id: {e}"
        );
        assert_eq!(e["data"]["identity"]["platform"], "slack");
        assert_eq!(e["data"]["identity"]["platform_id"], "UALICE001");
        assert!(e["data"]["identity"]["guest"].is_null());
    }
    assert_eq!(chat[1]["text"], "rolling back @alice");
    assert_eq!(chat[1]["data"]["thread"], "1700000100.000100");
    assert_eq!(chat[2]["data"]["files"][0]["name"], "graph.png");
    assert_eq!(chat[3]["text"], "errors since 10:01");
    assert_eq!(chat[3]["data"]["previous"], "errors since 10:02 & rising");
    assert_eq!(chat[3]["data"]["event"], chat[0]["id"]);
    assert_eq!(chat[4]["data"]["event"], chat[0]["id"]);
    assert_eq!(chat[5]["data"]["message_id"], "1700000101.000100");
    assert_eq!(chat[6]["actor"], "slack:UGUEST001");
    assert_eq!(chat[6]["data"]["identity"]["guest"], true);
    assert_eq!(
        chat[7]["data"]["identity"]["name"], "Gus",
        "names come from the users.info cache"
    );
    assert_eq!(chat[7]["text"], "@alice look");
    let (status, people) = app.get_json("/api/v1/people").await;
    assert_eq!(status, 200);
    let gus = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "slack:UGUEST001")
        .cloned()
        .unwrap_or_else(|| panic!("the guest is listed: {people}"));
    assert_eq!(gus["guest"], true);
    assert_eq!(gus["name"], "Gus");
    assert_eq!(gus["identities"]["slack"], "UGUEST001");
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
    // alice runs incidents here (P0/P1 declares and severities need an admin or the commander).
    let (app, _catalog) = spawn_with_catalog_and(backend, &fake, PEOPLE, |c| {
        c.roles.insert(
            "admin".into(),
            warroom::config::Grants(vec!["alice".into()]),
        );
    })
    .await;
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
    assert!(
        channel
            .messages
            .iter()
            .any(|m| m["text"] == "<@UALICE001> took the commander role"),
        "a person id in a post is a mention: {:?}",
        channel.messages
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
    let cmd = events
        .iter()
        .find(|e| e["kind"] == "command" && e["actor"] == "alice")
        .expect("the command is recorded as alice");
    assert_eq!(cmd["data"]["identity"]["platform_id"], "UALICE001");
    let resolved = events
        .iter()
        .find(|e| e["kind"] == "status_changed" && e["data"]["to"] == "resolved")
        .unwrap();
    assert_eq!(
        resolved["actor"], "slack:UBOB00001",
        "an unknown clicker is a guest"
    );
    let (_, people) = app.get_json("/api/v1/people").await;
    assert!(
        people["people"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "slack:UBOB00001" && p["guest"] == true && p["name"] == "bob"),
        "{people}"
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
