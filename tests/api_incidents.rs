//! Black-box tests of `/api/v1/incidents…` on both backends.

mod common;

use common::{Backend, TestApp, declare};
use serde_json::json;

async fn declare_work_resolve_gives_the_complete_timeline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "Checkout 5xx", "severity": "P1", "service": "checkout", "type": "degradation"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    assert_eq!(inc["status"], "declared");
    assert_eq!(inc["severity"], "P1");
    assert_eq!(inc["type"], "degradation");
    assert_eq!(inc["service"], "checkout");
    assert_eq!(inc["roles"], json!({}));
    let id = inc["id"].as_i64().unwrap();

    let (s, body) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"roles": {"commander": "alice"}, "status": "triaging"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["roles"]["commander"], "alice");
    assert_eq!(body["status"], "triaging");
    let (s, _) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/timeline"),
            json!({"text": "rolled back v2.3"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, body) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"severity": "P0"}),
        )
        .await;
    assert_eq!((s, body["severity"].as_str()), (200, Some("P0")));
    let (s, body) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["resolved_at"].is_string());

    let (s, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "declared",
            "role_assigned",
            "status_changed",
            "note",
            "severity_changed",
            "status_changed",
            "postmortem"
        ]
    );
    let first = &tl["events"][0];
    for field in ["id", "kind", "at", "recorded_at", "actor", "data"] {
        assert!(
            first.get(field).is_some(),
            "timeline event lacks {field}: {first}"
        );
    }
    assert_eq!(tl["events"][3]["text"], "rolled back v2.3");
    assert_eq!(tl["next"], serde_json::Value::Null);

    let (s, got) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(got["status"], "resolved");
    assert!(got["mttr_seconds"].is_number());
}
both_backends!(
    declare_work_resolve,
    declare_work_resolve_gives_the_complete_timeline
);

async fn illegal_transition_is_409_naming_the_legal_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "DB down", "P0").await;
    let (s, body) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert_eq!(
        body["error"]["message"],
        "cannot move an incident from declared to closed; legal next statuses: triaging, mitigating, resolved, cancelled"
    );
    assert_eq!(
        body["error"]["legal"],
        json!(["triaging", "mitigating", "resolved", "cancelled"])
    );
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(
        tl["events"].as_array().unwrap().len(),
        1,
        "a refused change writes nothing"
    );
}
both_backends!(
    illegal_transition,
    illegal_transition_is_409_naming_the_legal_ones
);
