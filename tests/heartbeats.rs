//! Heartbeats (a dead man's switch) through the real app on both backends, with a clock the test
//! moves: beats keep it quiet; a silent interval opens one incident on the service and pages by its
//! policy; a restart after long downtime opens one, not one per missed interval; resumed beats are
//! recorded and resolve; a still-open missed-heartbeat incident is not opened again; two replicas on
//! PostgreSQL open exactly one; the hook refuses a caller without the token.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{Backend, TestApp, TestClock, TestDb, test_config};
use serde_json::Value;
use std::sync::Arc;

const CATALOG: &str = r#"
[[service]]
name = "checkout"
escalation = "payments"

[[person]]
id = "alice"

[[escalation]]
name = "payments"
[[escalation.level]]
targets = ["person:alice"]
wait = "5m"

[[heartbeat]]
name = "prometheus"
service = "checkout"
interval = "5m"

[[heartbeat]]
name = "nightly-backup"
service = "checkout"
interval = "1h"
severity = "P3"
auto_resolve = false
"#;

const TOKEN: &str = "heartbeat-token-0123456789";
const WATCHDOG: &str = "../shared/fixtures/alertmanager/firing-single-warning.json";

/// The app on `db` with the catalog and a heartbeat token; jobs are ticked only by the test.
async fn start(db: TestDb, dir: &std::path::Path, clock: Arc<TestClock>) -> TestApp {
    let path = dir.join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let mut config = test_config(&db);
    config.catalog.path = path.display().to_string();
    config.changes.jobs_tick_ms = 3_600_000;
    config.ingest.heartbeat.token = Some(TOKEN.into());
    // The P1 a miss opens has no commander, so the reminders would page its on-call after three
    // "no commander" reminders (tests/reminders.rs covers that); here the pages counted are the
    // heartbeat's own.
    config.reminders.enabled = false;
    TestApp::start_with_clock(db, config, Some(clock)).await
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

/// POSTs a beat of `name` with `token` and `body`.
async fn beat_with(
    app: &TestApp,
    name: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(&format!("/hooks/heartbeat/{name}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    common::split(req.send().await.unwrap()).await
}

/// A beat with the token and no body.
async fn beat(app: &TestApp, name: &str) {
    let (s, b) = beat_with(app, name, Some(TOKEN), None).await;
    assert_eq!(s, 200, "{b}");
}

/// A beat with the token and the real Alertmanager webhook body.
async fn watchdog(app: &TestApp, name: &str) -> Value {
    let body = std::fs::read_to_string(WATCHDOG).unwrap();
    let (s, b) = beat_with(app, name, Some(TOKEN), Some(body)).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn tick(app: &TestApp) -> usize {
    warroom::engine::jobs::tick(app.engine()).await.unwrap()
}

/// The incidents a miss of heartbeat `name` opened (id, status, severity), oldest first.
async fn missed(app: &TestApp, name: &str) -> Vec<(i64, String, String)> {
    let (s, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(s, 200, "{list}");
    let prefix = format!("Heartbeat {name} missed");
    let mut out: Vec<(i64, String, String)> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"].as_str().unwrap().starts_with(&prefix))
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["status"].as_str().unwrap().to_string(),
                i["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Heartbeat `name` as `GET /api/v1/heartbeats` shows it.
async fn state(app: &TestApp, name: &str) -> Value {
    let (s, b) = app.get_json("/api/v1/heartbeats").await;
    assert_eq!(s, 200, "{b}");
    b["heartbeats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .cloned()
        .unwrap()
}

async fn checks(app: &TestApp) -> i64 {
    app.engine()
        .store()
        .pending_jobs("heartbeat_check")
        .await
        .unwrap()
}

/// Waits for the follow-ups (correlation) of an opening, so a clock jump cannot expire their lease.
async fn settle(app: &TestApp) {
    app.eventually("the opening's follow-ups", || async {
        app.engine()
            .store()
            .pending_jobs("correlate")
            .await
            .unwrap()
            == 0
    })
    .await;
}

async fn beats_keep_it_quiet(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    assert_eq!(
        checks(&app).await,
        2,
        "start-up arms one check per heartbeat"
    );
    for _ in 0..10 {
        beat(&app, "prometheus").await;
        clock.advance(Duration::minutes(4));
        tick(&app).await;
        assert_eq!(checks(&app).await, 2, "one pending check per heartbeat");
    }
    assert!(missed(&app, "prometheus").await.is_empty());
    let hb = state(&app, "prometheus").await;
    assert_eq!(hb["status"], "ok");
    assert_eq!(hb["beats"], 10);
    assert_eq!(hb["last_source"], "empty");
    assert_eq!(hb["interval"], "5m");
    assert_eq!(hb["severity"], "P1");
}
both_backends!(quiet, beats_keep_it_quiet);

async fn a_missed_interval_opens_one_incident_and_pages(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let answer = watchdog(&app, "prometheus").await;
    assert_eq!(answer["heartbeat"]["last_source"], "alertmanager");

    clock.advance(Duration::minutes(4) + Duration::seconds(59));
    tick(&app).await;
    assert!(
        missed(&app, "prometheus").await.is_empty(),
        "the interval has not run out"
    );
    clock.advance(Duration::seconds(1));
    tick(&app).await;
    let opened = missed(&app, "prometheus").await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    let (id, status, severity) = opened[0].clone();
    assert_eq!((status.as_str(), severity.as_str()), ("declared", "P1"));
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        inc["title"],
        "Heartbeat prometheus missed: no signal since 2026-11-02 10:00:00 UTC"
    );
    assert_eq!(inc["service"], "checkout");
    assert_eq!(
        inc["mtta_seconds"],
        Value::Null,
        "MTTA waits for the page's acknowledgement"
    );
    let pages = app.events_of(id, "page_sent").await;
    assert_eq!(pages.len(), 1, "the service's policy pages");
    assert_eq!(pages[0]["data"]["user"], "alice");
    let notes = app.events_of(id, "note").await;
    assert!(
        notes[0]["text"]
            .as_str()
            .unwrap()
            .contains("the last beat came at 2026-11-02 10:00:00 UTC (alertmanager)"),
        "{notes:?}"
    );
    let hb = state(&app, "prometheus").await;
    assert_eq!(hb["status"], "missed");
    assert_eq!(hb["incident"], id);
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains("warroom_heartbeat_up{heartbeat=\"prometheus\"} 0"),
        "{metrics}"
    );
    settle(&app).await;

    // Silence goes on: no second incident, no second page.
    for _ in 0..6 {
        clock.advance(Duration::minutes(5));
        tick(&app).await;
    }
    assert_eq!(missed(&app, "prometheus").await.len(), 1);
    assert_eq!(app.events_of(id, "page_sent").await.len(), 1);

    // Beats resume: recorded on the timeline and the incident resolves the way a person resolves it.
    clock.advance(Duration::minutes(2));
    beat(&app, "prometheus").await;
    let notes = app.events_of(id, "note").await;
    let resumed = notes
        .iter()
        .find(|n| n["data"]["state"] == "resumed")
        .expect("the resumed beat is on the timeline");
    assert!(
        resumed["text"]
            .as_str()
            .unwrap()
            .starts_with("Heartbeat prometheus resumed at 2026-11-02 10:37:00 UTC after 37m"),
        "{resumed}"
    );
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "resolved");
    let changed = app.events_of(id, "status_changed").await;
    assert!(
        changed.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .ends_with("heartbeat prometheus resumed"),
        "{changed:?}"
    );
    assert_eq!(state(&app, "prometheus").await["status"], "ok");
    assert_eq!(checks(&app).await, 2, "the beat armed the next check");
    settle(&app).await;

    // Silence again: a new incident, since the last one is resolved.
    clock.advance(Duration::minutes(5));
    tick(&app).await;
    assert_eq!(missed(&app, "prometheus").await.len(), 2);
}
both_backends!(
    missed_interval,
    a_missed_interval_opens_one_incident_and_pages
);

async fn a_still_open_missed_incident_is_not_opened_again(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    // nightly-backup never beat: the first hour after warroom began watching is its interval.
    clock.advance(Duration::hours(1));
    tick(&app).await;
    let opened = missed(&app, "nightly-backup").await;
    assert_eq!(opened.len(), 1);
    let (id, _, severity) = opened[0].clone();
    assert_eq!(severity, "P3");
    assert!(
        app.events_of(id, "page_sent").await.is_empty(),
        "P3 is below oncall.page_at"
    );
    let notes = app.events_of(id, "note").await;
    assert!(
        notes[0]["text"]
            .as_str()
            .unwrap()
            .contains("none came since warroom began watching at 2026-11-02 10:00:00 UTC"),
        "{notes:?}"
    );
    settle(&app).await;
    // auto_resolve = false: the beat is recorded, the incident stays open.
    clock.advance(Duration::minutes(10));
    beat(&app, "nightly-backup").await;
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "declared");
    assert!(app.events_of(id, "note").await.iter().any(|n| {
        n["data"]["state"] == "resumed"
            && n["text"]
                .as_str()
                .unwrap()
                .contains("resolving stays your decision")
    }));
    // Missed again while that incident is open: recorded on it, no second incident.
    clock.advance(Duration::hours(1));
    tick(&app).await;
    assert_eq!(missed(&app, "nightly-backup").await.len(), 1);
    let again: Vec<Value> = app
        .events_of(id, "note")
        .await
        .into_iter()
        .filter(|n| {
            n["text"]
                .as_str()
                .unwrap()
                .starts_with("Heartbeat nightly-backup missed again")
        })
        .collect();
    assert_eq!(again.len(), 1);
}
both_backends!(still_open, a_still_open_missed_incident_is_not_opened_again);

async fn a_restart_after_long_downtime_opens_one(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    beat(&app, "prometheus").await;
    clock.advance(Duration::minutes(2));
    let app = app.restart().await;
    assert_eq!(checks(&app).await, 2, "the restart arms nothing twice");
    // Down for three hours: 36 intervals of prometheus, 3 of nightly-backup, one incident each.
    clock.advance(Duration::hours(3));
    tick(&app).await;
    tick(&app).await;
    let prometheus = missed(&app, "prometheus").await;
    assert_eq!(prometheus.len(), 1, "{prometheus:?}");
    assert_eq!(missed(&app, "nightly-backup").await.len(), 1);
    assert_eq!(app.events_of(prometheus[0].0, "page_sent").await.len(), 1);
    assert_eq!(checks(&app).await, 0, "a miss waits for the next beat");
    settle(&app).await;
    clock.advance(Duration::hours(1));
    tick(&app).await;
    assert_eq!(
        missed(&app, "prometheus").await.len(),
        1,
        "no flood after downtime"
    );
}
both_backends!(restart, a_restart_after_long_downtime_opens_one);

async fn the_hook_checks_its_caller_and_its_input(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(TestDb::new(backend).await, dir.path(), clock.clone()).await;
    let (s, b) = beat_with(&app, "prometheus", None, None).await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "unauthorized");
    let (s, b) = beat_with(&app, "prometheus", Some("wrong"), None).await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = beat_with(&app, "nobody", Some(TOKEN), None).await;
    assert_eq!(s, 404, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("nobody"),
        "{b}"
    );
    let (s, b) = beat_with(&app, "prometheus", Some(TOKEN), Some("not json".into())).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "invalid_body");
    let (s, b) = beat_with(
        &app,
        "prometheus",
        Some(TOKEN),
        Some(r#"{"alerts": 3}"#.into()),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains("alerts"),
        "{b}"
    );
    // The Watchdog resolved is silence, not a beat.
    let resolved = r#"{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Watchdog"}}]}"#;
    let (s, b) = beat_with(&app, "prometheus", Some(TOKEN), Some(resolved.into())).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["status"], "ignored");
    assert_eq!(state(&app, "prometheus").await["beats"], 0);
    let (s, _) = app.get_json("/api/v1/heartbeats").await;
    assert_eq!(s, 200);
    let (s, b) = beat_with(&app, "prometheus", Some(TOKEN), Some("{}".into())).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["heartbeat"]["last_source"], "json");
    assert_eq!(b["heartbeat"]["beats"], 1);
}
both_backends!(hook_input, the_hook_checks_its_caller_and_its_input);

/// The database away is a 503 with the JSON error, as on every route (SQLite held busy beyond its
/// busy timeout by another writer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_is_a_503() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let app = start(
        TestDb::new(Backend::Sqlite).await,
        dir.path(),
        clock.clone(),
    )
    .await;
    let mut blocker = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let (s, b) = beat_with(&app, "prometheus", Some(TOKEN), None).await;
    assert_eq!(s, 503, "{b}");
    assert!(b["error"]["code"].is_string(), "{b}");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    drop(blocker);
    beat(&app, "prometheus").await;
}

/// Two replicas on one PostgreSQL: beats through either land on one row, and when the interval runs
/// out with both ticking at once, exactly one incident opens and alice is paged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_open_exactly_one() {
    if common::postgres_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::at(t0());
    let db = TestDb::new(Backend::Postgres).await;
    let url_db = db.url.clone();
    let a = start(db, dir.path(), clock.clone()).await;
    let mut config = a.config.clone();
    config.database.url = url_db;
    let b = warroom::app::App::start_with_clock(config, clock.clone())
        .await
        .unwrap();
    assert_eq!(checks(&a).await, 2, "both replicas armed: one check each");
    let b_url = format!("http://{}/hooks/heartbeat/prometheus", b.addr);
    let (x, y) = tokio::join!(beat_with(&a, "prometheus", Some(TOKEN), None), async {
        let resp = a
            .client
            .post(&b_url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        common::split(resp).await
    });
    assert_eq!((x.0, y.0), (200, 200), "{x:?} {y:?}");
    assert_eq!(state(&a, "prometheus").await["beats"], 2);
    assert_eq!(checks(&a).await, 2);
    clock.advance(Duration::minutes(6));
    for _ in 0..3 {
        let (x, y) = tokio::join!(
            warroom::engine::jobs::tick(a.engine()),
            warroom::engine::jobs::tick(&b.engine)
        );
        x.unwrap();
        y.unwrap();
    }
    let opened = missed(&a, "prometheus").await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(a.events_of(opened[0].0, "page_sent").await.len(), 1);
    settle(&a).await;
    b.stop().await.unwrap();
}
