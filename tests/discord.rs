//! Discord end to end against a local Discord (`tests/discord_server/`): signed interactions built
//! from the real fixtures, war rooms, buttons, the declare modal, autocomplete, a DM page and its
//! acknowledgement, crash and rate-limit idempotency, one incident with a Slack and a Discord room,
//! and `warroom discord register-commands`. Every test runs on SQLite and PostgreSQL.

mod common;
mod discord_server;
mod slack_server;

use common::{Backend, TestApp};
use discord_server::{ALICE, ANNOUNCE, CATEGORY, FakeDiscord, STRANGER, button, command, send};
use serde_json::{Value, json};
use warroom::store::{NewOutbox, OutboxStatus};

async fn spawn(
    backend: Backend,
    fake: &FakeDiscord,
    dir: &std::path::Path,
    more: impl FnOnce(&mut warroom::config::Config),
) -> TestApp {
    let fake = fake.clone();
    let catalog = discord_server::catalog(dir);
    TestApp::spawn_with(backend, move |c| {
        fake.configure(c);
        c.catalog.path = catalog;
        c.server.public_url = Some("https://warroom.example".into());
        c.roles.insert(
            "admin".into(),
            warroom::config::Grants(vec!["api".into(), "alice".into()]),
        );
        more(c);
    })
    .await
}

/// Waits until every outbox entry of `id` is delivered; fails on a failed one.
async fn drained(app: &TestApp, id: i64) {
    let store = app.engine().store().clone();
    slack_server::helpers::wait_until(&format!("incident {id}'s outbox drained"), 10, || {
        let store = store.clone();
        async move {
            let entries = store.outbox_for_incident(id).await.unwrap();
            for (e, status) in &entries {
                assert_ne!(
                    *status,
                    OutboxStatus::Failed,
                    "{} failed: {:?}",
                    e.action,
                    e.last_error
                );
            }
            entries.iter().all(|(_, s)| *s == OutboxStatus::Done)
        }
    })
    .await;
}

async fn room_of(app: &TestApp, id: i64) -> String {
    let engine = app.engine().clone();
    // 30 s, not 10: on PostgreSQL with the binary's 17 tests at once, the room was seen to take over
    // 10 s in 3 of 13 runs (and in none of 50 runs after; the cause is not found).
    slack_server::helpers::wait_until("the Discord room", 30, || {
        let engine = engine.clone();
        async move { engine.room_of(id, "discord").await.unwrap().is_some() }
    })
    .await;
    app.engine()
        .room_of(id, "discord")
        .await
        .unwrap()
        .unwrap()
        .room_id
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../shared/fixtures/realworld/discord/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every message posted anywhere limits its mentions to explicit users.
fn assert_mentions_limited(fake: &FakeDiscord) {
    for m in fake.all_messages() {
        assert_eq!(m["allowed_mentions"]["parse"], json!([]), "{m}");
        let content = m["content"].as_str().unwrap_or_default();
        assert!(
            !content.contains("@everyone") && !content.contains("@here"),
            "{content}"
        );
    }
}

async fn real_fixtures_are_verified_and_answered(backend: Backend) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |_| {}).await;

    // Refused: a wrong signature, a stale timestamp, no headers. Nothing is recorded.
    let declare = command(
        "930000000000000001",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([{"type": 3, "name": "title", "value": "Refused"}]),
    );
    let ts = chrono::Utc::now().timestamp();
    let forged = app
        .client
        .post(app.url("/discord/interactions"))
        .header("x-signature-timestamp", ts.to_string())
        .header(
            "x-signature-ed25519",
            discord_server::sign("other body", ts),
        )
        .body(declare.clone())
        .send()
        .await
        .unwrap();
    let (status, body) = common::split(forged).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    let (status, _) = send(&app, &declare, 301).await;
    assert_eq!(status, 401, "a signature older than 5 minutes is a replay");
    let bare = app
        .client
        .post(app.url("/discord/interactions"))
        .body(declare.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        list["incidents"].as_array().map(Vec::len),
        Some(0),
        "{list}"
    );
    assert_eq!(fake.calls("create_channel"), 0);

    // PING → PONG, with the exact body discord-interactions-js signs.
    let (status, pong) = send(&app, &fixture("djs-interactions-test-ping.json"), 0).await;
    assert_eq!((status, pong), (200, json!({"type": 1})));

    // Every real interaction body parses and gets an answer Discord accepts.
    let bodies = [
        "djs-interactions-test-application-command.json",
        "djs-interactions-test-message-component.json",
        "djs-interactions-test-autocomplete.json",
        "docs-application-command-slash-interaction.json",
        "docs-old-message-component-button-interaction.json",
        "docs-old-message-component-select-interaction.json",
        "docs-old-modal-submit-text-input-interaction.json",
        "discord4j-InteractionCreate.SubCommandGroup.d-slice.json",
    ];
    let mut bodies: Vec<(String, String)> =
        bodies.iter().map(|n| (n.to_string(), fixture(n))).collect();
    for frame in [
        "discord4j-gateway-InteractionCreate.json",
        "discord4j-gateway-InteractionCreate.SubCommandGroup.json",
    ] {
        let v: Value = serde_json::from_str(&fixture(frame)).unwrap();
        bodies.push((frame.to_string(), v["d"].to_string()));
    }
    for (name, body) in &bodies {
        let (status, answer) = send(&app, body, 0).await;
        assert_eq!(status, 200, "{name}: {answer}");
        let kind = answer["type"].as_u64().unwrap();
        assert!([4, 8, 9].contains(&kind), "{name}: {answer}");
        if kind == 4 {
            assert_eq!(
                answer["data"]["flags"], 64,
                "{name}: not ours, said privately"
            );
        }
    }
    // The same interaction again does nothing twice.
    let (_, again) = send(&app, &bodies[4].1, 0).await;
    assert!(
        again["data"]["content"]
            .as_str()
            .unwrap()
            .contains("handled already"),
        "{again}"
    );
}
both_backends!(real_fixtures, real_fixtures_are_verified_and_answered);

async fn a_declare_from_discord_opens_a_war_room(backend: Backend) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |_| {}).await;
    let body = command(
        "930000000000000010",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([{"type": 3, "name": "title", "value": "Checkout down @everyone **now**"},
               {"type": 3, "name": "service", "value": "checkout"}]),
    );
    let (status, answer) = send(&app, &body, 0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["type"], 4, "{answer}");
    let content = answer["data"]["content"].as_str().unwrap();
    assert!(content.starts_with("Declared incident #1"), "{content}");
    assert!(
        content.contains("Discord war room: #inc-1-checkout-down"),
        "{content}"
    );
    assert_eq!(answer["data"]["allowed_mentions"]["parse"], json!([]));

    let room = room_of(&app, 1).await;
    drained(&app, 1).await;
    let rooms = fake.rooms();
    assert_eq!(rooms.len(), 1);
    let ch = &rooms[0];
    assert_eq!(ch.id, room);
    assert_eq!(ch.parent_id.as_deref(), Some(CATEGORY));
    assert!(
        ch.name.starts_with("inc-1-checkout-down-everyone"),
        "{}",
        ch.name
    );
    assert!(
        ch.topic.as_deref().unwrap().contains("P2"),
        "{:?}",
        ch.topic
    );
    assert!(
        ch.overwrites.iter().any(|(u, _)| u == ALICE),
        "the declarer is let in: {:?}",
        ch.overwrites
    );
    assert_eq!(ch.pins.len(), 1, "one pinned summary");
    let summary = ch.messages.iter().find(|m| m["id"] == ch.pins[0]).unwrap();
    assert!(
        summary["content"].as_str().unwrap().contains("Incident #1"),
        "{summary}"
    );
    assert_eq!(
        summary["components"][0]["components"][0]["custom_id"],
        "ack:1"
    );
    let announced = fake.channel(ANNOUNCE).unwrap().messages;
    assert!(
        announced.iter().any(|m| m["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{room}>"))),
        "{announced:?}"
    );
    assert_eq!(app.events_of(1, "room_created").await.len(), 1);

    // A status update typed in the room reaches the room, mentioning alice by her Discord id.
    let update = command(
        "930000000000000011",
        ALICE,
        &room,
        "inc",
        "update",
        json!([{"type": 3, "name": "text", "value": "rolled back, @here watch"}]),
    );
    let (_, answer) = send(&app, &update, 0).await;
    assert_eq!(answer["data"]["flags"], 64, "{answer}");
    // A guest speaks too: the directory does not know them.
    let note = command(
        "930000000000000012",
        STRANGER,
        &room,
        "inc",
        "impact",
        json!([{"type": 3, "name": "text", "value": "EU checkouts fail"}]),
    );
    send(&app, &note, 0).await;
    drained(&app, 1).await;
    let posted = fake.channel(&room).unwrap().messages;
    let update_post = posted
        .iter()
        .find(|m| m["content"].as_str().unwrap().contains("Status update"))
        .expect("the update is posted");
    assert!(
        update_post["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<@{ALICE}>")),
        "{update_post}"
    );
    assert_eq!(update_post["allowed_mentions"]["users"], json!([ALICE]));
    assert_mentions_limited(&fake);
    let commands = app.events_of(1, "command").await;
    assert!(
        commands
            .iter()
            .any(|e| e["actor"] == "alice" && e["data"]["platform"] == "discord"),
        "{commands:?}"
    );

    // The postmortem lists the Discord participants: the person and the guest.
    let (_, pm) = app.get_json("/api/v1/incidents/1/postmortem").await;
    let names: Vec<&str> = pm["participants"]
        .as_array()
        .or(pm["draft"]["participants"].as_array())
        .unwrap_or_else(|| panic!("{pm}"))
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"alice"), "{names:?}");
    assert!(
        names.contains(&format!("discord:{STRANGER}").as_str()),
        "{names:?}"
    );
}
both_backends!(
    declare_opens_a_room,
    a_declare_from_discord_opens_a_war_room
);

async fn a_slow_command_is_deferred_then_followed_up(backend: Backend) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    // No time at all to answer inline: every command takes the deferred path.
    let app = spawn(backend, &fake, dir.path(), |c| {
        c.discord.answer_within_ms = 0
    })
    .await;
    let body = command(
        "930000000000000077",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([{"type": 3, "name": "title", "value": "Search is slow"},
               {"type": 3, "name": "service", "value": "checkout"}]),
    );
    let (status, answer) = send(&app, &body, 0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["type"], 5, "a deferred answer: {answer}");
    let fake2 = fake.clone();
    slack_server::helpers::wait_until("the follow-up edit", 10, || {
        let fake = fake2.clone();
        async move { !fake.state.lock().unwrap().followups.is_empty() }
    })
    .await;
    let followups = fake.state.lock().unwrap().followups.clone();
    assert_eq!(followups.len(), 1, "{followups:?}");
    let content = followups[0].1["content"].as_str().unwrap_or_default();
    assert!(content.starts_with("Declared incident #1"), "{followups:?}");
    // The work itself happened once.
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        list["incidents"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
}

both_backends!(deferred, a_slow_command_is_deferred_then_followed_up);

async fn buttons_the_modal_and_autocomplete_work(backend: Backend) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |_| {}).await;
    // A title-less declare opens the form; the Declare button too.
    let bare = command(
        "930000000000000020",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([]),
    );
    let (_, form) = send(&app, &bare, 0).await;
    assert_eq!(form["type"], 9, "{form}");
    assert_eq!(form["data"]["custom_id"], "declare");
    let (_, form) = send(
        &app,
        &button("930000000000000021", ALICE, ANNOUNCE, "declare"),
        0,
    )
    .await;
    assert_eq!(form["type"], 9, "{form}");
    // The form submitted declares.
    let submit = json!({"id": "930000000000000022", "application_id": discord_server::APP_ID,
        "type": 5, "token": "tok", "version": 1, "channel_id": ANNOUNCE,
        "member": {"user": {"id": ALICE, "username": "alice"}},
        "data": {"custom_id": "declare", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "title", "value": "Login slow"}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "severity", "value": "p3"}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "service", "value": "checkout"}]}]}});
    let (_, answer) = send(&app, &submit.to_string(), 0).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Declared incident #1"),
        "{answer}"
    );
    let (_, inc) = app.get_json("/api/v1/incidents/1").await;
    assert_eq!(inc["severity"], "P3", "{inc}");
    let room = room_of(&app, 1).await;

    // Acknowledge moves a declared incident on; the command is on the timeline as alice's.
    let (_, answer) = send(
        &app,
        &button("930000000000000023", ALICE, &room, "ack:1"),
        0,
    )
    .await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("acknowledged incident #1"),
        "{answer}"
    );
    let (_, inc) = app.get_json("/api/v1/incidents/1").await;
    assert_eq!(inc["status"], "triaging", "{inc}");
    // Resolve.
    let (_, answer) = send(
        &app,
        &button("930000000000000024", ALICE, &room, "resolve:1"),
        0,
    )
    .await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("resolved"),
        "{answer}"
    );
    // A guest's Roll back of an unknown change is refused privately, by the engine.
    let (_, answer) = send(
        &app,
        &button("930000000000000025", STRANGER, &room, "rollback:1:99"),
        0,
    )
    .await;
    assert_eq!(answer["data"]["flags"], 64, "{answer}");

    // Autocomplete: services and incident ids.
    let auto = |id: &str, sub: &str, name: &str, value: &str| {
        json!({"id": id, "type": 4, "token": "t", "version": 1, "channel_id": ANNOUNCE,
            "member": {"user": {"id": ALICE}},
            "data": {"name": "inc", "type": 1, "options": [{"type": 1, "name": sub, "options": [
                {"type": 3, "name": name, "value": value, "focused": true}]}]}})
        .to_string()
    };
    let (_, choices) = send(
        &app,
        &auto("930000000000000026", "declare", "service", "chec"),
        0,
    )
    .await;
    assert_eq!(choices["type"], 8);
    assert_eq!(
        choices["data"]["choices"][0]["value"], "checkout",
        "{choices}"
    );
    app.post_json(
        "/api/v1/incidents",
        json!({"title": "Search broken", "severity": "P3"}),
    )
    .await;
    let (_, choices) = send(&app, &auto("930000000000000027", "sev", "incident", "2"), 0).await;
    assert_eq!(choices["data"]["choices"][0]["value"], 2, "{choices}");
}
both_backends!(buttons_and_modal, buttons_the_modal_and_autocomplete_work);

async fn a_page_reaches_a_person_by_dm_and_is_acknowledged(backend: Backend) {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |_| {}).await;
    let id = common::declare(&app, "Payments down", "P3").await;
    room_of(&app, id).await;
    // The on-call engine's page, exactly as the contract writes it.
    let page = NewOutbox {
        destination: "discord".into(),
        action: "page_dm".into(),
        incident_id: Some(id),
        channel_key: "page:41:discord".into(),
        payload: json!({"page": 41, "incident": id, "person": "alice", "user": ALICE,
            "text": "You are paged for incident #1 @everyone", "title": "Payments down",
            "severity": "P3", "url": format!("https://warroom.example/incidents/{id}")}),
        idempotency_key: Some("discord:page_dm:41:0".into()),
    };
    app.engine().enqueue_one(page).await.unwrap();
    drained(&app, id).await;
    let dm = fake.dm_with(ALICE).expect("a DM channel with alice");
    assert_eq!(dm.messages.len(), 1);
    let msg = &dm.messages[0];
    let row = &msg["components"][0]["components"];
    assert_eq!(row[0]["custom_id"], format!("page_ack:41:{id}"));
    assert_eq!(
        row[1]["url"],
        format!("https://warroom.example/incidents/{id}")
    );
    assert_mentions_limited(&fake);

    // Pressing Acknowledge in the DM runs `/inc ack` for the incident as alice.
    let press = button(
        "930000000000000030",
        ALICE,
        &dm.id,
        &format!("page_ack:41:{id}"),
    );
    let (_, answer) = send(&app, &press, 0).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("alice acknowledged"),
        "{answer}"
    );
    let acks = app.events_of(id, "command").await;
    assert!(
        acks.iter()
            .any(|e| e["text"] == "/inc ack" && e["actor"] == "alice"),
        "{acks:?}"
    );
}
both_backends!(page_dm, a_page_reaches_a_person_by_dm_and_is_acknowledged);

async fn lost_replies_and_rate_limits_never_duplicate(backend: Backend) {
    let fake = FakeDiscord::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        s.fail_after_effect.insert("create_channel".into(), 1);
        s.fail_after_effect.insert("create_message".into(), 2);
        s.fail_after_effect.insert("pin".into(), 1);
        s.fail_before_effect.insert("edit_channel".into(), 1);
        s.rate_limit_next.insert("create_message".into(), (1, 0.2));
        s.global_limit_next = 1;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |_| {}).await;
    let id = common::declare(&app, "Flaky platform", "P3").await;
    app.command(
        "/inc update still looking",
        &common::web_ctx(Some(id), "api"),
    )
    .await;
    drained(&app, id).await;
    let rooms = fake.rooms();
    assert_eq!(
        rooms.len(),
        1,
        "one war room although the first reply was lost"
    );
    let ch = &rooms[0];
    let mut nonces: Vec<String> = ch
        .messages
        .iter()
        .map(|m| m["nonce"].as_str().unwrap_or_default().to_string())
        .collect();
    let total = nonces.len();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), total, "no message twice: {:?}", ch.messages);
    assert_eq!(ch.pins.len(), 1);
    let s = fake.state.lock().unwrap();
    assert!(
        s.failed_after_effect_sent >= 3,
        "{}",
        s.failed_after_effect_sent
    );
    assert!(s.rate_limited_sent >= 2, "{}", s.rate_limited_sent);
}
both_backends!(faults, lost_replies_and_rate_limits_never_duplicate);

async fn one_incident_with_a_slack_and_a_discord_room(backend: Backend) {
    let discord = FakeDiscord::start().await;
    let slack = slack_server::FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let s = slack.clone();
    let app = spawn(backend, &discord, dir.path(), move |c| s.configure(c)).await;
    let body = command(
        "930000000000000040",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([{"type": 3, "name": "title", "value": "Both rooms"}]),
    );
    send(&app, &body, 0).await;
    let discord_room = room_of(&app, 1).await;
    let slack_room = slack_server::helpers::room_of(&app, 1).await;
    // Typed in Slack: shows in the Discord room.
    slack_server::helpers::slash(
        &app,
        &slack_room,
        "U0ALICE01",
        "alice",
        "/inc update from slack",
    )
    .await;
    // Typed in Discord: shows in the Slack room.
    let impact = command(
        "930000000000000041",
        ALICE,
        &discord_room,
        "inc",
        "impact",
        json!([{"type": 3, "name": "text", "value": "from discord"}]),
    );
    send(&app, &impact, 0).await;
    drained(&app, 1).await;
    let in_discord: Vec<String> = discord
        .channel(&discord_room)
        .unwrap()
        .messages
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        in_discord.iter().any(|t| t.contains("from slack")),
        "{in_discord:?}"
    );
    assert!(
        in_discord.iter().any(|t| t.contains("from discord")),
        "{in_discord:?}"
    );
    let in_slack = slack.texts(&slack_room);
    assert!(
        in_slack.iter().any(|t| t.contains("from discord")),
        "{in_slack:?}"
    );
    assert!(
        in_slack.iter().any(|t| t.contains("from slack")),
        "{in_slack:?}"
    );
    // One timeline holds both commands, each with its platform.
    let commands = app.events_of(1, "command").await;
    let platforms: Vec<&str> = commands
        .iter()
        .filter_map(|e| e["data"]["platform"].as_str())
        .collect();
    assert!(
        platforms.contains(&"slack") && platforms.contains(&"discord"),
        "{commands:?}"
    );
}
both_backends!(
    slack_and_discord,
    one_incident_with_a_slack_and_a_discord_room
);

async fn thread_rooms_live_in_the_announce_channel(backend: Backend) {
    let fake = FakeDiscord::start().await;
    fake.state
        .lock()
        .unwrap()
        .fail_after_effect
        .insert("create_thread".into(), 1);
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, &fake, dir.path(), |c| {
        c.discord.room = warroom::config::DiscordRoom::Thread;
    })
    .await;
    let body = command(
        "930000000000000050",
        ALICE,
        ANNOUNCE,
        "inc",
        "declare",
        json!([{"type": 3, "name": "title", "value": "Thread room"}]),
    );
    send(&app, &body, 0).await;
    let room = room_of(&app, 1).await;
    drained(&app, 1).await;
    let threads: Vec<_> = fake.rooms().into_iter().filter(|c| c.kind == 11).collect();
    assert_eq!(
        threads.len(),
        1,
        "one thread although the first reply was lost"
    );
    let t = &threads[0];
    assert_eq!(t.id, room);
    assert_eq!(t.parent_id.as_deref(), Some(ANNOUNCE));
    assert_eq!(t.thread_members, vec![ALICE.to_string()]);
    assert_eq!(t.pins.len(), 1);
    // A command typed in the thread acts on its incident.
    let sev = command(
        "930000000000000051",
        ALICE,
        &room,
        "inc",
        "sev",
        json!([{"type": 3, "name": "severity", "value": "P3"}]),
    );
    let (_, answer) = send(&app, &sev, 0).await;
    assert!(
        answer["data"]["content"].as_str().unwrap().contains("P3"),
        "{answer}"
    );
    let (_, inc) = app.get_json("/api/v1/incidents/1").await;
    assert_eq!(inc["severity"], "P3");
}
both_backends!(thread_rooms, thread_rooms_live_in_the_announce_channel);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_commands_is_a_bulk_overwrite() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let run = |file: std::path::PathBuf, url: String| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"));
        for (key, _) in std::env::vars() {
            if key.starts_with("WARROOM_") {
                cmd.env_remove(key);
            }
        }
        cmd.args([
            "--config",
            file.to_str().unwrap(),
            "discord",
            "register-commands",
        ])
        .env("WARROOM_DISCORD__BOT_TOKEN", discord_server::TOKEN)
        .env("WARROOM_DISCORD__APPLICATION_ID", discord_server::APP_ID)
        .env(
            "WARROOM_DISCORD__PUBLIC_KEY",
            discord_server::public_key_hex(),
        )
        .env("WARROOM_DISCORD__GUILD_ID", discord_server::GUILD)
        .env("WARROOM_DISCORD__API_URL", url)
        .output()
        .unwrap()
    };
    let (f, u) = (file.clone(), fake.url.clone());
    let first = tokio::task::spawn_blocking(move || run(f, u))
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&first.stdout).to_string()
        + &String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{out}");
    assert!(
        out.contains("registered /inc, /oncall, /change in guild"),
        "{out}"
    );
    let ids = |fake: &FakeDiscord| -> Vec<String> {
        let s = fake.state.lock().unwrap();
        s.commands[discord_server::GUILD]
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = ids(&fake);
    let (f, u) = (file.clone(), fake.url.clone());
    let second = tokio::task::spawn_blocking(move || run(f, u))
        .await
        .unwrap();
    assert!(second.status.success());
    assert_eq!(
        ids(&fake),
        before,
        "the same three commands, not three more"
    );
    assert_eq!(fake.calls("register"), 2);
    let s = fake.state.lock().unwrap();
    let inc = &s.commands[discord_server::GUILD][0];
    assert_eq!(inc["name"], "inc");
    assert!(inc["options"].as_array().unwrap().len() >= 18);
}
