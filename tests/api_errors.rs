//! Bad input gets the exact status and a message naming the field or reason, and writes nothing.

mod common;

use common::{Backend, TestApp, declare, split};
use serde_json::json;

async fn malformed_and_mistyped_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let send = |body: &'static str, ct: Option<&'static str>| {
        let mut req = app.client.post(app.url("/api/v1/incidents")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        async move { split(req.send().await.unwrap()).await }
    };
    let json_ct = Some("application/json");

    let (s, b) = send(r#"{"title": "x", "severity": "P1""#, json_ct).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["code"], "malformed_json");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON: "),
        "{b}"
    );

    let (s, b) = send(r#"{"title": 5, "severity": "P1"}"#, json_ct).await;
    assert_eq!(s, 400);
    assert_eq!(b["error"]["code"], "invalid_body");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("title: invalid type: integer `5`"),
        "{b}"
    );

    let (s, b) = send(r#"{"title": "x", "severity": "P9"}"#, json_ct).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("severity: unknown variant `P9`"),
        "{b}"
    );

    let (s, b) = send(r#"{"severity": "P1"}"#, json_ct).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `title`"),
        "{b}"
    );

    let (s, b) = send(
        r#"{"title": "x", "severity": "P1", "colour": "red"}"#,
        json_ct,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{b}"
    );

    let (s, b) = send(r#"{"title": "   ", "severity": "P1"}"#, json_ct).await;
    assert_eq!(s, 422);
    assert_eq!(b["error"]["message"], "title: title must not be empty");

    let (s, b) = send(r#"{"title": "x", "severity": "P1"}"#, None).await;
    assert_eq!(s, 415);
    assert_eq!(b["error"]["code"], "unsupported_media_type");

    let (s, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(s, 200);
    assert_eq!(
        list["incidents"],
        json!([]),
        "no refused request wrote anything"
    );
}
both_backends!(malformed, malformed_and_mistyped_bodies);

async fn oversized_unknown_and_bad_ids(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.server.max_body_bytes = 4096).await;
    let big = json!({"title": "x".repeat(10_000), "severity": "P1"});
    let (s, b) = app.post_json("/api/v1/incidents", big).await;
    assert_eq!(s, 413);
    assert_eq!(b["error"]["code"], "payload_too_large");

    let (s, b) = app.get_json("/api/v1/incidents/999").await;
    assert_eq!(s, 404);
    assert_eq!(b["error"]["message"], "incident 999 not found");
    let (s, b) = app
        .patch_json("/api/v1/incidents/999", json!({"status": "resolved"}))
        .await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (404, Some("incident 999 not found"))
    );
    let (s, b) = app.get_json("/api/v1/incidents/abc").await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (400, Some("incident id `abc` is not a positive number"))
    );
    let (s, b) = app.get_json("/api/v1/incidents/999/timeline").await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app.get_json("/api/v1/nowhere").await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")));

    let id = declare(&app, "Payments slow", "P2").await;
    let (s, b) = app
        .patch_json(&format!("/api/v1/incidents/{id}"), json!({}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["error"]["message"],
        "nothing to change: give status, severity or roles"
    );
    let (s, b) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"status": "sleeping"}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status: unknown variant `sleeping`"),
        "{b}"
    );
    let (s, b) = app
        .patch_json(
            &format!("/api/v1/incidents/{id}"),
            json!({"roles": {"boss": "x"}}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `boss`"),
        "{b}"
    );
    let (s, b) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/timeline"),
            json!({"text": ""}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (422, Some("text: must not be empty"))
    );
    let (s, b) = app.get_json("/api/v1/incidents?severity=P7").await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (
            400,
            Some("severity: unknown severity `P7`: expected one of P0, P1, P2, P3")
        )
    );
    let (s, b) = app.get_json("/api/v1/incidents?limit=0").await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (400, Some("limit: must be between 1 and 500"))
    );
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(
        tl["events"].as_array().unwrap().len(),
        1,
        "refusals wrote nothing"
    );
}
both_backends!(oversized_and_unknown, oversized_unknown_and_bad_ids);

async fn bearer_tokens_guard_the_api(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.api.tokens = vec!["s3cret".into(), "other".into()]
    })
    .await;
    let (s, b) = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (401, Some("missing `Authorization: Bearer <token>` header"))
    );
    let resp = app
        .client
        .get(app.url("/api/v1/incidents"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let (s, b) = split(resp).await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (401, Some("invalid bearer token"))
    );
    let resp = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth("other")
        .json(&json!({"title": "Auth ok", "severity": "P3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (s, _) = app.get_json("/healthz").await;
    assert_eq!(s, 200, "operations endpoints stay open");
}
both_backends!(bearer_tokens, bearer_tokens_guard_the_api);

async fn list_filters_by_status_severity_and_service(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = declare(&app, "A", "P0").await;
    let (_, _) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "B", "severity": "P1", "service": "db"}),
        )
        .await;
    let c = declare(&app, "C", "P2").await;
    app.patch_json(
        &format!("/api/v1/incidents/{c}"),
        json!({"status": "resolved"}),
    )
    .await;
    let titles = |v: &serde_json::Value| {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, v) = app.get_json("/api/v1/incidents?status=open").await;
    assert_eq!(titles(&v), ["B", "A"]);
    let (_, v) = app.get_json("/api/v1/incidents?status=resolved").await;
    assert_eq!(titles(&v), ["C"]);
    let (_, v) = app.get_json("/api/v1/incidents?severity=P0,P2").await;
    assert_eq!(titles(&v), ["C", "A"]);
    let (_, v) = app.get_json("/api/v1/incidents?service=db").await;
    assert_eq!(titles(&v), ["B"]);
    let (_, v) = app.get_json("/api/v1/incidents?limit=2").await;
    assert_eq!(titles(&v), ["C", "B"]);
    let next = v["next"]
        .as_i64()
        .expect("a next cursor when the page is full");
    let (_, v) = app
        .get_json(&format!("/api/v1/incidents?limit=2&before={next}"))
        .await;
    assert_eq!(titles(&v), ["A"]);
    assert_eq!(v["next"], serde_json::Value::Null);
    assert!(a > 0);
}
both_backends!(list_filters, list_filters_by_status_severity_and_service);
