//! The change gate: every reason, durable freezes, overrides, and `warroom change check` from CI.

mod common;

use common::{Backend, TestApp};
use serde_json::json;
use warroom::config::FreezeWindowConfig;

fn catalog_file(dir: &std::path::Path) -> String {
    let path = dir.join("services.toml");
    std::fs::write(
        &path,
        r#"
[[service]]
name = "checkout"
owner = "payments-team"
depends_on = ["db"]

[[service]]
name = "db"

[[service]]
name = "search"
"#,
    )
    .unwrap();
    path.display().to_string()
}

async fn gate(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    let (s, b) = app.post_json("/api/v1/changes/gate", body).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn cli(args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(args)
        .env_remove("WARROOM_TOKEN")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

async fn every_gate_reason_is_named(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_file(dir.path());
    let app = TestApp::spawn_with(backend, |c| {
        c.catalog.path = catalog;
        c.changes.overriders = vec!["carol".into()];
        c.changes.freeze_windows = vec![FreezeWindowConfig {
            name: "always".into(),
            cron: "* * * * *".into(),
            duration: "5m".into(),
            timezone: Some("Europe/Berlin".into()),
            services: vec!["search".into()],
            kinds: vec![],
            reason: Some("search index rebuild".into()),
        }];
    })
    .await;
    let open = gate(&app, json!({"service": "checkout", "kind": "deploy"})).await;
    assert_eq!(open, json!({"allowed": true, "reasons": [], "details": []}));

    // A recurring window (config, cron in a time zone).
    let b = gate(&app, json!({"service": "search"})).await;
    assert_eq!(b["allowed"], false);
    let r = b["reasons"][0].as_str().unwrap();
    assert!(
        r.starts_with("freeze window `always` is open until")
            && r.ends_with(": search index rebuild"),
        "{r}"
    );

    // A freeze from chat, stored durably.
    let ctx = common::web_ctx(None, "alice");
    let reply = app
        .command("/change freeze checkout 2h release candidate soak", &ctx)
        .await;
    assert!(
        reply.ok && reply.text.contains("froze changes to checkout"),
        "{reply:?}"
    );
    let app = app.restart().await;
    let b = gate(&app, json!({"service": "checkout"})).await;
    let r = b["reasons"][0].as_str().unwrap();
    assert!(
        r.starts_with("change freeze #1 on checkout until")
            && r.ends_with(": release candidate soak"),
        "{b}"
    );
    let (_, f) = app.get_json("/api/v1/changes/freezes").await;
    assert_eq!(f["freezes"][0]["created_by"], "alice");

    // An open incident on a dependency (catalog), and one below the threshold that does not count.
    let (s, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "DB latency", "severity": "P1", "service": "db"}),
        )
        .await;
    assert_eq!(s, 201, "{inc}");
    let (s, _) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Typo", "severity": "P3", "service": "checkout"}),
        )
        .await;
    assert_eq!(s, 201);
    // The error budget pushed through the API.
    let put = |v: f64| {
        app.client
            .put(app.url("/api/v1/services/checkout/error-budget"))
            .json(&json!({"remaining": v}))
            .send()
    };
    let (s, b) = common::split(put(0.0).await.unwrap()).await;
    assert_eq!((s, b["remaining"].as_f64()), (200, Some(0.0)), "{b}");
    let (s, _) = common::split(put(1.5).await.unwrap()).await;
    assert_eq!(s, 400);
    let b = gate(&app, json!({"service": "checkout", "kind": "deploy"})).await;
    let reasons: Vec<&str> = b["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 3, "{b}");
    assert_eq!(
        reasons[1],
        format!("open P1 incident #{} on db, which it depends on", inc["id"])
    );
    assert_eq!(reasons[2], "error budget exhausted (0.0% remaining)");
    let kinds: Vec<&str> = b["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["freeze", "open_incident", "error_budget"]);

    // Overrides: a permitted person opens the gate (recorded), anyone else is named as refused.
    // The overrider is the caller; a `by` naming somebody else is refused.
    let (s, b) = app
        .post_as(
            "/api/v1/changes/gate",
            "mallory",
            json!({"service": "checkout", "override": {"reason": "yolo"}}),
        )
        .await;
    assert_eq!((s, &b["allowed"]), (200, &json!(false)), "{b}");
    assert_eq!(
        b["reasons"][3],
        "override refused: overriding the change gate needs an admin or carol; mallory is a responder"
    );
    let (s, b) = app
        .post_as(
            "/api/v1/changes/gate",
            "mallory",
            json!({"service": "checkout", "override": {"by": "carol", "reason": "yolo"}}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("override.by: `carol` is not the caller (mallory)"),
        "{b}"
    );
    let (s, b) = app
        .post_as(
            "/api/v1/changes/gate",
            "carol",
            json!({"service": "checkout", "override": {"by": "carol", "reason": "hotfix for the outage"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["allowed"].as_bool(), b["overridden_by"].as_str()),
        (Some(true), Some("carol")),
        "{b}"
    );
    assert_eq!(b["reasons"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.engine()
            .store()
            .gate_override_count("checkout")
            .await
            .unwrap(),
        1
    );
    let (s, b) = app
        .post_json("/api/v1/changes/gate", json!({"kind": "deploy"}))
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app
        .post_json(
            "/api/v1/changes/gate",
            json!({"service": "x", "kind": "party"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");

    // From CI: exit 3 with every reason printed, exit 0 when allowed.
    let (code, out) = cli(&[
        "change",
        "check",
        "--service",
        "checkout",
        "--kind",
        "deploy",
        "--url",
        &app.base,
    ])
    .await;
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("- error budget exhausted (0.0% remaining)")
            && out.contains("which it depends on"),
        "{out}"
    );
    let (code, out) = cli(&[
        "change",
        "check",
        "--service",
        "payments",
        "--url",
        &app.base,
    ])
    .await;
    assert_eq!(
        (code, out.trim()),
        (0, "allowed: changes to payments may ship now")
    );
    let (code, out) = cli(&[
        "change",
        "record",
        "--service",
        "payments",
        "--summary",
        "Deploy payments 1.4",
        "--version",
        "1.4",
        "--author",
        "ci",
        "--url",
        &app.base,
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("chg-1 executing (created)"), "{out}");
    let reply = app.command("/change gate search", &ctx).await;
    assert!(
        reply
            .text
            .starts_with("🔴 Changes to search are blocked:\n• freeze window `always`"),
        "{reply:?}"
    );
}
both_backends!(reasons, every_gate_reason_is_named);

async fn approvals_follow_the_lifecycle_and_the_approvers(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.changes.approvers = vec!["bob".into()]).await;
    let (s, c) = app.post_json("/api/v1/changes", json!({"kind": "schema", "service": "db", "summary": "Add index on orders", "status": "planned"})).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (s, _) = app
        .patch_json(
            &format!("/api/v1/changes/{id}"),
            json!({"status": "in-review"}),
        )
        .await;
    assert_eq!(s, 200);
    let mut ctx = common::web_ctx(None, "alice");
    let reply = app
        .command(&format!("/change approve chg-{id}"), &ctx)
        .await;
    assert!(
        !reply.ok
            && reply
                .text
                .contains("approving a change needs an approver or bob; alice is a responder"),
        "{reply:?}"
    );
    ctx.actor = warroom::domain::Actor::named("bob", "bob", "web");
    let reply = app
        .command(&format!("/change approve chg-{id}"), &ctx)
        .await;
    assert!(
        reply.ok && reply.text.contains("bob approved chg-"),
        "{reply:?}"
    );
    let (s, b) = app
        .patch_json(
            &format!("/api/v1/changes/{id}"),
            json!({"status": "planned"}),
        )
        .await;
    assert_eq!(s, 409, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from approved it may go to: executing, failed"),
        "{b}"
    );
    let (_, b) = app.get_json(&format!("/api/v1/changes/{id}")).await;
    let steps: Vec<(&str, &str)> = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["to"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("planned", "api"),
            ("in-review", "api"),
            ("approved", "bob")
        ]
    );
}
both_backends!(approvals, approvals_follow_the_lifecycle_and_the_approvers);
