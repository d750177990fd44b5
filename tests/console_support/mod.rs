//! The console tests' fixture: an app with a small catalog, and an incident opened by alerts that
//! names two preceding changes.

#![allow(dead_code)]

use crate::common::{Backend, TestApp};
use serde_json::json;

const CATALOG: &str =
    "[[service]]\nname = \"checkout\"\ndepends_on = [\"db\"]\n\n[[service]]\nname = \"db\"\n";

/// A deploy of checkout, a config change of db, then two alerts on checkout that open an incident.
pub async fn fixture(app: &TestApp) -> i64 {
    let started = chrono::Utc::now() - chrono::Duration::minutes(6);
    // The config change's version needs escaping in the SVG (the parse below proves it was).
    for (kind, service, summary, version) in [
        ("deploy", "checkout", "Deploy checkout v2.3.1", "v2.3.1"),
        ("config", "db", "db pool=50", "pool<50> & more"),
    ] {
        let (s, b) = app
            .post_json(
                "/hooks/changes",
                json!({"kind": kind, "services": [service], "summary": summary, "author": "alice",
                    "version": version, "status": "done", "started_at": started.to_rfc3339()}),
            )
            .await;
        assert!(s == 200 || s == 201, "{s} {b}");
    }
    let (s, b) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [
                {"name": "HighErrorRate", "service": "checkout", "severity": "critical", "summary": "5xx <above> 5%"},
                {"name": "Latency", "service": "checkout", "severity": "critical"}]}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {b}");
    let latest = || async {
        let (_, list) = app.get_json("/api/v1/incidents").await;
        list["incidents"][0]["id"].as_i64()
    };
    app.eventually(
        "the alerts open an incident naming both changes",
        || async {
            match latest().await {
                Some(id) => app.events_of(id, "change_linked").await.len() >= 2,
                None => false,
            }
        },
    )
    .await;
    latest().await.unwrap()
}

pub async fn spawn(backend: Backend) -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.catalog.path = catalog.display().to_string();
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 20;
        c.roles.insert(
            "admin".into(),
            // `api` is the trusted-host API caller that declares the fixtures' P1.
            warroom::config::Grants(vec!["alice".into(), "api".into()]),
        );
    })
    .await;
    (dir, app)
}
