//! Rollback through the outbox: the hook is performed once under retries (5xx, 429 + Retry-After),
//! the rollback change is recorded, and the verification outcome is reported from a durable job.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{Duration, Utc};
use common::{Backend, TestApp};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use warroom::config::RollbackHook;
use warroom::domain::{EventKind, NewEvent};

/// A deploy tool's rollback endpoint: bearer auth, fails the first two attempts (503, then 429 with
/// `Retry-After: 1`), then performs the rollback once per `Idempotency-Key`.
#[derive(Default)]
struct DeployTool {
    attempts: Vec<(String, String)>,
    performed: Vec<(String, Value)>,
}

async fn rollback_endpoint(
    State(tool): State<Arc<Mutex<DeployTool>>>,
    axum::extract::Path(service): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer hook-secret") {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut t = tool.lock().unwrap();
    t.attempts.push((key.clone(), service.clone()));
    match t.attempts.len() {
        1 => (StatusCode::SERVICE_UNAVAILABLE, "deployer busy").into_response(),
        2 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "slow down",
        )
            .into_response(),
        _ => {
            if !t.performed.iter().any(|(k, _)| *k == key) {
                t.performed
                    .push((key, serde_json::from_str(&body).unwrap_or(Value::Null)));
            }
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"rollback": "started", "service": service})),
            )
                .into_response()
        }
    }
}

async fn deploy_tool() -> (String, Arc<Mutex<DeployTool>>) {
    let tool = Arc::new(Mutex::new(DeployTool::default()));
    let app = axum::Router::new()
        .route("/api/rollback/{service}", post(rollback_endpoint))
        .with_state(tool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), tool)
}

fn hook(base: &str) -> RollbackHook {
    RollbackHook {
        url: format!("{base}/api/rollback/{{{{ change.service }}}}"),
        method: Some("POST".into()),
        headers: [("Authorization".to_string(), "Bearer hook-secret".to_string())].into(),
        body: Some(r#"{"to_before": "{{ change.version }}", "change": {{ change.id }}, "incident": {{ incident.id }}, "by": "{{ actor }}"}"#.into()),
    }
}

async fn setup(app: &TestApp, service: &str) -> (i64, i64) {
    let started = (Utc::now() - Duration::minutes(5)).to_rfc3339();
    let (s, b) = app
        .post_json(
            "/hooks/changes",
            json!({"kind": "deploy", "service": service, "version": "v2.3.1",
        "author": "alice", "summary": "Deploy v2.3.1", "started_at": started}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let change = b["change"]["id"].as_i64().unwrap();
    let (_, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Errors", "severity": "P1", "service": service}),
        )
        .await;
    let id = inc["id"].as_i64().unwrap();
    alert(app, id, "fp-1", EventKind::AlertFiring).await;
    (change, id)
}

async fn alert(app: &TestApp, id: i64, fingerprint: &str, kind: EventKind) {
    let fp = fingerprint.to_string();
    app.engine()
        .apply(id, move |_, now| {
            Ok(vec![NewEvent::new(kind, now, None)
                .data(json!({"fingerprint": fp, "alertname": "HighErrorRate", "source": "alertmanager",
                    "starts_at": now.to_rfc3339(), "ends_at": now.to_rfc3339()}))
                .key(format!("test:{kind}:{fp}"))])
        })
        .await
        .unwrap();
}

async fn phases(app: &TestApp, id: i64) -> Vec<String> {
    app.events_of(id, "rollback")
        .await
        .iter()
        .map(|e| e["data"]["phase"].as_str().unwrap().to_string())
        .collect()
}

async fn wait_phase(app: &TestApp, id: i64, phase: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if phases(app, id).await.iter().any(|p| p == phase) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "no `{phase}` rollback event; got {:?}",
        phases(app, id).await
    );
}

async fn rollback_is_called_once_under_retries_and_verified(backend: Backend) {
    let (base, tool) = deploy_tool().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.changes.rollback.insert("checkout".into(), hook(&base));
        c.changes.verify_window_secs = 30;
        c.changes.jobs_tick_ms = 50;
        c.changes.rollbackers = vec!["alice".into()];
    })
    .await;
    let (change, id) = setup(&app, "checkout").await;
    let ctx = |actor: &str| common::web_ctx(Some(id), actor);
    let reply = app
        .command(&format!("/inc rollback chg-{change}"), &ctx("mallory"))
        .await;
    assert!(
        !reply.ok
            && reply.text.contains(
                "running a rollback needs the commander, an admin or alice; mallory is a responder"
            ),
        "{reply:?}"
    );
    let reply = app
        .command(&format!("/inc rollback chg-{change}"), &ctx("alice"))
        .await;
    assert!(reply.ok, "{reply:?}");
    let again = app
        .command(&format!("/inc rollback chg-{change}"), &ctx("alice"))
        .await;
    assert!(
        !again.ok && again.text.contains("already rolled back"),
        "{again:?}"
    );
    wait_phase(&app, id, "executed").await;
    {
        let t = tool.lock().unwrap();
        assert_eq!(
            t.attempts.len(),
            3,
            "503, 429, then success: {:?}",
            t.attempts
        );
        assert!(
            t.attempts
                .iter()
                .all(|(k, s)| *k == t.attempts[0].0 && s == "checkout" && !k.is_empty())
        );
        assert_eq!(t.performed.len(), 1);
        assert_eq!(
            t.performed[0].1,
            json!({"to_before": "v2.3.1", "change": change, "incident": id, "by": "alice"})
        );
    }
    let (_, c) = app.get_json(&format!("/api/v1/changes/{change}")).await;
    assert_eq!(c["change"]["status"], "rolled-back", "{c}");
    let (_, list) = app.get_json("/api/v1/changes?service=checkout").await;
    let rb = list["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rollback_of"] == change)
        .unwrap()
        .clone();
    assert_eq!(
        (rb["status"].as_str(), rb["author"].as_str()),
        (Some("verifying"), Some("alice")),
        "{rb}"
    );
    // The alerts resolve: the verification job reports success.
    alert(&app, id, "fp-1", EventKind::AlertResolved).await;
    wait_phase(&app, id, "verified").await;
    assert_eq!(
        phases(&app, id).await,
        ["requested", "executed", "verified"]
    );
    let (_, c) = app.get_json(&format!("/api/v1/changes/{}", rb["id"])).await;
    let steps: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["executing", "verifying", "done"]);
    let store = app.engine().store().clone();
    app.eventually("the verification is posted in the room", || {
        let store = store.clone();
        async move {
            store
                .room_posts(id, "web", 0)
                .await
                .unwrap_or_default()
                .iter()
                .any(|p| {
                    p.text
                        .contains(&format!("Rollback of chg-{change} verified"))
                })
        }
    })
    .await;
    assert_eq!(
        app.engine()
            .store()
            .pending_jobs("rollback_verify")
            .await
            .unwrap(),
        0
    );
    assert_eq!(tool.lock().unwrap().attempts.len(), 3);
}
both_backends!(verified, rollback_is_called_once_under_retries_and_verified);

async fn unresolved_alerts_are_reported_not_verified_after_a_restart(backend: Backend) {
    let (base, tool) = deploy_tool().await;
    let app = TestApp::spawn_with(backend, |c| {
        c.changes.rollback.insert("payments".into(), hook(&base));
        c.changes.verify_window_secs = 3;
        c.changes.jobs_tick_ms = 50;
    })
    .await;
    let (change, id) = setup(&app, "payments").await;
    let ctx = common::web_ctx(Some(id), "bob");
    // The incident's commander runs rollbacks.
    let took = app.command("/inc role commander @me", &ctx).await;
    assert!(took.ok, "{took:?}");
    let reply = app.command(&format!("/inc rollback {change}"), &ctx).await;
    assert!(reply.ok, "{reply:?}");
    wait_phase(&app, id, "executed").await;
    // The verification is a durable job: it survives a restart.
    let app = app.restart().await;
    wait_phase(&app, id, "not_verified").await;
    assert_eq!(
        phases(&app, id).await,
        ["requested", "executed", "not_verified"]
    );
    assert_eq!(tool.lock().unwrap().performed.len(), 1);
    // A service without a hook is refused with the reason.
    let (s, b) = app
        .post_json(
            "/hooks/changes",
            json!({"service": "search", "summary": "Deploy search", "status": "done"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let reply = app
        .command(&format!("/inc rollback chg-{}", b["change"]["id"]), &ctx)
        .await;
    assert!(
        !reply.ok
            && reply
                .text
                .contains("no rollback hook is configured for search"),
        "{reply:?}"
    );
}
both_backends!(
    not_verified,
    unresolved_alerts_are_reported_not_verified_after_a_restart
);

async fn a_refused_hook_is_reported_failed(backend: Backend) {
    let (base, tool) = deploy_tool().await;
    let app = TestApp::spawn_with(backend, |c| {
        let mut h = hook(&base);
        h.headers
            .insert("Authorization".into(), "Bearer wrong".into());
        c.changes.rollback.insert("cart".into(), h);
        c.changes.jobs_tick_ms = 50;
    })
    .await;
    let (change, id) = setup(&app, "cart").await;
    let ctx = common::web_ctx(Some(id), "bob");
    // The incident's commander runs rollbacks.
    let took = app.command("/inc role commander @me", &ctx).await;
    assert!(took.ok, "{took:?}");
    let reply = app
        .command(&format!("/inc rollback chg-{change}"), &ctx)
        .await;
    assert!(reply.ok, "{reply:?}");
    wait_phase(&app, id, "failed").await;
    assert_eq!(phases(&app, id).await, ["requested", "failed"]);
    assert!(tool.lock().unwrap().performed.is_empty());
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=200"))
        .await;
    let failed = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "rollback" && e["data"]["phase"] == "failed")
        .unwrap();
    assert!(
        failed["text"]
            .as_str()
            .unwrap()
            .contains("401 Unauthorized"),
        "{failed}"
    );
    let rb = failed["data"]["rollback_change_id"].as_i64().unwrap();
    let (_, c) = app.get_json(&format!("/api/v1/changes/{rb}")).await;
    assert_eq!(c["change"]["status"], "failed");
}
both_backends!(failed, a_refused_hook_is_reported_failed);
