//! Paging through the real app on both backends, with a clock the test moves: a P1 alert pages the
//! service's escalation policy; unacknowledged level 1 escalates to level 2 after its wait, the policy
//! repeats and then is exhausted; an acknowledgement stops it and gives MTTA; a restart in the middle
//! of an escalation loses nothing; the SMS webhook is signed and its signed callback acknowledges;
//! two replicas on one PostgreSQL send each page exactly once.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::alerts::alert_opens;
use common::{Backend, TestApp, TestClock, TestDb, test_config, web_ctx};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const CATALOG: &str = r#"
[[service]]
name = "checkout"
owner = "payments"
oncall = "primary"
escalation = "payments"

[[service]]
name = "search"
oncall = "primary"

[[person]]
id = "alice"

[[person]]
id = "bob"
webhook = "sms"
phone = "+15550100"
notify = [{ via = "web", after = "0m" }, { via = "webhook", after = "2m" }]

[[team]]
id = "payments"
members = ["alice", "bob"]

[[schedule]]
name = "primary"
timezone = "UTC"
[[schedule.layer]]
people = ["alice"]
shift = "1w"
start = "2026-01-05T09:00"

[[service]]
name = "ledger"
oncall = "weekend"
escalation = "ledger"

[[schedule]]
name = "weekend"
timezone = "UTC"
[[schedule.layer]]
people = ["alice"]
shift = "1w"
start = "2026-01-05T09:00"
restrict = ["sat-sun"]

[[escalation]]
name = "ledger"
[[escalation.level]]
targets = ["schedule:weekend"]
wait = "5m"
[[escalation.level]]
targets = ["person:bob"]
wait = "10m"

[[escalation]]
name = "payments"
repeat = 1
[[escalation.level]]
targets = ["schedule:primary"]
wait = "5m"
[[escalation.level]]
targets = ["person:bob"]
wait = "10m"
"#;

const SECRET: &str = "gateway-secret-0123456789";

/// The app on `db` with the catalog, alerts dispatched at once, jobs ticked only by the test.
async fn start(
    db: TestDb,
    dir: &std::path::Path,
    clock: Arc<TestClock>,
    gateway: Option<&str>,
) -> TestApp {
    let path = dir.join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let mut config = test_config(&db);
    config.catalog.path = path.display().to_string();
    config.alerts.group_wait = "0s".into();
    config.changes.jobs_tick_ms = 3_600_000;
    config.server.public_url = Some("https://warroom.example".into());
    if let Some(url) = gateway {
        config.oncall.webhooks.insert(
            "sms".into(),
            warroom::config::PageWebhook {
                url: url.into(),
                secret: SECRET.into(),
            },
        );
    }
    TestApp::start_with_clock(db, config, Some(clock)).await
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

/// Fires a P1 alert on `service` and dispatches it; returns the incident it opened.
async fn alert(app: &TestApp, service: &str) -> i64 {
    alert_opens(app, "CheckoutDown", service, "critical").await
}

async fn pages(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, b) = app.get_json(&format!("/api/v1/incidents/{id}/pages")).await;
    assert_eq!(s, 200, "{b}");
    b["pages"].as_array().unwrap().clone()
}

/// (recipient, level, round, status) of every page, oldest first.
async fn summary(app: &TestApp, id: i64) -> Vec<(String, i64, i64, String)> {
    pages(app, id)
        .await
        .iter()
        .map(|p| {
            (
                p["person"].as_str().unwrap_or("-").to_string(),
                p["level"].as_i64().unwrap(),
                p["round"].as_i64().unwrap(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(who: &str, level: i64, round: i64, status: &str) -> (String, i64, i64, String) {
    (who.into(), level, round, status.into())
}

async fn tick(app: &TestApp) -> usize {
    warroom::engine::jobs::tick(app.engine()).await.unwrap()
}

async fn escalation_follows_the_policy_then_is_exhausted(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    let id = alert(&app, "checkout").await;
    assert_eq!(summary(&app, id).await, vec![row("alice", 1, 0, "sent")]);

    clock.advance(Duration::minutes(4) + Duration::seconds(59));
    tick(&app).await;
    assert_eq!(
        summary(&app, id).await,
        vec![row("alice", 1, 0, "sent")],
        "level 1 waits its 5 minutes"
    );

    clock.advance(Duration::seconds(1));
    tick(&app).await;
    assert_eq!(
        summary(&app, id).await,
        vec![row("alice", 1, 0, "escalated"), row("bob", 2, 0, "sent")]
    );

    clock.advance(Duration::minutes(10));
    tick(&app).await;
    clock.advance(Duration::minutes(5));
    tick(&app).await;
    assert_eq!(
        summary(&app, id).await,
        vec![
            row("alice", 1, 0, "escalated"),
            row("bob", 2, 0, "escalated"),
            row("alice", 1, 1, "escalated"),
            row("bob", 2, 1, "sent"),
        ],
        "repeat = 1 runs the levels once more"
    );

    clock.advance(Duration::minutes(10));
    tick(&app).await;
    let last = summary(&app, id).await;
    assert_eq!(last[3], row("bob", 2, 1, "exhausted"));
    assert_eq!(
        app.engine()
            .store()
            .pending_jobs("page_escalate")
            .await
            .unwrap(),
        0,
        "nothing is left to escalate"
    );
    assert_eq!(app.events_of(id, "page_sent").await.len(), 4);
    assert_eq!(app.events_of(id, "page_escalated").await.len(), 3);
    let exhausted = app.events_of(id, "page_exhausted").await;
    assert_eq!(exhausted.len(), 1);
    assert_eq!(exhausted[0]["data"]["user"], "bob");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["mtta_seconds"], Value::Null, "nobody acknowledged");
    let (_, pm) = app
        .get_json(&format!("/api/v1/incidents/{id}/postmortem?format=json"))
        .await;
    let text = pm.to_string();
    assert!(text.contains("Paged alice (level 1)"), "{text}");
    assert!(text.contains("escalation exhausted"), "{text}");
}
both_backends!(
    escalation_timing,
    escalation_follows_the_policy_then_is_exhausted
);

async fn acknowledging_stops_the_escalation_and_gives_mtta(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    let id = alert(&app, "checkout").await;
    clock.advance(Duration::minutes(5));
    tick(&app).await;
    clock.advance(Duration::minutes(1));
    let reply = app.command("/inc ack", &web_ctx(Some(id), "bob")).await;
    assert!(reply.ok, "{}", reply.text);
    assert_eq!(
        summary(&app, id).await,
        vec![
            row("alice", 1, 0, "escalated"),
            row("bob", 2, 0, "acknowledged")
        ]
    );
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        inc["mtta_seconds"], 360,
        "MTTA is the first acknowledged page"
    );
    assert_eq!(inc["status"], "triaging");
    let acked = app.events_of(id, "page_acknowledged").await;
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0]["actor"], "bob");

    clock.advance(Duration::minutes(30));
    tick(&app).await;
    assert_eq!(
        summary(&app, id).await.len(),
        2,
        "nobody is paged after the acknowledgement"
    );
    assert_eq!(
        app.engine()
            .store()
            .pending_jobs("page_escalate")
            .await
            .unwrap(),
        0
    );
    // A second acknowledgement has nothing left to acknowledge.
    let again = app.command("/inc ack", &web_ctx(Some(id), "bob")).await;
    assert!(!again.ok);
}
both_backends!(
    acknowledgement,
    acknowledging_stops_the_escalation_and_gives_mtta
);

async fn a_level_that_reaches_nobody_says_so_and_escalates_at_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    // A Monday: the weekend schedule of level 1 has nobody on call.
    let id = alert(&app, "ledger").await;
    assert_eq!(
        summary(&app, id).await,
        vec![row("bob", 2, 0, "sent")],
        "level 2 is paged at once"
    );
    let gaps = app.events_of(id, "page_escalated").await;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["data"]["reason"], "nobody_reached");
    assert_eq!(gaps[0]["data"]["level"], 1);
    assert_eq!(gaps[0]["data"]["target"], "schedule:weekend");
    let text = gaps[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Level 1 of ledger reached nobody"),
        "{text}"
    );
    assert_eq!(app.events_of(id, "page_sent").await.len(), 1);

    // Bob does not answer: level 2 was the last, the chain is exhausted as usual.
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    assert_eq!(summary(&app, id).await, vec![row("bob", 2, 0, "exhausted")]);
    let (_, pm) = app
        .get_json(&format!("/api/v1/incidents/{id}/postmortem?format=json"))
        .await;
    let text = pm.to_string();
    assert!(
        text.contains("Level 1 reached nobody (schedule:weekend)"),
        "{text}"
    );
}
both_backends!(
    nobody_reached,
    a_level_that_reaches_nobody_says_so_and_escalates_at_once
);

async fn resolving_stops_the_pages_and_cancels_their_timers(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    let id = alert(&app, "checkout").await;
    let store = app.engine().store().clone();
    assert_eq!(store.pending_jobs("page_escalate").await.unwrap(), 1);
    let reply = app
        .command("/inc resolve", &web_ctx(Some(id), "carol"))
        .await;
    assert!(reply.ok, "{}", reply.text);
    // In the resolving unit itself: no tick has run.
    assert_eq!(
        store.pending_jobs("page_escalate").await.unwrap(),
        0,
        "the escalation timer is cancelled"
    );
    let all = pages(&app, id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["status"], "exhausted");
    assert_eq!(all[0]["stop_reason"], "incident_resolved");
    let stopped = app.events_of(id, "page_exhausted").await;
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["data"]["reason"], "incident_resolved");
    assert_eq!(stopped[0]["data"]["user"], "alice");

    // Its wait passes: nobody else is paged.
    clock.advance(Duration::minutes(30));
    tick(&app).await;
    assert_eq!(pages(&app, id).await.len(), 1, "nobody is paged any more");
    assert_eq!(app.events_of(id, "page_sent").await.len(), 1);
}
both_backends!(
    resolve_stops_paging,
    resolving_stops_the_pages_and_cancels_their_timers
);

async fn on_demand_pages_follow_their_target(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    // P3 on a service with a schedule only: below oncall.page_at, nobody is paged by policy.
    let id = alert_opens(&app, "Slow", "search", "warning").await;
    assert!(pages(&app, id).await.is_empty());

    let reply = app
        .command("/inc page team:payments", &web_ctx(Some(id), "alice"))
        .await;
    assert!(reply.ok, "{}", reply.text);
    assert!(reply.text.contains("alice, bob"), "{}", reply.text);
    let (s, b) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/pages"),
            json!({"target": "schedule:primary"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["pages"][0]["person"], "alice");
    let (s, b) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/pages"),
            json!({"target": "nobody-at-all"}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("target"),
        "{b}"
    );
    let (s, _) = app
        .post_json("/api/v1/incidents/9999/pages", json!({"target": "@alice"}))
        .await;
    assert_eq!(s, 404);
    // An on-demand page waits oncall.page_wait (5m) and is then exhausted.
    clock.advance(Duration::minutes(5));
    tick(&app).await;
    let statuses: Vec<String> = summary(&app, id).await.into_iter().map(|r| r.3).collect();
    assert_eq!(statuses, vec!["exhausted"; 3]);

    // The web notification: alice's open pages on /pages, each with an Acknowledge button.
    let (s, b) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/pages"),
            json!({"target": "@alice"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let page = b["pages"][0]["id"].as_i64().unwrap();
    let resp = app
        .client
        .post(app.url("/name"))
        .form(&[("name", "alice")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let html = app.get_text("/pages").await;
    assert!(html.contains(&format!("data-page=\"{page}\"")), "{html}");
    assert_eq!(
        html.matches("class=\"page\"").count(),
        1,
        "only open pages: {html}"
    );
    let resp = app
        .client
        .post(app.url(&format!("/pages/{page}/ack")))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert!(app.get_text("/pages").await.contains("id=\"no-pages\""));
    let last = summary(&app, id).await.pop().unwrap();
    assert_eq!(last, row("alice", 1, 0, "acknowledged"));
}
both_backends!(on_demand, on_demand_pages_follow_their_target);

async fn a_restart_in_the_middle_of_an_escalation_loses_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone(), None).await;
    let id = alert(&app, "checkout").await;
    clock.advance(Duration::minutes(3));
    let app = app.restart().await;
    // Down for an hour: the due timer fires once, and the next level waits its whole wait from now.
    clock.advance(Duration::hours(1));
    tick(&app).await;
    assert_eq!(
        summary(&app, id).await,
        vec![row("alice", 1, 0, "escalated"), row("bob", 2, 0, "sent")]
    );
    tick(&app).await;
    assert_eq!(summary(&app, id).await.len(), 2, "no flood after downtime");
    clock.advance(Duration::minutes(10));
    tick(&app).await;
    assert_eq!(summary(&app, id).await.len(), 3);
}
both_backends!(
    restart,
    a_restart_in_the_middle_of_an_escalation_loses_nothing
);

/// A local SMS gateway: records every request (headers and body) and answers 200.
#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

impl Gateway {
    async fn start() -> (Gateway, String) {
        let g = Gateway::default();
        let seen = g.seen.clone();
        let app = axum::Router::new().route(
            "/page",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (g, format!("http://{addr}/page"))
    }

    fn requests(&self) -> Vec<(axum::http::HeaderMap, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn sign(ts: &str, body: &str) -> String {
    warroom::domain::oncall::paging::signature(SECRET, ts, body.as_bytes())
}

async fn callback(app: &TestApp, page: i64, ts: &str, sig: &str, body: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/hooks/pages/{page}/ack")))
        .header("content-type", "application/json")
        .header("x-warroom-timestamp", ts)
        .header("x-warroom-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    common::split(resp).await
}

async fn the_gateway_is_paged_signed_and_its_callback_acknowledges(backend: Backend) {
    let (gateway, url) = Gateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(Utc::now());
    let app = start(
        TestDb::new(backend).await,
        dir.path(),
        clock.clone(),
        Some(&url),
    )
    .await;
    let id = common::declare(&app, "Payments down", "P3").await;
    let (s, b) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/pages"),
            json!({"target": "@bob"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let page = b["pages"][0]["id"].as_i64().unwrap();
    // bob's rules: the web notification at once, the phone after 2 minutes if still unacknowledged.
    app.eventually("the web notification is delivered", || async {
        app.engine().store().outbox_counts().await.unwrap().pending == 0
    })
    .await;
    assert!(gateway.requests().is_empty(), "the phone waits 2 minutes");
    clock.advance(Duration::minutes(2));
    tick(&app).await;
    let g = gateway.clone();
    app.eventually("the gateway is called", || {
        let g = g.clone();
        async move { !g.requests().is_empty() }
    })
    .await;
    let (headers, body) = gateway.requests()[0].clone();
    let ts = headers["x-warroom-timestamp"].to_str().unwrap();
    assert_eq!(
        headers["x-warroom-signature"].to_str().unwrap(),
        sign(ts, &body)
    );
    assert!(
        headers["idempotency-key"]
            .to_str()
            .unwrap()
            .starts_with(&format!("page:{page}:")),
        "{headers:?}"
    );
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["page"], page);
    assert_eq!(sent["phone"], "+15550100");
    assert_eq!(
        sent["ack_url"],
        format!("https://warroom.example/hooks/pages/{page}/ack")
    );

    let now = clock_secs(&app);
    let body = r#"{"digits":"1"}"#;
    let (s, _) = callback(&app, page, &now, "sha256=00", body).await;
    assert_eq!(s, 401, "a wrong signature is refused");
    let stale = (Utc::now().timestamp() - 3600).to_string();
    let (s, b) = callback(&app, page, &stale, &sign(&stale, body), body).await;
    assert_eq!(s, 401, "an old callback is refused: {b}");
    let (s, _) = callback(&app, 999_999, &now, &sign(&now, body), body).await;
    assert_eq!(s, 401, "an unknown page looks like a bad signature");
    assert_eq!(pages(&app, id).await[0]["status"], "sent");
    let (s, b) = callback(&app, page, &now, &sign(&now, body), body).await;
    assert_eq!(s, 200, "{b}");
    let p = &pages(&app, id).await[0];
    assert_eq!(p["status"], "acknowledged");
    assert_eq!(p["acknowledged_by"], "bob");
    // A gateway that retries its callback is told there is nothing left to acknowledge.
    let (s, _) = callback(&app, page, &now, &sign(&now, body), body).await;
    assert_eq!(s, 409);
}
both_backends!(
    webhook_gateway,
    the_gateway_is_paged_signed_and_its_callback_acknowledges
);

fn clock_secs(app: &TestApp) -> String {
    app.engine().now().timestamp().to_string()
}

/// Two replicas on one PostgreSQL, both ticking the same due timer at once: level 2 is paged once
/// and the gateway is called once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_page_once() {
    if common::postgres_url().is_none() {
        return;
    }
    let (gateway, url) = Gateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(Utc::now());
    let db = TestDb::new(Backend::Postgres).await;
    let url_db = db.url.clone();
    let a = start(db, dir.path(), clock.clone(), Some(&url)).await;
    let mut config = a.config.clone();
    config.database.url = url_db;
    let b = warroom::app::App::start_with_clock(config, clock.clone())
        .await
        .unwrap();
    let id = alert(&a, "checkout").await;
    // The opening's own follow-up (correlation) finishes first: the clock jump below would expire its
    // lease were it still running, and the count below is the timer's alone.
    a.eventually("the opening's correlation", || async {
        a.engine().store().pending_jobs("correlate").await.unwrap() == 0
    })
    .await;
    clock.advance(Duration::minutes(5));
    let (x, y) = tokio::join!(
        warroom::engine::jobs::tick(a.engine()),
        warroom::engine::jobs::tick(&b.engine)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1, "one replica claims the timer");
    clock.advance(Duration::minutes(2));
    for _ in 0..3 {
        let (x, y) = tokio::join!(
            warroom::engine::jobs::tick(a.engine()),
            warroom::engine::jobs::tick(&b.engine)
        );
        x.unwrap();
        y.unwrap();
    }
    assert_eq!(
        summary(&a, id).await,
        vec![row("alice", 1, 0, "escalated"), row("bob", 2, 0, "sent")]
    );
    let g = gateway.clone();
    a.eventually("the gateway is called", || {
        let g = g.clone();
        async move { !g.requests().is_empty() }
    })
    .await;
    a.eventually("both replicas' outboxes are drained", || async {
        a.engine().store().outbox_counts().await.unwrap().pending == 0
    })
    .await;
    assert_eq!(gateway.requests().len(), 1, "bob's phone rings once");
    b.stop().await.unwrap();
}
