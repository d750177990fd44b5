//! Postmortem drafts of a realistic incident built through the engine on a fixed clock: the golden
//! Markdown, the JSON shape, the stored draft, the room post, the API, the web page and template
//! overrides, on both backends.

mod common;
mod postmortem_support;

use common::{Backend, TestApp, TestDb, test_config};
use postmortem_support::{at, pm_config, realistic_incident, rig};
use serde_json::{Value, json};
use warroom::domain::EventKind;

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
    let alice = warroom::domain::Actor::named("alice", "alice", "web");
    r.clock.set(at(13, 30));
    r.engine
        .set_status(id, "reviewing".parse().unwrap(), &alice)
        .await
        .unwrap();
    r.engine
        .set_status(id, "closed".parse().unwrap(), &alice)
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
        .get_text(&format!("/incidents/{id}/postmortem?format=md"))
        .await;
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
    let html = app.get_text(&format!("/incidents/{id}/postmortem")).await;
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
        "review",
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
        .get_text(&format!("/api/v1/incidents/{id}/postmortem?format=md"))
        .await;
    assert_eq!(
        md,
        format!("CUSTOM #{id} Search is slow: 1 key events, MTTR open")
    );
    // Another template still comes from the embedded defaults.
    let html = app.get_text(&format!("/incidents/{id}/postmortem")).await;
    assert!(html.contains("Postmortem draft: #"), "{html}");
}
both_backends!(template_override, templates_dir_overrides_the_markdown);

async fn inc_postmortem_answers_with_summary_and_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Login fails", "P1").await;
    let ctx = common::web_ctx(Some(id), "erin");
    let reply = app.command("/inc postmortem", &ctx).await;
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
    app.command("/inc resolve", &ctx).await;
    let reply = app.command("/inc postmortem", &ctx).await;
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

async fn a_resolve_by_any_use_case_generates_the_draft(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Queue backlog", "P2").await;
    // The way an automatic resolution (every alert cleared) moves the incident: straight through `apply`.
    let applied = app
        .engine()
        .apply(id, |inc, now| {
            let from = inc.transition(warroom::domain::Status::Resolved, now)?;
            Ok(vec![
                warroom::domain::NewEvent::new(EventKind::StatusChanged, now, None)
                    .text("every alert cleared: resolved")
                    .data(json!({"from": from, "to": "resolved"})),
            ])
        })
        .await
        .unwrap();
    assert_eq!(applied.incident.status.as_str(), "resolved");
    let stored = app.engine().store().postmortem(id).await.unwrap().unwrap();
    assert_eq!(stored.postmortem.generated, "resolve");
    assert!(stored.postmortem.summary.contains("Resolved at"));
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    let last = tl["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "postmortem");
    assert_eq!(last["data"]["generated"], "resolve");
}
both_backends!(
    resolve_via_apply,
    a_resolve_by_any_use_case_generates_the_draft
);
