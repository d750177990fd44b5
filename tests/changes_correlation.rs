//! Correlation end to end: suspects ranked and posted when an incident opens, the first alert as the
//! reference, `/inc changes`, confirming the cause, and the risk report.

mod common;

use chrono::{Duration, Utc};
use common::{Backend, TestApp};
use serde_json::json;
use warroom::domain::{EventKind, NewEvent};

fn catalog_file(dir: &std::path::Path) -> String {
    let path = dir.join("services.toml");
    let toml = "[[service]]\nname = \"checkout\"\ndepends_on = [\"db\"]\n\n[[service]]\nname = \"db\"\n\n\
                [[service]]\nname = \"search\"\n";
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

async fn record(
    app: &TestApp,
    kind: &str,
    service: &str,
    version: &str,
    author: &str,
    minutes_ago: i64,
) -> i64 {
    let started = (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339();
    let (s, b) = app
        .post_json("/hooks/changes", json!({"kind": kind, "service": service, "version": version,
            "author": author, "summary": format!("{kind} {service} {version}"), "started_at": started}))
        .await;
    assert_eq!(s, 201, "{b}");
    b["change"]["id"].as_i64().unwrap()
}

async fn suspects_are_ranked_posted_listed_and_confirmed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_file(dir.path());
    let app = TestApp::spawn_with(backend, |c| c.catalog.path = catalog).await;
    let unrelated = record(&app, "deploy", "search", "v9", "dave", 3).await;
    let causal = record(&app, "deploy", "checkout", "v2.3.1", "alice", 6).await;
    let dependency = record(&app, "config", "db", "pool=50", "erin", 40).await;
    let old = record(&app, "deploy", "checkout", "v2.3.0", "alice", 60 * 30).await;
    let (s, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "severity": "P1", "service": "checkout"}),
        )
        .await;
    assert_eq!(s, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    // A change that starts after the incident was detected is not a suspect.
    let late = record(&app, "deploy", "checkout", "v2.3.2", "bob", -1).await;

    let (s, b) = app
        .get_json(&format!("/api/v1/incidents/{id}/changes"))
        .await;
    assert_eq!(s, 200, "{b}");
    let ranked: Vec<i64> = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["change"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ranked, [causal, dependency, unrelated], "{b}");
    assert!(!ranked.contains(&old) && !ranked.contains(&late));
    let first = &b["changes"][0];
    assert_eq!(
        first["evidence"],
        json!([
            "deploy checkout v2.3.1 by alice",
            "6 min before the incident was declared",
            "same service"
        ])
    );
    assert_eq!(b["changes"][1]["evidence"][2], "checkout depends on db");
    assert_eq!(b["changes"][2]["evidence"][2], "unrelated to checkout");
    assert!(b["changes"][2]["score"].as_f64().unwrap() < 0.1);

    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    let linked: Vec<&serde_json::Value> = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "change_linked")
        .collect();
    assert_eq!(linked.len(), 3, "{tl}");
    let d = &linked.iter().find(|e| e["data"]["rank"] == 1).unwrap()["data"];
    assert_eq!(
        (
            d["change_id"].as_i64(),
            d["kind"].as_str(),
            d["service"].as_str()
        ),
        (Some(causal), Some("deploy"), Some("checkout"))
    );
    assert_eq!(
        (d["author"].as_str(), d["version"].as_str()),
        (Some("alice"), Some("v2.3.1"))
    );
    assert!(
        d["started_at"].as_str().unwrap().contains('T') && d["score"].as_f64().unwrap() > 0.8,
        "{d}"
    );
    let store = app.engine().store().clone();
    app.eventually("the suspects are posted in the web room", || {
        let store = store.clone();
        async move {
            let posts = store.room_posts(id, "web", 0).await.unwrap_or_default();
            posts.iter().any(|p| {
                p.text.contains("Changes that may have caused")
                    && p.text.contains(&format!(
                        "1. chg-{causal} — deploy checkout v2.3.1 by alice, 6 min before"
                    ))
            })
        }
    })
    .await;
    // Correlating again links nothing twice.
    app.engine().correlate(id).await.unwrap();
    let (_, tl2) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(
        tl2["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "change_linked")
            .count(),
        3
    );

    let ctx = |actor: &str| common::web_ctx(Some(id), actor);
    let reply = app.command("/inc changes", &ctx("bob")).await;
    assert!(reply.text.starts_with(&format!("Changes linked to incident #{id}:\n1. chg-{causal} [executing] deploy checkout v2.3.1 by alice")), "{}", reply.text);
    app.command("/inc role commander @alice", &ctx("alice"))
        .await;
    let reply = app
        .command(&format!("/inc changes confirm chg-{causal}"), &ctx("bob"))
        .await;
    assert!(
        !reply.ok
            && reply.text.contains(
                "confirming a cause needs the commander (alice) or an admin; bob is a responder"
            ),
        "{reply:?}"
    );
    let reply = app
        .command(&format!("/inc changes confirm chg-{causal}"), &ctx("alice"))
        .await;
    assert!(reply.ok, "{reply:?}");
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=200"))
        .await;
    let events = tl["events"].as_array().unwrap();
    let refused = events.iter().find(|e| e["kind"] == "refused").unwrap();
    assert_eq!(refused["data"]["action"], "confirm_cause");
    let confirmed = events
        .iter()
        .find(|e| e["kind"] == "change_confirmed")
        .unwrap();
    assert_eq!(
        confirmed["data"],
        json!({"change_id": causal, "kind": "deploy", "service": "checkout",
        "summary": "deploy checkout v2.3.1", "author": "alice", "version": "v2.3.1"})
    );
    let reply = app.command("/inc changes", &ctx("bob")).await;
    assert!(reply.text.contains("✅ confirmed cause"), "{}", reply.text);

    let (s, r) = app.get_json("/api/v1/reports/changes?days=30").await;
    assert_eq!(s, 200, "{r}");
    let checkout = r["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "checkout")
        .unwrap();
    assert_eq!(
        (
            checkout["changes"].as_u64(),
            checkout["incidents_after_changes"].as_u64()
        ),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["kinds"][0]["kind"], "deploy");
    assert_eq!(r["hours"].as_array().unwrap().len(), 1);
    assert_eq!(r["hours"][0]["incidents"], 1);
    let (s, _) = app.get_json("/api/v1/reports/changes?days=0").await;
    assert_eq!(s, 400);
}
both_backends!(ranked, suspects_are_ranked_posted_listed_and_confirmed);

async fn the_first_alert_is_the_reference(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before_alert = record(&app, "deploy", "checkout", "v2.3.1", "alice", 12).await;
    let after_alert = record(&app, "traffic", "checkout", "flag-on", "bob", 4).await;
    let (_, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "severity": "P2", "service": "checkout"}),
        )
        .await;
    let id = inc["id"].as_i64().unwrap();
    // What alert ingest records when an alert joins the incident, then calls `Engine::correlate`.
    let starts = Utc::now() - Duration::minutes(8);
    app.engine()
        .apply(id, |_, now| {
            Ok(vec![NewEvent::new(EventKind::AlertFiring, starts, None)
                .text("HighErrorRate firing")
                .data(json!({"fingerprint": "a1b2", "alertname": "HighErrorRate", "service": "checkout",
                    "severity": "P2", "source": "alertmanager", "labels": {}, "annotations": {},
                    "starts_at": starts.to_rfc3339()}))
                .key(format!("test-alert:{}", now.timestamp_millis()))])
        })
        .await
        .unwrap();
    let suspects = app.engine().correlate(id).await.unwrap();
    let ids: Vec<i64> = suspects.iter().map(|s| s.change_id).collect();
    assert_eq!(ids, [before_alert], "{suspects:?}");
    assert_eq!(
        suspects[0].evidence[1],
        "4 min before the first HighErrorRate alert"
    );
    assert!(!ids.contains(&after_alert));
    let (_, b) = app
        .get_json(&format!("/api/v1/incidents/{id}/changes"))
        .await;
    let linked: Vec<i64> = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["change"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        linked,
        [before_alert],
        "a suspect that turned out to follow the first alert is unlinked: {b}"
    );
}
both_backends!(first_alert, the_first_alert_is_the_reference);
