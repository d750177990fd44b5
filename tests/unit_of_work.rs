//! One use-case, one transaction: a web command commits its event, its change and its answer
//! together; follow-ups (the postmortem draft, correlation) are jobs of the same unit, so a process
//! that stops right after a commit loses none of them; auto-resolve resolves the way a person does.

mod common;

use common::{Backend, TestApp, TestDb, declare, test_config};
use serde_json::{Value, json};
use std::sync::Arc;
use warroom::domain::{Actor, Catalog, EventKind, IncidentType, Severity, Status};
use warroom::engine::{Declare, Engine, Hub, SystemClock, jobs};
use warroom::store::Store;

async fn engine_on(db: &TestDb) -> (Engine, Store) {
    let store = Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        Hub::default(),
        vec!["web".into()],
        Arc::new(test_config(db)),
        Arc::new(Catalog::new(Vec::new()).unwrap()),
    );
    (engine, store)
}

async fn a_resolve_cut_short_is_finished_by_the_jobs_tick_after_a_restart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (engine, store) = engine_on(&db).await;
    // This process commits its use-cases but stops before it runs their follow-ups.
    let engine = engine.with_follow_ups_in_worker();
    let alice = Actor::named("alice", "alice", "web");
    let declare = Declare {
        title: "Checkout returns 5xx".into(),
        severity: Severity::P2,
        kind: IncidentType::Outage,
        service: Some("checkout".into()),
    };
    let id = engine.declare(declare, &alice).await.unwrap().id;
    engine
        .set_status(id, Status::Mitigating, &alice)
        .await
        .unwrap();
    engine
        .set_status(id, Status::Resolved, &alice)
        .await
        .unwrap();
    assert!(
        store.postmortem(id).await.unwrap().is_none(),
        "not built yet"
    );
    assert_eq!(store.pending_jobs("postmortem").await.unwrap(), 1);
    assert_eq!(store.pending_jobs("correlate").await.unwrap(), 1);
    drop(engine);
    store.close().await;

    // The restarted process: its jobs tick builds the draft the resolve enqueued.
    let (engine, store) = engine_on(&db).await;
    assert_eq!(jobs::tick(&engine).await.unwrap(), 2);
    let stored = store.postmortem(id).await.unwrap().expect("draft built");
    assert_eq!(stored.postmortem.generated, "resolve");
    let events = store.timeline(id, 0, 1000).await.unwrap();
    let drafts: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Postmortem)
        .collect();
    assert_eq!(drafts.len(), 1, "one postmortem event");
    let posts = store.outbox_for_incident(id).await.unwrap();
    let announced = posts
        .iter()
        .filter(|(e, _)| {
            e.payload["text"]
                .as_str()
                .unwrap_or("")
                .contains("Postmortem draft")
        })
        .count();
    assert_eq!(announced, 1, "the draft is announced once");
    assert_eq!(store.pending_jobs("postmortem").await.unwrap(), 0);
    assert_eq!(jobs::tick(&engine).await.unwrap(), 0, "nothing left to do");
    store.close().await;
}
both_backends!(
    restart,
    a_resolve_cut_short_is_finished_by_the_jobs_tick_after_a_restart
);

async fn timeline(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=500"))
        .await;
    assert_eq!(s, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

const AM_FIRING_TWO: &str = include_str!("fixtures/alertmanager/firing-group-of-two.json");

async fn auto_resolve_resolves_like_a_person_and_builds_the_postmortem(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 20;
        c.alerts.auto_resolve = true;
    })
    .await;
    let post = |body: String| {
        let req = app
            .client
            .post(app.url("/hooks/alertmanager"))
            .header("content-type", "application/json")
            .body(body);
        async move { common::split(req.send().await.unwrap()).await }
    };
    let (s, b) = post(AM_FIRING_TWO.to_string()).await;
    assert_eq!(s, 200, "{b}");
    app.engine().dispatch_due().await.unwrap();
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let id = list["incidents"][0]["id"].as_i64().expect("an incident");
    let resolved = AM_FIRING_TWO
        .replace("\"status\": \"firing\"", "\"status\": \"resolved\"")
        .replace(
            "\"endsAt\": \"0001-01-01T00:00:00Z\"",
            "\"endsAt\": \"2026-11-21T23:50:00Z\"",
        );
    let (s, b) = post(resolved).await;
    assert_eq!(s, 200, "{b}");
    app.engine().dispatch_due().await.unwrap();
    app.eventually("the incident resolved", || async {
        let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
        inc["status"] == "resolved"
    })
    .await;
    let events = timeline(&app, id).await;
    let changed: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "status_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{events:?}");
    assert_eq!(changed[0]["actor"], "warroom");
    assert_eq!(
        changed[0]["text"],
        "warroom changed the status from declared to resolved: every alert resolved"
    );
    // The follow-up committed with the resolve ran right after it: the draft exists.
    app.eventually("the postmortem draft", || async {
        timeline(&app, id)
            .await
            .iter()
            .any(|e| e["kind"] == "postmortem")
    })
    .await;
    let (s, pm) = app
        .get_json(&format!("/api/v1/incidents/{id}/postmortem"))
        .await;
    assert_eq!(s, 200, "{pm}");
    assert_eq!(pm["generated"], "resolve", "{pm}");
}
both_backends!(
    auto_resolve,
    auto_resolve_resolves_like_a_person_and_builds_the_postmortem
);

async fn join(app: &TestApp, name: &str) {
    let resp = app
        .client
        .post(app.url("/name"))
        .form(&[("name", name), ("back", "/")])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_redirection());
}

async fn say(app: &TestApp, id: i64, text: &str) -> Value {
    let (s, b) = app
        .post_json(&format!("/incidents/{id}/messages"), json!({"text": text}))
        .await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn outbox(app: &TestApp, id: i64) -> Vec<warroom::store::OutboxEntry> {
    app.engine()
        .store()
        .outbox_for_incident(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(e, _)| e)
        .collect()
}

async fn a_web_command_commits_its_event_change_and_answer_together(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "Search is slow", "P2").await;
    join(&app, "alice").await;
    let b = say(&app, id, "/inc role commander @me").await;
    assert_eq!(b["ok"], true, "{b}");
    let (events_before, posts_before) = (timeline(&app, id).await, outbox(&app, id).await);

    let b = say(&app, id, "/inc mitigate").await;
    assert_eq!(
        b["reply"]["text"],
        format!("Incident #{id} is now mitigating.")
    );
    let events = timeline(&app, id).await;
    let new: Vec<&Value> = events[events_before.len()..].iter().collect();
    let kinds: Vec<&str> = new.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["status_changed", "command"], "{new:?}");
    assert_eq!(new[1]["text"], "/inc mitigate");
    let posts = outbox(&app, id).await;
    let new_posts = &posts[posts_before.len()..];
    // The web room shows the answer folded into the command's own event (it carries the result), so
    // no second bot line is posted there; the answer committed with the change it reports.
    assert!(new_posts.is_empty(), "no separate web post: {new_posts:?}");
    assert_eq!(
        new[1]["data"]["result"],
        format!("Incident #{id} is now mitigating.")
    );
    let (s, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!((s, inc["status"].as_str()), (200, Some("mitigating")));

    // A command that writes and then fails leaves only its command event: what it wrote is undone.
    let (s, c) = app
        .post_json(
            "/api/v1/changes",
            json!({"kind": "deploy", "service": "search", "summary": "Deploy search v2", "status": "done"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let change = c["change"]["id"].as_i64().or(c["id"].as_i64()).unwrap();
    let before = timeline(&app, id).await.len();
    let audit_before = app.get_json("/api/v1/audit?limit=500").await.1["entries"]
        .as_array()
        .map_or(0, Vec::len);
    let b = say(&app, id, &format!("/inc rollback chg-{change}")).await;
    assert_eq!(b["ok"], false, "{b}");
    assert!(
        b["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("no rollback hook"),
        "{b}"
    );
    let events = timeline(&app, id).await;
    let kinds: Vec<&str> = events[before..]
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["command"], "{events:?}");
    assert_eq!(events.last().unwrap()["data"]["ok"], false);
    let audit_after = app.get_json("/api/v1/audit?limit=500").await.1["entries"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(
        audit_after, audit_before,
        "the rollback's audit row is undone"
    );
    let (_, c) = app.get_json(&format!("/api/v1/changes/chg-{change}")).await;
    assert_eq!(c["change"]["status"], "done", "{c}");
}
both_backends!(
    web_command,
    a_web_command_commits_its_event_change_and_answer_together
);

/// Runs `statement` on the app's database through a connection of its own, as an operator would.
async fn sql(app: &TestApp, statement: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.config.database.url)
        .await
        .expect("connect to the app's database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut conn)
        .await
        .expect("run SQL");
    conn.close().await.unwrap();
}

/// Counts rows of `table` on the app's database.
async fn count(app: &TestApp, table: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.config.database.url)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

/// A real fault inside the database: every job written for an incident whose title holds
/// `[fault]` is refused by a trigger, so a use-case that writes one fails mid-unit.
async fn install_fault(app: &TestApp, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            sql(
                app,
                "CREATE TRIGGER fault_jobs BEFORE INSERT ON jobs \
                 WHEN (SELECT title FROM incidents WHERE id = json_extract(NEW.payload, '$.incident')) \
                 LIKE '%[fault]%' BEGIN SELECT RAISE(ABORT, 'injected fault: jobs refused'); END",
            )
            .await
        }
        Backend::Postgres => {
            sql(
                app,
                "CREATE FUNCTION fault_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF (SELECT title FROM incidents WHERE id = (NEW.payload::jsonb->>'incident')::bigint) \
                 LIKE '%[fault]%' THEN RAISE EXCEPTION 'injected fault: jobs refused'; END IF; \
                 RETURN NEW; END $$",
            )
            .await;
            sql(
                app,
                "CREATE TRIGGER fault_jobs BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION fault_jobs()",
            )
            .await
        }
    }
}

async fn remove_fault(app: &TestApp, backend: Backend) {
    match backend {
        Backend::Sqlite => sql(app, "DROP TRIGGER fault_jobs").await,
        Backend::Postgres => sql(app, "DROP TRIGGER fault_jobs ON jobs").await,
    }
}

/// Everything a use-case may write, counted across the database.
async fn written(app: &TestApp) -> [i64; 5] {
    [
        count(app, "incidents").await,
        count(app, "timeline_events").await,
        count(app, "outbox").await,
        count(app, "jobs").await,
        count(app, "audit_log").await,
    ]
}

/// The JSON error a failed write answers with: no internals (no SQL, no trigger text).
fn assert_honest_error(status: u16, body: &Value) {
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal", "{body}");
    assert_eq!(body["error"]["message"], "internal storage error", "{body}");
    assert!(!body.to_string().contains("fault"), "no internals: {body}");
}

async fn a_fault_mid_commit_leaves_nothing_and_the_retry_succeeds_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "Checkout [fault] returns 5xx", "P2").await;
    join(&app, "alice").await;
    let b = say(&app, id, "/inc role commander @me").await;
    assert_eq!(b["ok"], true, "{b}");
    app.eventually("the declare's correlation ran", || async {
        app.engine()
            .store()
            .pending_jobs("correlate")
            .await
            .unwrap()
            == 0
    })
    .await;
    install_fault(&app, backend).await;

    // A web `/inc resolve`: the status change, the postmortem job it brings (refused by the
    // trigger) and the command's event are one unit: none of it is visible.
    let before = written(&app).await;
    let events_before = timeline(&app, id).await;
    let (s, body) = app
        .post_json(
            &format!("/incidents/{id}/messages"),
            json!({"text": "/inc resolve"}),
        )
        .await;
    assert_honest_error(s, &body);
    assert_eq!(
        written(&app).await,
        before,
        "nothing of the resolve is stored"
    );
    assert_eq!(timeline(&app, id).await, events_before);
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "declared", "{inc}");

    // A declare whose correlation job is refused: no incident, no event, no post, no job.
    let (s, body) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Search [fault] is down", "severity": "P1"}),
        )
        .await;
    assert_honest_error(s, &body);
    assert_eq!(
        written(&app).await,
        before,
        "nothing of the declare is stored"
    );

    // The fault is gone: the same requests succeed, once each.
    remove_fault(&app, backend).await;
    let b = say(&app, id, "/inc resolve").await;
    assert_eq!(b["ok"], true, "{b}");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "resolved", "{inc}");
    let events = timeline(&app, id).await;
    let new: Vec<&str> = events[events_before.len()..]
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| *k != "postmortem")
        .collect();
    assert_eq!(new, ["status_changed", "command"], "{events:?}");
    let (s, body) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Search [fault] is down", "severity": "P1"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, list) = app.get_json("/api/v1/incidents?limit=100").await;
    let searches = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"] == "Search [fault] is down")
        .count();
    assert_eq!(searches, 1, "{list}");
}
both_backends!(
    mid_commit_fault,
    a_fault_mid_commit_leaves_nothing_and_the_retry_succeeds_once
);
