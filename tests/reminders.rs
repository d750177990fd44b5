//! Reminders that escalate, through the real app on both backends with a clock the test moves: a P0
//! incident's commander is nudged after 15 minutes without a status update, an update starts the
//! count over, `/inc remind off` silences it (and `on` resumes with one reminder, not a backlog);
//! nudges left unanswered page the owning service's on-call; an incident without a commander is
//! reminded and escalates the same way; a restart after a long downtime fires one reminder, not
//! many; two replicas fire a due reminder once; an action item that comes due is DMed to its owner
//! once through the local Slack server, and the room's nudge mentions the commander there.

mod common;
mod slack_server;

use chrono::{Duration, TimeZone, Utc};
use common::{Backend, TestApp, TestClock, TestDb, test_config, web_ctx};
use serde_json::{Value, json};
use slack_server::FakeSlack;
use slack_server::helpers::{drained, room_of, wait_until};
use std::sync::Arc;

const CATALOG: &str = r#"
[[service]]
name = "checkout"
owner = "payments"

[[person]]
id = "alice"
slack = "UALICE001"

[[person]]
id = "bob"
slack = "UBOB00001"

[[team]]
id = "payments"
members = ["bob"]
"#;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

/// The app on `db` with the catalog, jobs ticked only by the test, on `clock`.
async fn start(db: TestDb, dir: &std::path::Path, clock: Arc<TestClock>) -> TestApp {
    let path = dir.join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let mut config = test_config(&db);
    config.catalog.path = path.display().to_string();
    config.changes.jobs_tick_ms = 3_600_000;
    TestApp::start_with_clock(db, config, Some(clock)).await
}

/// Declares `severity` on `service` through the API; returns the incident id.
async fn declare(app: &TestApp, severity: &str, service: Option<&str>) -> i64 {
    let (s, b) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Checkout down", "severity": severity, "service": service}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

async fn tick(app: &TestApp) -> usize {
    warroom::engine::jobs::tick(app.engine()).await.unwrap()
}

/// The `reminder` events of incident `id` whose `data.reminder` is `kind`.
async fn reminders(app: &TestApp, id: i64, kind: &str) -> Vec<Value> {
    app.events_of(id, "reminder")
        .await
        .into_iter()
        .filter(|e| e["data"]["reminder"] == kind)
        .collect()
}

async fn pending(app: &TestApp, kind: &str) -> i64 {
    app.engine().store().pending_jobs(kind).await.unwrap()
}

async fn run(app: &TestApp, id: i64, who: &str, text: &str) {
    let reply = app.command(text, &web_ctx(Some(id), who)).await;
    assert!(reply.ok, "{text}: {}", reply.text);
}

async fn a_p0_is_nudged_an_update_resets_it_and_remind_off_silences_it(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let id = declare(&app, "P0", None).await;
    run(&app, id, "alice", "/inc role commander @alice").await;
    assert_eq!(pending(&app, "reminder").await, 1, "one live timer");

    clock.advance(Duration::minutes(14) + Duration::seconds(59));
    tick(&app).await;
    assert!(reminders(&app, id, "update").await.is_empty(), "15 minutes");
    clock.advance(Duration::seconds(1));
    tick(&app).await;
    let nudges = reminders(&app, id, "update").await;
    assert_eq!(nudges.len(), 1);
    let text = nudges[0]["text"].as_str().unwrap();
    assert!(text.contains("alice (commander)"), "{text}");
    assert!(text.contains("no status update for 15m"), "{text}");
    assert_eq!(nudges[0]["data"]["user"], "alice");
    assert_eq!(nudges[0]["actor"], "warroom");
    // Posted in the web room, in the nudge's own transaction (reminders are addressed to people).
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let posted = entries.iter().any(|(e, _)| {
        e.destination == "web"
            && e.action == "post"
            && e.payload["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("⏰ alice (commander)"))
    });
    assert!(posted, "{entries:?}");
    assert_eq!(pending(&app, "reminder").await, 1, "the next one is armed");

    // An update at 20 minutes: the timer due at 30 finds it and waits until 35.
    clock.advance(Duration::minutes(5));
    run(&app, id, "alice", "/inc update Rolled back the deploy").await;
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    assert_eq!(
        reminders(&app, id, "update").await.len(),
        1,
        "reset by the update"
    );
    clock.advance(Duration::minutes(5));
    tick(&app).await;
    let nudges = reminders(&app, id, "update").await;
    assert_eq!(nudges.len(), 2);
    assert_eq!(nudges[1]["data"]["nth"], 1, "the count started over");
    assert!(nudges[1]["text"].as_str().unwrap().contains("for 15m"));

    run(&app, id, "alice", "/inc remind off").await;
    assert_eq!(pending(&app, "reminder").await, 0, "silenced: no timer");
    assert_eq!(reminders(&app, id, "off").await.len(), 1);
    let again = app
        .command("/inc remind off", &web_ctx(Some(id), "alice"))
        .await;
    assert!(again.text.contains("already off"), "{}", again.text);
    clock.advance(Duration::hours(2));
    assert_eq!(tick(&app).await, 0, "nothing is due while silenced");
    assert_eq!(reminders(&app, id, "update").await.len(), 2);

    // Back on after two hours: one nudge now, not eight.
    run(&app, id, "alice", "/inc remind on").await;
    tick(&app).await;
    tick(&app).await;
    assert_eq!(reminders(&app, id, "update").await.len(), 3);
    assert_eq!(pending(&app, "reminder").await, 1);

    run(&app, id, "alice", "/inc resolve").await;
    assert_eq!(
        pending(&app, "reminder").await,
        0,
        "resolving stops the timer"
    );
    clock.advance(Duration::hours(1));
    tick(&app).await;
    assert_eq!(reminders(&app, id, "update").await.len(), 3);
}
both_backends!(
    nudges,
    a_p0_is_nudged_an_update_resets_it_and_remind_off_silences_it
);

async fn ignored_nudges_page_the_services_on_call(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let id = declare(&app, "P0", Some("checkout")).await;
    run(&app, id, "alice", "/inc role commander @alice").await;
    let pages = || async {
        let (_, b) = app.get_json(&format!("/api/v1/incidents/{id}/pages")).await;
        b["pages"].as_array().unwrap().clone()
    };
    assert!(
        pages().await.is_empty(),
        "checkout has no policy to page at opening"
    );
    for _ in 0..2 {
        clock.advance(Duration::minutes(15));
        tick(&app).await;
    }
    assert_eq!(reminders(&app, id, "update").await.len(), 2);
    assert!(pages().await.is_empty(), "two nudges, no page yet");
    clock.advance(Duration::minutes(15));
    tick(&app).await;
    let nudges = reminders(&app, id, "update").await;
    assert_eq!(nudges.len(), 3);
    assert_eq!(nudges[2]["data"]["escalated"], true);
    assert_eq!(nudges[2]["data"]["target"], "service:checkout");
    let text = nudges[2]["text"].as_str().unwrap();
    assert!(
        text.contains("2 reminders went unanswered: paging the on-call of checkout"),
        "{text}"
    );
    let p = pages().await;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["person"], "bob", "the owner team of checkout");
    assert_eq!(p[0]["created_by"], "warroom");
    let sent = app.events_of(id, "page_sent").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["data"]["user"], "bob");

    // The streak has paged: the next nudge reminds without paging again, until an update.
    clock.advance(Duration::minutes(15));
    tick(&app).await;
    let nudges = reminders(&app, id, "update").await;
    assert_eq!(nudges.len(), 4);
    assert_eq!(nudges[3]["data"]["escalated"], false);
    assert_eq!(pages().await.len(), 1);
}
both_backends!(escalation, ignored_nudges_page_the_services_on_call);

async fn no_commander_is_reminded_then_escalates(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let id = declare(&app, "P1", Some("checkout")).await;
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    let first = reminders(&app, id, "no_commander").await;
    assert_eq!(first.len(), 1);
    let text = first[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Nobody is commander of this P1 incident after 10m"),
        "{text}"
    );
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    let all = reminders(&app, id, "no_commander").await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["data"]["escalated"], true);
    // The P1's first update nudge is due at 30 minutes too, and says nobody is commander.
    let nudge = reminders(&app, id, "update").await;
    assert_eq!(nudge.len(), 1);
    assert!(
        nudge[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("No commander")
    );
    let (_, b) = app.get_json(&format!("/api/v1/incidents/{id}/pages")).await;
    assert_eq!(b["pages"].as_array().unwrap().len(), 1, "one page: {b}");
    assert_eq!(b["pages"][0]["person"], "bob");

    run(&app, id, "bob", "/inc role commander @bob").await;
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    assert_eq!(
        reminders(&app, id, "no_commander").await.len(),
        3,
        "a commander ends the reminders"
    );
}
both_backends!(no_commander, no_commander_is_reminded_then_escalates);

async fn a_restart_after_a_long_downtime_fires_one_reminder(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let id = declare(&app, "P0", None).await;
    run(&app, id, "alice", "/inc role commander @alice").await;
    clock.advance(Duration::minutes(3));
    let app = app.restart().await;
    // Down for five hours: twenty intervals missed, one reminder, the next 15 minutes from now.
    clock.advance(Duration::hours(5));
    // The restarted app's job loop ticks once when it starts and may be the one that fires it: count
    // the reminders, not the test's ticks.
    tick(&app).await;
    tick(&app).await;
    assert_eq!(
        reminders(&app, id, "update").await.len(),
        1,
        "one reminder, no flood after downtime"
    );
    clock.advance(Duration::minutes(14));
    assert_eq!(tick(&app).await, 0);
    clock.advance(Duration::minutes(1));
    tick(&app).await;
    assert_eq!(reminders(&app, id, "update").await.len(), 2);
}
both_backends!(restart, a_restart_after_a_long_downtime_fires_one_reminder);

/// Two replicas on one PostgreSQL ticking the same due reminder at once: it is posted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_fire_a_reminder_once() {
    if common::postgres_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(Utc::now());
    let db = TestDb::new(Backend::Postgres).await;
    let url_db = db.url.clone();
    let a = start(db, dir.path(), clock.clone()).await;
    let mut config = a.config.clone();
    config.database.url = url_db;
    let b = warroom::app::App::start_with_clock(config, clock.clone())
        .await
        .unwrap();
    let id = declare(&a, "P0", None).await;
    run(&a, id, "alice", "/inc role commander @alice").await;
    a.eventually("the opening's correlation", || async {
        a.engine().store().pending_jobs("correlate").await.unwrap() == 0
    })
    .await;
    clock.advance(Duration::minutes(15));
    for _ in 0..3 {
        let (x, y) = tokio::join!(
            warroom::engine::jobs::tick(a.engine()),
            warroom::engine::jobs::tick(&b.engine)
        );
        x.unwrap();
        y.unwrap();
    }
    assert_eq!(reminders(&a, id, "update").await.len(), 1, "posted once");
    assert_eq!(pending(&a, "reminder").await, 1, "one live timer");
    b.stop().await.unwrap();
}

fn dm_messages(fake: &FakeSlack, user: &str) -> Vec<Value> {
    fake.channels()
        .into_iter()
        .find(|c| c.id == format!("D{user}"))
        .map(|c| c.messages)
        .unwrap_or_default()
}

async fn an_action_item_due_is_dmed_to_its_owner_once(backend: Backend) {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    fake.configure(&mut config);
    config.catalog.path = path.display().to_string();
    config.changes.jobs_tick_ms = 3_600_000;
    let clock = TestClock::at(Utc::now());
    let app = TestApp::start_with_clock(db, config, Some(clock.clone())).await;
    let id = declare(&app, "P0", None).await;
    run(&app, id, "alice", "/inc role commander @alice").await;
    let bob = warroom::domain::Actor::named("bob", "bob", "web");
    let due = app.engine().now() + Duration::minutes(20);
    let item = app
        .engine()
        .add_action_item(id, "Add a checkout runbook", Some("alice"), Some(due), &bob)
        .await
        .unwrap();
    let done = app
        .engine()
        .add_action_item(id, "Page the vendor", Some("alice"), Some(due), &bob)
        .await
        .unwrap();
    let edit = warroom::engine::ActionEdit {
        status: Some("done".into()),
        ..Default::default()
    };
    app.engine()
        .edit_action_item(id, done.id, edit, &bob)
        .await
        .unwrap();
    assert_eq!(pending(&app, "reminder_action").await, 2);

    // 15 minutes: the room's nudge mentions the commander on Slack.
    clock.advance(Duration::minutes(15));
    tick(&app).await;
    let room = room_of(&app, id).await;
    drained(&app, id, 20).await;
    let posts: Vec<String> = fake
        .channels()
        .into_iter()
        .find(|c| c.id == room)
        .unwrap()
        .messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        posts
            .iter()
            .any(|p| p.contains("<@UALICE001> (commander): no status update")),
        "{posts:?}"
    );
    assert!(dm_messages(&fake, "UALICE001").is_empty(), "not due yet");

    clock.advance(Duration::minutes(5));
    tick(&app).await;
    let f = fake.clone();
    wait_until("alice is reminded by DM", 20, || {
        let f = f.clone();
        async move { !dm_messages(&f, "UALICE001").is_empty() }
    })
    .await;
    clock.advance(Duration::hours(1));
    tick(&app).await;
    drained(&app, id, 20).await;
    let dms = dm_messages(&fake, "UALICE001");
    assert_eq!(
        dms.len(),
        1,
        "once, and not for the item that is done: {dms:?}"
    );
    let text = dms[0]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Action item #{} of incident #{id}", item.id)),
        "{text}"
    );
    assert!(text.contains("Add a checkout runbook"), "{text}");
    let events = reminders(&app, id, "action_item").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["owner"], "alice");
    assert_eq!(events[0]["data"]["via"], json!(["slack"]));
    assert_eq!(pending(&app, "reminder_action").await, 0);
}
both_backends!(action_items, an_action_item_due_is_dmed_to_its_owner_once);

async fn remind_off_needs_the_respond_permission(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    config.catalog.path = path.display().to_string();
    config.changes.jobs_tick_ms = 3_600_000;
    // Once responders are listed, nobody else responds: bob may not silence the reminders.
    config.roles.insert(
        "responder".into(),
        warroom::config::Grants(vec!["alice".into()]),
    );
    let clock = TestClock::at(t0());
    let app = TestApp::start_with_clock(db, config, Some(clock.clone())).await;
    let id = declare(&app, "P0", None).await;
    let reply = app
        .command("/inc remind off", &web_ctx(Some(id), "bob"))
        .await;
    assert!(!reply.ok, "{}", reply.text);
    let refused = app.events_of(id, "refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["data"]["action"], "respond");
    assert!(reminders(&app, id, "off").await.is_empty());
    assert_eq!(pending(&app, "reminder").await, 1, "still reminding");
    run(&app, id, "alice", "/inc remind off").await;
    assert_eq!(pending(&app, "reminder").await, 0);
}
both_backends!(permission, remind_off_needs_the_respond_permission);
