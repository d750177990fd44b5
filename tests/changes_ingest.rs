//! Change ingest in every format, from the shapes the sources really send, with their authentication.

mod common;

use common::{Backend, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

async fn post_with(
    app: &TestApp,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    common::split(req.send().await.unwrap()).await
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn native_changes_are_recorded_updated_and_checked(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest.changes.token = Some("chg-token".into())
    })
    .await;
    let auth = [("authorization", "Bearer chg-token")];
    let body = json!({"kind": "deploy", "services": ["checkout"], "environment": "production",
        "summary": "Deploy checkout v2.3.1", "author": "alice", "version": "v2.3.1",
        "links": [{"href": "https://ci.example.com/runs/812", "text": "pipeline"}],
        "started_at": "2026-11-20T13:54:00Z", "id": "ci-run-812"});
    let (s, b) = post_with(&app, "/hooks/changes", &body.to_string(), &[]).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{b}"
    );
    let (s, b) = post_with(
        &app,
        "/hooks/changes",
        &body.to_string(),
        &[("authorization", "Bearer nope")],
    )
    .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = post_with(&app, "/hooks/changes", &body.to_string(), &auth).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["change"]["status"], "executing");
    let id = b["change"]["id"].as_i64().unwrap();
    let done = json!({"services": ["checkout"], "summary": "Deploy checkout v2.3.1", "id": "ci-run-812",
        "status": "done", "ended_at": "2026-11-20T13:58:00Z"});
    let (s, b) = post_with(&app, "/hooks/changes", &done.to_string(), &auth).await;
    assert_eq!((s, b["result"].as_str()), (200, Some("updated")), "{b}");
    assert_eq!(b["change"]["id"].as_i64(), Some(id));
    let (s, b) = app.get_json(&format!("/api/v1/changes/chg-{id}")).await;
    assert_eq!(s, 200, "{b}");
    let steps: Vec<&str> = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["executing", "done"]);
    assert_eq!(b["change"]["ended_at"], "2026-11-20T13:58:00Z");
    for (bad, field) in [
        (r#"{"summary": "x"}"#, "services"),
        (
            r#"{"service": "a", "summary": "x", "kind": "party"}"#,
            "kind",
        ),
        (
            r#"{"service": "a", "summary": "x", "started_at": "yesterday"}"#,
            "started_at",
        ),
        (r#"{"service": "a""#, "body"),
    ] {
        let (s, b) = post_with(&app, "/hooks/changes", bad, &auth).await;
        assert_eq!(s, 400, "{bad}: {b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{b}"
        );
    }
    let (s, b) = app.get_json("/api/v1/changes?service=checkout").await;
    assert_eq!((s, b["changes"].as_array().unwrap().len()), (200, 1), "{b}");
}
both_backends!(native, native_changes_are_recorded_updated_and_checked);

async fn pagerduty_change_events_map_routing_keys_to_services(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest
            .pagerduty
            .routing_keys
            .insert("R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO".into(), "billing".into());
    })
    .await;
    let event = r#"{
      "routing_key": "R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO",
      "payload": {
        "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
        "timestamp": "2020-07-17T08:42:58.315+0000",
        "source": "prod-build-agent-i-0b148d1040d565540",
        "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
      },
      "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]
    }"#;
    let (s, b) = post_with(&app, "/hooks/pagerduty/v2/change/enqueue", event, &[]).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(
        b,
        json!({"status": "success", "message": "Change event processed"})
    );
    let (_, list) = app.get_json("/api/v1/changes?service=billing").await;
    let c = &list["changes"][0];
    assert_eq!(
        (
            c["status"].as_str(),
            c["kind"].as_str(),
            c["source"].as_str()
        ),
        (Some("done"), Some("deploy"), Some("pagerduty"))
    );
    assert_eq!(c["started_at"], "2020-07-17T08:42:58.315Z");
    let unknown = event.replace("R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO", "UNKNOWNKEY");
    let (s, _) = post_with(&app, "/hooks/pagerduty/v2/change/enqueue", &unknown, &[]).await;
    assert_eq!(s, 401);
    let (s, b) = post_with(
        &app,
        "/hooks/pagerduty/v2/change/enqueue",
        r#"{"routing_key": "R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO", "payload": {}}"#,
        &[],
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("payload.summary:"),
        "{b}"
    );
}
both_backends!(
    pagerduty,
    pagerduty_change_events_map_routing_keys_to_services
);

fn deployment() -> Value {
    json!({
      "url": "https://api.github.com/repos/octo-org/checkout/deployments/1158209417",
      "id": 1158209417, "node_id": "DE_kwDOJ8oZ9M5FCJyJ", "task": "deploy", "original_environment": "production",
      "environment": "production", "description": null, "created_at": "2026-11-20T13:54:00Z",
      "updated_at": "2026-11-20T13:54:00Z",
      "statuses_url": "https://api.github.com/repos/octo-org/checkout/deployments/1158209417/statuses",
      "repository_url": "https://api.github.com/repos/octo-org/checkout",
      "creator": {"login": "alice", "id": 583231, "type": "User", "site_admin": false},
      "sha": "9f1e3c2b7a0d4e5f6a7b8c9d0e1f2a3b4c5d6e7f", "ref": "v2.3.1", "payload": {},
      "transient_environment": false, "production_environment": true, "performed_via_github_app": null
    })
}

fn repository() -> Value {
    json!({"id": 667689972, "node_id": "R_kgDOJ8oZ9A", "name": "checkout", "full_name": "octo-org/checkout",
        "private": true, "html_url": "https://github.com/octo-org/checkout", "default_branch": "main"})
}

async fn github_deployments_are_signed_idempotent_and_move_on(backend: Backend) {
    let secret = "It's a Secret to Everybody";
    let app = TestApp::spawn_with(backend, |c| c.ingest.github.secret = Some(secret.into())).await;
    let created = json!({"action": "created", "deployment": deployment(), "workflow": null, "workflow_run": null,
        "repository": repository(), "sender": {"login": "alice", "id": 583231, "type": "User"}})
    .to_string();
    let sig = sign(secret, &created);
    let headers = |event: &'static str, delivery: &'static str, sig: &str| {
        vec![
            ("x-github-event", event.to_string()),
            ("x-github-delivery", delivery.to_string()),
            ("x-hub-signature-256", sig.to_string()),
        ]
    };
    let send = |h: Vec<(&'static str, String)>, body: String| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_with(app, "/hooks/github", &body, &refs).await
        }
    };
    let (s, b) = send(
        headers(
            "deployment",
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "sha256=00",
        ),
        created.clone(),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = send(
        vec![
            ("x-github-event", "deployment".into()),
            ("x-github-delivery", "d0".into()),
        ],
        created.clone(),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = send(
        headers("deployment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", &sig),
        created.clone(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let c = &b["change"];
    assert_eq!(
        (
            c["service"].as_str(),
            c["version"].as_str(),
            c["status"].as_str()
        ),
        (
            Some("checkout"),
            Some("9f1e3c2b7a0d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"),
            Some("executing")
        ),
        "the version is the deployed commit"
    );
    assert_eq!(
        c["summary"],
        "Deploy octo-org/checkout@v2.3.1 (9f1e3c2) to production"
    );
    assert_eq!(c["author"], "alice");
    let id = c["id"].as_i64().unwrap();
    let (s, b) = send(
        headers("deployment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", &sig),
        created.clone(),
    )
    .await;
    assert_eq!((s, b["result"].as_str()), (200, Some("duplicate")), "{b}");
    let status = json!({"action": "created", "deployment_status": {
        "url": "https://api.github.com/repos/octo-org/checkout/deployments/1158209417/statuses/2417283610",
        "id": 2417283610u64, "node_id": "DES_kwDOJ8oZ9M6QFIQa", "state": "success",
        "creator": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
        "description": "Deployment finished successfully.", "environment": "production",
        "target_url": "https://github.com/octo-org/checkout/actions/runs/6921398723",
        "created_at": "2026-11-20T13:58:30Z", "updated_at": "2026-11-20T13:58:30Z",
        "deployment_url": "https://api.github.com/repos/octo-org/checkout/deployments/1158209417",
        "repository_url": "https://api.github.com/repos/octo-org/checkout",
        "environment_url": "https://checkout.example.com",
        "log_url": "https://github.com/octo-org/checkout/actions/runs/6921398723"},
        "deployment": deployment(), "repository": repository(), "sender": {"login": "github-actions[bot]"}})
    .to_string();
    let sig2 = sign(secret, &status);
    let (s, b) = send(
        headers(
            "deployment_status",
            "8e1b7c00-cc78-11e3-8a1b-4c9367dc0958",
            &sig2,
        ),
        status.clone(),
    )
    .await;
    assert_eq!((s, b["result"].as_str()), (200, Some("updated")), "{b}");
    assert_eq!(
        (b["change"]["id"].as_i64(), b["change"]["status"].as_str()),
        (Some(id), Some("done"))
    );
    assert_eq!(b["change"]["ended_at"], "2026-11-20T13:58:30Z");
    let ping = r#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#.to_string();
    let (s, b) = send(headers("ping", "p-1", &sign(secret, &ping)), ping).await;
    assert_eq!((s, b["result"].as_str()), (200, Some("ignored")), "{b}");
    let broken = r#"{"action": "created", "deployment": {"id": 1}}"#.to_string();
    let (s, b) = send(headers("deployment", "b-1", &sign(secret, &broken)), broken).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("repository.full_name:"),
        "{b}"
    );
}
both_backends!(github, github_deployments_are_signed_idempotent_and_move_on);

async fn argocd_notifications_follow_the_sync(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest.argocd.token = Some("argo-token".into())
    })
    .await;
    let auth = [("authorization", "Bearer argo-token")];
    let running = r#"{"app": "checkout-prod", "project": "default", "phase": "Running", "sync_status": "OutOfSync",
        "revision": "9f1e3c2b7a0d4e5f6a7b8c9d0e1f2a3b4c5d6e7f", "started_at": "2026-11-20T13:54:00Z",
        "finished_at": "<no value>", "initiated_by": "alice", "message": "<no value>",
        "repo": "https://github.com/octo-org/deploy.git", "destination": "checkout", "service": "checkout",
        "url": "https://argocd.example.com/applications/checkout-prod"}"#;
    let (s, _) = post_with(&app, "/hooks/argocd", running, &[]).await;
    assert_eq!(s, 401);
    let (s, b) = post_with(&app, "/hooks/argocd", running, &auth).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (
            b["change"]["status"].as_str(),
            b["change"]["service"].as_str()
        ),
        (Some("executing"), Some("checkout"))
    );
    assert_eq!(b["change"]["version"], "9f1e3c2b7a0d");
    assert!(b["change"]["ended_at"].is_null(), "{b}");
    let done = running
        .replace("\"Running\"", "\"Succeeded\"")
        .replace(
            "\"finished_at\": \"<no value>\"",
            "\"finished_at\": \"2026-11-20T13:56:10Z\"",
        )
        .replace(
            "\"message\": \"<no value>\"",
            "\"message\": \"successfully synced (all tasks run)\"",
        );
    let (s, b) = post_with(&app, "/hooks/argocd", &done, &auth).await;
    assert_eq!(
        (s, b["result"].as_str(), b["change"]["status"].as_str()),
        (200, Some("updated"), Some("done")),
        "{b}"
    );
    assert_eq!(b["change"]["ended_at"], "2026-11-20T13:56:10Z");
    let (s, b) = post_with(
        &app,
        "/hooks/argocd",
        &running.replace("\"Running\"", "\"Exploded\""),
        &auth,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("phase:"),
        "{b}"
    );
    let (s, b) = post_with(&app, "/hooks/argocd", r#"{"phase": "Running"}"#, &auth).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"].as_str().unwrap().starts_with("app:"),
        "{b}"
    );
}
both_backends!(argocd, argocd_notifications_follow_the_sync);

async fn racing_first_reports_of_one_change_make_one_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for n in 0..8 {
        let id = format!("race-{n}");
        let start =
            json!({"service": "checkout", "summary": "Deploy", "id": id, "status": "executing"});
        let done = json!({"service": "checkout", "summary": "Deploy", "id": id, "status": "done"});
        let (a, b) = tokio::join!(
            app.post_json("/hooks/changes", start),
            app.post_json("/hooks/changes", done)
        );
        assert!(a.0 < 300 && b.0 < 300, "{a:?} {b:?}");
    }
    let (_, list) = app.get_json("/api/v1/changes?limit=100").await;
    let changes = list["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 8, "{list}");
    assert!(changes.iter().all(|c| c["status"] == "done"), "{list}");
}
both_backends!(race, racing_first_reports_of_one_change_make_one_change);
