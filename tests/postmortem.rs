//! Postmortem drafts of a realistic incident built through the engine on a fixed clock: the golden
//! Markdown, the JSON shape, the stored draft, the room post, the API, the web page and template
//! overrides, on both backends.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{Backend, TestApp, TestDb, test_config};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use warroom::config::Config;
use warroom::domain::{Catalog, EventKind, NewEvent, Service};
use warroom::engine::{Clock, CommandContext, Declare, Engine, Hub};
use warroom::store::Store;

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

/// 2026-11-01 at `h:m` UTC (Europe/Berlin is UTC+1 then).
fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
}

fn catalog() -> Catalog {
    let svc = |name: &str, deps: &[&str]| Service {
        name: name.into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..Service::default()
    };
    Catalog::new(vec![
        svc("web", &["checkout"]),
        svc("checkout", &["payments"]),
        svc("payments", &[]),
        svc("search", &[]),
    ])
    .unwrap()
}

fn pm_config(config: &mut Config) {
    config.postmortem.time_zone = "Europe/Berlin".into();
    config.postmortem.silent_gap_minutes = 15;
    config.postmortem.early_alert_minutes = 10;
}

struct Rig {
    engine: Engine,
    clock: Arc<TestClock>,
    store: Store,
}

async fn rig(db: &TestDb, config: &Config) -> Rig {
    let store = Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(TestClock(Mutex::new(at(12, 0))));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        Hub::default(),
        vec!["web".into(), "slack".into()],
        Arc::new(config.clone()),
        Arc::new(catalog()),
    );
    Rig {
        engine,
        clock,
        store,
    }
}

impl Rig {
    async fn append(&self, id: i64, now: DateTime<Utc>, event: NewEvent) {
        self.clock.set(now);
        self.engine
            .apply(id, move |_, _| Ok(vec![event]))
            .await
            .unwrap();
    }

    async fn command(&self, id: i64, now: DateTime<Utc>, actor: &str, text: &str) {
        self.clock.set(now);
        let ctx = CommandContext {
            actor: actor.into(),
            platform: "web".into(),
            incident_id: Some(id),
        };
        let reply = self.engine.run_command(text, &ctx).await.unwrap();
        assert!(reply.ok, "{text}: {}", reply.text);
    }

    async fn say(&self, id: i64, now: DateTime<Utc>, actor: &str, text: &str) -> i64 {
        self.clock.set(now);
        self.engine
            .record_message(id, "web", actor, text, None, None)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

fn alert(
    fp: &str,
    name: &str,
    service: &str,
    sev: &str,
    source: &str,
    starts: DateTime<Utc>,
    summary: &str,
) -> NewEvent {
    NewEvent::new(EventKind::AlertFiring, starts, Some(source))
        .text(format!("{name} firing: {summary}"))
        .data(json!({"fingerprint": fp, "alertname": name, "service": service, "severity": sev,
            "source": source, "labels": {"alertname": name, "service": service},
            "annotations": {"summary": summary}, "starts_at": starts.to_rfc3339(), "summary": summary}))
        .key(format!("alert:{fp}:{}", starts.timestamp()))
}

fn resolved(fp: &str, name: &str, service: &str, source: &str, ends: DateTime<Utc>) -> NewEvent {
    NewEvent::new(EventKind::AlertResolved, ends, Some(source))
        .text(format!("{name} resolved"))
        .data(
            json!({"fingerprint": fp, "alertname": name, "service": service, "source": source,
            "ends_at": ends.to_rfc3339()}),
        )
}

fn change(
    kind: EventKind,
    id: &str,
    ckind: &str,
    svc: &str,
    summary: &str,
    author: &str,
    version: &str,
) -> Value {
    let mut d = json!({"change_id": id, "kind": ckind, "service": svc, "summary": summary,
        "author": author, "version": version});
    if kind == EventKind::ChangeLinked {
        d["started_at"] = json!(at(11, 52).to_rfc3339());
    }
    d
}

/// The realistic incident: alerts before the declare, two suspects, a severity bump, roles, a page,
/// messages, a status update and impact, a rollback, a silence, a pinned message, action items.
async fn realistic_incident(r: &Rig) -> i64 {
    r.clock.set(at(12, 10));
    let inc = r
        .engine
        .declare(
            Declare {
                title: "Checkout returns 5xx for card payments".into(),
                severity: "P2".parse().unwrap(),
                kind: "degradation".parse().unwrap(),
                service: Some("checkout".into()),
            },
            "alice",
        )
        .await
        .unwrap();
    let id = inc.id;
    r.append(
        id,
        at(12, 10),
        alert(
            "a1",
            "HighErrorRate",
            "checkout",
            "critical",
            "alertmanager",
            at(11, 58),
            "5xx ratio above 5%",
        ),
    )
    .await;
    r.append(
        id,
        at(12, 10),
        alert(
            "a2",
            "PaymentsLatencyHigh",
            "payments",
            "warning",
            "grafana",
            at(12, 5),
            "p99 above 2s",
        ),
    )
    .await;
    r.command(id, at(12, 11), "alice", "/inc role commander me")
        .await;
    let mut linked = change(
        EventKind::ChangeLinked,
        "chg-981",
        "deploy",
        "checkout",
        "Deploy checkout v2.14.0",
        "carol",
        "v2.14.0",
    );
    linked["score"] = json!(0.87);
    linked["rank"] = json!(1);
    linked["evidence"] = json!([
        "deployed 6m before the first alert",
        "same service as the incident"
    ]);
    r.append(
        id,
        at(12, 12),
        NewEvent::new(EventKind::ChangeLinked, at(12, 12), None)
            .text("suspect chg-981")
            .data(linked),
    )
    .await;
    let mut second = change(
        EventKind::ChangeLinked,
        "chg-977",
        "config",
        "payments",
        "Raise payments pool timeout",
        "dave",
        "r12",
    );
    second["score"] = json!(0.41);
    second["rank"] = json!(2);
    second["evidence"] = json!(["payments is a dependency of checkout"]);
    r.append(
        id,
        at(12, 12),
        NewEvent::new(EventKind::ChangeLinked, at(12, 12), None)
            .text("suspect chg-977")
            .data(second),
    )
    .await;
    r.command(id, at(12, 13), "alice", "/inc sev P1").await;
    r.say(
        id,
        at(12, 14),
        "bob",
        "seeing card declines spike in EU | only Visa?",
    )
    .await;
    r.command(id, at(12, 15), "alice", "/inc role tech-lead @bob")
        .await;
    r.command(id, at(12, 16), "alice", "/inc triage").await;
    r.append(
        id,
        at(12, 18),
        NewEvent::new(EventKind::PageSent, at(12, 18), None)
            .text("paged payments-oncall")
            .data(json!({"target": "payments-oncall", "user": "dave", "level": 1})),
    )
    .await;
    r.append(
        id,
        at(12, 21),
        NewEvent::new(EventKind::PageAcknowledged, at(12, 21), Some("dave"))
            .text("dave acknowledged")
            .data(json!({"target": "payments-oncall", "user": "dave", "level": 1})),
    )
    .await;
    r.say(id, at(12, 22), "dave", "payments looks healthy, pool ok")
        .await;
    r.command(
        id,
        at(12, 24),
        "alice",
        "/inc update Card payments failing for ~30% of EU users; rolling back v2.14.0",
    )
    .await;
    r.command(
        id,
        at(12, 25),
        "alice",
        "/inc impact About 30% of EU card payments failed",
    )
    .await;
    r.append(
        id,
        at(12, 26),
        NewEvent::new(EventKind::Rollback, at(12, 26), Some("bob"))
            .text("rollback requested")
            .data(json!({"change_id": "chg-981", "phase": "requested"})),
    )
    .await;
    r.command(id, at(12, 26), "alice", "/inc mitigate").await;
    r.append(id, at(12, 31), NewEvent::new(EventKind::Rollback, at(12, 31), None)
        .text("rollback executed").data(json!({"change_id": "chg-981", "phase": "executed", "rollback_change_id": "chg-982"}))).await;
    // 22 quiet minutes: only an alert resolves.
    r.append(
        id,
        at(12, 52),
        resolved(
            "a1",
            "HighErrorRate",
            "checkout",
            "alertmanager",
            at(12, 50),
        ),
    )
    .await;
    let msg = r
        .say(
            id,
            at(12, 53),
            "bob",
            "error rate back to baseline since 12:49 UTC",
        )
        .await;
    r.append(
        id,
        at(12, 53),
        NewEvent::new(EventKind::ChangeConfirmed, at(12, 53), Some("bob"))
            .text("confirmed")
            .data(change(
                EventKind::ChangeConfirmed,
                "chg-981",
                "deploy",
                "checkout",
                "Deploy checkout v2.14.0",
                "carol",
                "v2.14.0",
            )),
    )
    .await;
    r.append(id, at(12, 54), NewEvent::new(EventKind::Rollback, at(12, 54), None)
        .text("rollback verified").data(json!({"change_id": "chg-981", "phase": "verified", "rollback_change_id": "chg-982"}))).await;
    r.append(
        id,
        at(12, 55),
        NewEvent::new(EventKind::Pinned, at(12, 55), Some("alice"))
            .text("pinned a message")
            .data(json!({"platform": "web", "event": msg})),
    )
    .await;
    r.command(
        id,
        at(12, 56),
        "alice",
        "/inc action Add a canary stage to checkout deploys @carol",
    )
    .await;
    r.command(
        id,
        at(12, 57),
        "bob",
        "/inc action Alert on the card decline ratio",
    )
    .await;
    r.append(
        id,
        at(12, 58),
        resolved(
            "a2",
            "PaymentsLatencyHigh",
            "payments",
            "grafana",
            at(12, 58),
        ),
    )
    .await;
    r.command(id, at(13, 0), "alice", "/inc resolve").await;
    id
}

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1 once", path.display()));
    assert_eq!(actual, expected, "{name} differs from the golden file");
}

async fn draft_of_a_realistic_incident(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    pm_config(&mut config);
    let r = rig(&db, &config).await;
    let id = realistic_incident(&r).await;

    // Resolving generated and stored the draft, with a `postmortem` event and a post in every room.
    let stored = r
        .store
        .postmortem(id)
        .await
        .unwrap()
        .expect("draft stored on resolve");
    assert_eq!(stored.postmortem.generated, "resolve");
    let pm = r.engine.postmortem(id).await.unwrap();
    assert_eq!(
        pm, stored.postmortem,
        "nothing new: the stored draft is served"
    );
    let renderer = warroom::render::Renderer::new(None);
    golden("postmortem.md", &renderer.postmortem_markdown(&pm).unwrap());

    let value = serde_json::to_value(&pm).unwrap();
    json_shape(&value);
    golden("postmortem.json", &format!("{:#}\n", value));

    let events = r.store.timeline(id, 0, 1000).await.unwrap();
    let pm_events: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Postmortem)
        .collect();
    assert_eq!(pm_events.len(), 1);
    assert_eq!(
        pm_events[0].data,
        json!({"format_version": 1, "generated": "resolve"})
    );

    // Closing refreshes it; a later event makes reads build afresh.
    r.clock.set(at(13, 30));
    r.engine
        .set_status(id, "reviewing".parse().unwrap(), "alice")
        .await
        .unwrap();
    r.engine
        .set_status(id, "closed".parse().unwrap(), "alice")
        .await
        .unwrap();
    let stored = r.store.postmortem(id).await.unwrap().unwrap();
    assert_eq!(stored.postmortem.generated, "close");
    assert_eq!(stored.postmortem.incident.status.as_str(), "closed");
    assert_eq!(stored.postmortem.metrics.time_in_status["resolved"], 1800);
    let events = r.store.timeline(id, 0, 1000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::Postmortem)
            .count(),
        2
    );
    r.store.close().await;

    // The API and the web page serve it; the room got the summary and link (web and slack).
    let app = TestApp::start(db, config).await;
    let (s, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/postmortem?format=json"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["generated"], "close");
    json_shape(&body);
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{id}/postmortem?format=md")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let md = resp.text().await.unwrap();
    assert!(
        md.starts_with("# Postmortem draft: #1 Checkout returns 5xx for card payments"),
        "{md}"
    );
    let page_md = app
        .client
        .get(app.url(&format!("/incidents/{id}/postmortem?format=md")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page_md, md, "the web page serves the same Markdown");
    let (s, page_json) = app
        .get_json(&format!("/incidents/{id}/postmortem?format=json"))
        .await;
    assert_eq!((s, &page_json["generated"]), (200, &json!("close")));
    let (s, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/postmortem?format=pdf"))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        body["error"]["message"],
        "format: `pdf` is not one of md, json"
    );
    let (s, _) = app.get_json("/api/v1/incidents/999/postmortem").await;
    assert_eq!(s, 404);
    let html = app
        .client
        .get(app.url(&format!("/incidents/{id}/postmortem")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Checkout returns 5xx for card payments"));
    assert!(
        html.contains("📌 pinned: error rate back to baseline since 12:49 UTC"),
        "{html}"
    );
    let posts = |app: &TestApp| {
        let store = app.engine().store().clone();
        async move { store.room_posts(id, "web", 0).await.unwrap() }
    };
    app.eventually("the postmortem posts reach the web room", || async {
        posts(&app)
            .await
            .iter()
            .filter(|p| p.text.contains("/incidents/1/postmortem"))
            .count()
            == 2
    })
    .await;
    let web_posts = posts(&app).await;
    let post = web_posts
        .iter()
        .find(|p| p.text.starts_with("📝 Postmortem draft"))
        .unwrap();
    assert!(
        post.text.contains("P1 degradation on checkout"),
        "{}",
        post.text
    );
}
both_backends!(realistic_draft, draft_of_a_realistic_incident);

/// The JSON format's top-level shape and types (what scripts rely on).
fn json_shape(v: &Value) {
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "format_version",
        "generated",
        "generated_at",
        "time_zone",
        "incident",
        "summary",
        "impact",
        "severity",
        "type",
        "detection",
        "metrics",
        "roles",
        "participants",
        "timeline",
        "timeline_omitted",
        "events_total",
        "alerts",
        "contributing_factors",
        "action_items",
        "questions",
    ];
    let mut got = keys.clone();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["time_zone"], "Europe/Berlin");
    assert_eq!(v["incident"]["id"], 1);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("P1 degradation on checkout")
    );
    assert_eq!(v["impact"]["services"], json!(["checkout", "payments"]));
    assert_eq!(v["impact"]["dependents"], json!(["web"]));
    assert_eq!(v["impact"]["user_facing"], true);
    assert_eq!(v["impact"]["duration"]["seconds"], 62 * 60);
    assert_eq!(v["severity"]["initial"], "P2");
    assert_eq!(v["severity"]["current"], "P1");
    assert_eq!(v["detection"]["method"], "alert");
    assert_eq!(v["detection"]["first_alert"]["alertname"], "HighErrorRate");
    assert_eq!(
        v["detection"]["first_alert"]["fired"]["local"],
        "2026-11-01 12:58:00"
    );
    assert_eq!(v["detection"]["time_to_declare"]["seconds"], 12 * 60);
    assert_eq!(v["metrics"]["mtta"]["seconds"], 0);
    assert_eq!(v["metrics"]["mttr"]["seconds"], 50 * 60);
    assert_eq!(v["metrics"]["time_to_mitigate"]["seconds"], 16 * 60);
    assert_eq!(
        v["roles"][0],
        json!({"role": "commander", "holders": ["alice"], "current": "alice"})
    );
    let bob = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bob")
        .unwrap();
    assert_eq!(bob["messages"], 2);
    assert_eq!(bob["roles"], json!(["tech-lead"]));
    let factors = v["contributing_factors"].as_array().unwrap();
    assert_eq!(factors[0]["change_id"], "chg-981");
    assert_eq!(factors[0]["confirmed"], true);
    assert_eq!(
        factors[0]["rollback"],
        json!(["requested", "executed", "verified"])
    );
    assert_eq!(factors[1]["confirmed"], false);
    assert_eq!(v["action_items"][0]["owner"], "carol");
    let kinds: Vec<&str> = v["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "silent_gap",
            "early_alert",
            "role_unfilled",
            "role_unfilled",
            "unresolved_suspect",
            "unowned_action"
        ]
    );
    let timeline = v["timeline"].as_array().unwrap();
    let times: Vec<&str> = timeline.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "key events are in time order");
    for e in timeline {
        for k in ["id", "at", "local", "kind", "actor", "text"] {
            assert!(e.get(k).is_some(), "key event lacks {k}: {e}");
        }
    }
}

async fn templates_dir_overrides_the_markdown(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("postmortem.md"),
        "CUSTOM #{{ pm.incident.id }} {{ pm.incident.title }}: {{ pm.timeline | length }} key events, MTTR {{ pm.metrics.mttr.text if pm.metrics.mttr else 'open' }}\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let app = TestApp::spawn_with(backend, |c| c.templates.dir = Some(path)).await;
    let id = common::declare(&app, "Search is slow", "P3").await;
    let md = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{id}/postmortem?format=md")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        md,
        format!("CUSTOM #{id} Search is slow: 1 key events, MTTR open")
    );
    // Another template still comes from the embedded defaults.
    let html = app
        .client
        .get(app.url(&format!("/incidents/{id}/postmortem")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Postmortem draft: #"), "{html}");
}
both_backends!(template_override, templates_dir_overrides_the_markdown);

async fn inc_postmortem_answers_with_summary_and_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Login fails", "P1").await;
    let ctx = CommandContext {
        actor: "erin".into(),
        platform: "web".into(),
        incident_id: Some(id),
    };
    let reply = app
        .engine()
        .run_command("/inc postmortem", &ctx)
        .await
        .unwrap();
    assert!(reply.ok);
    assert!(
        reply.text.contains("Postmortem draft so far"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains(&format!("/incidents/{id}/postmortem")));
    assert!(
        reply.text.contains("P1 outage: Login fails."),
        "{}",
        reply.text
    );
    app.engine()
        .run_command("/inc resolve", &ctx)
        .await
        .unwrap();
    let reply = app
        .engine()
        .run_command("/inc postmortem", &ctx)
        .await
        .unwrap();
    assert!(
        reply
            .text
            .starts_with(&format!("📝 Postmortem draft for incident #{id}:")),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("Resolved at"), "{}", reply.text);
}
both_backends!(inc_postmortem, inc_postmortem_answers_with_summary_and_link);
