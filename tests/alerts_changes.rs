//! The causal chain across both halves: a change, then alerts, then an incident that names the change.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

/// An app with this service catalog that dispatches alerts at once; `tweak` adjusts the rest.
async fn spawn_with_catalog(
    backend: Backend,
    services_toml: &str,
    tweak: impl FnOnce(&mut warroom::config::Config),
) -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(&catalog, services_toml).unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.catalog.path = catalog.display().to_string();
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 20;
        tweak(c);
    })
    .await;
    (dir, app)
}

async fn an_incident_opened_by_alerts_names_the_preceding_change(backend: Backend) {
    let (_dir, app) = spawn_with_catalog(
        backend,
        "[[service]]\nname = \"checkout\"\ndepends_on = [\"db\"]\n\n[[service]]\nname = \"db\"\n\n[[service]]\nname = \"search\"\n",
        |_| {},
    )
    .await;
    let started = chrono::Utc::now() - chrono::Duration::minutes(6);
    for (service, summary, version) in [
        ("checkout", "Deploy checkout v2.3.1", "v2.3.1"),
        ("search", "Deploy search v9", "v9"),
    ] {
        let (s, b) = app
            .post_json(
                "/hooks/changes",
                json!({"kind": "deploy", "services": [service], "summary": summary, "author": "alice",
                    "version": version, "status": "done", "started_at": started.to_rfc3339(),
                    "ended_at": (started + chrono::Duration::minutes(1)).to_rfc3339()}),
            )
            .await;
        assert!(s == 200 || s == 201, "{s} {b}");
    }
    let (s, b) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [{"name": "HighErrorRate", "service": "checkout", "severity": "critical",
                "summary": "5xx above 5%"}]}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {b}");

    let mut incident: Option<i64> = None;
    let mut linked: Vec<Value> = Vec::new();
    for _ in 0..200 {
        let (_, list) = app.get_json("/api/v1/incidents").await;
        incident = list["incidents"][0]["id"].as_i64();
        if let Some(id) = incident {
            linked = app.events_of(id, "change_linked").await;
            if !linked.is_empty() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let id = incident.expect("the alert opened an incident");
    assert!(!linked.is_empty(), "incident {id} names a suspect change");
    let top = &linked[0];
    assert_eq!(top["data"]["service"], "checkout", "{top}");
    assert_eq!(top["data"]["rank"], 1, "{top}");
    let text = top["text"].as_str().unwrap_or_default();
    assert!(text.contains("v2.3.1") && text.contains("alice"), "{text}");
    assert!(
        linked
            .iter()
            .all(|e| e["data"]["service"] != "search" || e["data"]["rank"].as_i64() > Some(1)),
        "an unrelated service's change does not outrank the causal one: {linked:?}"
    );
}
both_backends!(
    alert_opened_incident_names_the_change,
    an_incident_opened_by_alerts_names_the_preceding_change
);

/// An alert that started earlier than every alert of its incident moves the first signal back: the
/// changes are ranked again from there, and a deploy before the new first signal becomes a suspect.
async fn an_earlier_alert_joining_moves_the_first_signal(backend: Backend) {
    let (_dir, app) = spawn_with_catalog(backend, "[[service]]\nname = \"checkout\"\n", |c| {
        c.alerts.merge_window = "2h".into();
        c.changes.lookback_mins = 60;
    })
    .await;
    let now = chrono::Utc::now();
    let deployed = now - chrono::Duration::minutes(100);
    let (s, b) = app
        .post_json(
            "/hooks/changes",
            json!({"kind": "deploy", "services": ["checkout"], "summary": "Deploy checkout v1.0",
                "author": "bob", "version": "v1.0", "status": "done", "started_at": deployed.to_rfc3339(),
                "ended_at": (deployed + chrono::Duration::minutes(1)).to_rfc3339()}),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {b}");
    let alert = |name: &str, started_mins_ago: i64| {
        json!({"alerts": [{"name": name, "service": "checkout", "severity": "critical",
            "summary": name, "starts_at": (now - chrono::Duration::minutes(started_mins_ago)).to_rfc3339()}]})
    };
    // First alert 5 minutes ago: the deploy 100 minutes ago is outside the 60-minute look-back.
    let (s, b) = app
        .post_json("/hooks/alerts", alert("HighLatency", 5))
        .await;
    assert!((200..300).contains(&s), "{s} {b}");
    let mut id = None;
    for _ in 0..200 {
        let (_, list) = app.get_json("/api/v1/incidents").await;
        if let Some(i) = list["incidents"][0]["id"].as_i64()
            && !app.events_of(i, "alert_firing").await.is_empty()
        {
            id = Some(i);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let id = id.expect("the first alert opened an incident");
    // Correlation is a follow-up job of the dispatch: it has run before "nothing linked" is said (the
    // P1's reminder timer stays pending: it is not a follow-up).
    app.eventually("the dispatch's follow-ups", || async {
        app.engine()
            .store()
            .pending_jobs("correlate")
            .await
            .unwrap()
            == 0
    })
    .await;
    assert!(
        app.events_of(id, "change_linked").await.is_empty(),
        "nothing within the look-back of the first signal yet"
    );
    // An alert that started 70 minutes ago joins: the deploy is now 30 minutes before the first signal.
    let (s, b) = app.post_json("/hooks/alerts", alert("DiskFull", 70)).await;
    assert!((200..300).contains(&s), "{s} {b}");
    let mut linked = Vec::new();
    for _ in 0..200 {
        linked = app.events_of(id, "change_linked").await;
        if !linked.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(linked.len(), 1, "the deploy is named once: {linked:?}");
    assert!(
        linked[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("v1.0"),
        "{}",
        linked[0]
    );
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        list["incidents"].as_array().map(Vec::len),
        Some(1),
        "the earlier alert joined the open incident: {list}"
    );
}
both_backends!(
    earlier_alert_moves_the_first_signal,
    an_earlier_alert_joining_moves_the_first_signal
);
