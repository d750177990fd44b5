//! The rollback hook's templates encode what they splice: a hostile service name and version reach the
//! configured path and JSON fields as data, the hook's credentials (a header, a token in the query)
//! never sit in the outbox, its API or the timeline — the deliverer renders the URL from the
//! configuration when it sends — and a failure posted to the room carries neither the query string
//! nor the upstream body.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::{Backend, TestApp};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use warroom::config::RollbackHook;

const SERVICE: &str = "../../admin/wipe?x=";
const VERSION: &str = r#"v1", "force": true, "x": ""#;
const SECRET: &str = "Bearer hook-secret-7f3a9c";

/// What the deploy tool saw: raw path and query, the Authorization header and the body.
type Seen = Arc<Mutex<Vec<(String, Option<String>, Option<String>, String)>>>;

async fn endpoint(
    State((seen, status)): State<(Seen, StatusCode)>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let query = uri.query().unwrap_or_default().to_string();
    seen.lock().unwrap().push((
        uri.path().to_string(),
        uri.query().map(String::from),
        auth,
        body,
    ));
    // An upstream that echoes what it was sent, as error pages often do.
    (
        status,
        format!("upstream-body: internal detail token=abc123 for {query}"),
    )
        .into_response()
}

async fn deploy_tool(status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .fallback(endpoint)
        .with_state((seen.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn hook(base: &str) -> RollbackHook {
    RollbackHook {
        url: format!(
            "{base}/api/rollback/{{{{ change.service }}}}?to={{{{ change.version }}}}&key=q-secret"
        ),
        method: Some("POST".into()),
        headers: [
            ("Authorization".to_string(), SECRET.to_string()),
            ("X-Version".to_string(), "{{ change.version }}".to_string()),
        ]
        .into(),
        body: Some(
            r#"{"service": "{{ change.service }}", "version": "{{ change.version }}", "incident": {{ incident.id }}}"#
                .into(),
        ),
    }
}

async fn rollback(app: &TestApp) -> (i64, i64) {
    let (s, b) = app
        .post_json(
            "/hooks/changes",
            json!({"kind": "deploy", "service": SERVICE, "version": VERSION, "summary": "Deploy", "started_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let change = b["change"]["id"].as_i64().unwrap();
    let id = common::declare(app, "Errors", "P2").await;
    let reply = app
        .command(
            &format!("/inc rollback chg-{change}"),
            &common::web_ctx(Some(id), "alice"),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    (change, id)
}

async fn spliced_values_arrive_as_data(backend: Backend) {
    let (base, seen) = deploy_tool(StatusCode::ACCEPTED).await;
    let app = TestApp::spawn_with(backend, |c| {
        c.changes.rollback.insert(SERVICE.into(), hook(&base));
        c.changes.jobs_tick_ms = 50;
        c.changes.rollbackers = vec!["alice".into()];
    })
    .await;
    let (_, id) = rollback(&app).await;
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let stored =
        serde_json::to_string(&entries.iter().map(|(e, _)| &e.payload).collect::<Vec<_>>())
            .unwrap();
    assert!(stored.contains("header_names"), "{stored}");
    assert!(
        stored.contains(r#""shown_url":"http://127.0.0.1"#),
        "{stored}"
    );
    for leak in ["hook-secret", "q-secret"] {
        assert!(
            !stored.contains(leak),
            "the credential `{leak}` is in the outbox: {stored}"
        );
    }
    app.eventually("the hook is called", || async {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    app.eventually("the delivery is recorded", || async {
        let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
        entries
            .iter()
            .any(|(e, _)| e.destination == "webhook" && e.result.is_some())
    })
    .await;
    let entries = app.engine().store().outbox_for_incident(id).await.unwrap();
    let rows = serde_json::to_string(
        &entries
            .iter()
            .map(|(e, _)| json!({"payload": e.payload, "result": e.result, "error": e.last_error}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(rows.contains("upstream-body"), "{rows}");
    for leak in ["hook-secret", "q-secret"] {
        assert!(!rows.contains(leak), "`{leak}` in the outbox rows: {rows}");
    }
    let (path, query, auth, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(path, "/api/rollback/..%2F..%2Fadmin%2Fwipe%3Fx%3D");
    assert_eq!(
        query.as_deref(),
        Some("to=v1%22%2C%20%22force%22%3A%20true%2C%20%22x%22%3A%20%22&key=q-secret")
    );
    let segment = path.rsplit('/').next().unwrap();
    assert_eq!(
        percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .unwrap(),
        SERVICE,
        "the segment decodes to the service"
    );
    assert_eq!(auth.as_deref(), Some(SECRET));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"service": SERVICE, "version": VERSION, "incident": id})
    );
}
both_backends!(spliced_values, spliced_values_arrive_as_data);

async fn failures_in_the_room_carry_no_query_or_upstream_body(backend: Backend) {
    let (base, seen) = deploy_tool(StatusCode::FORBIDDEN).await;
    let app = TestApp::spawn_with(backend, |c| {
        c.changes.rollback.insert(SERVICE.into(), hook(&base));
        c.changes.jobs_tick_ms = 50;
        c.changes.rollbackers = vec!["alice".into()];
    })
    .await;
    let (_, id) = rollback(&app).await;
    let failed = || async {
        app.events_of(id, "rollback")
            .await
            .into_iter()
            .find(|e| e["data"]["phase"] == "failed")
    };
    app.eventually("the rollback fails", || async { failed().await.is_some() })
        .await;
    assert_eq!(seen.lock().unwrap().len(), 1, "403 is not retried");
    let text = failed().await.unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("403"), "{text}");
    for leak in ["q-secret", "to=", "upstream-body", "abc123", "hook-secret"] {
        assert!(!text.contains(leak), "`{leak}` in the room: {text}");
    }
    let (status, api) = app.get_json("/api/v1/outbox?state=failed").await;
    assert_eq!(status, 200, "{api}");
    let api = api.to_string();
    assert!(api.contains("403"), "the failed hook call is listed: {api}");
    let (status, timeline) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=1000"))
        .await;
    assert_eq!(status, 200, "{timeline}");
    let timeline = timeline.to_string();
    for leak in ["q-secret", "hook-secret"] {
        assert!(!api.contains(leak), "`{leak}` in GET /api/v1/outbox: {api}");
        assert!(
            !timeline.contains(leak),
            "`{leak}` on the timeline: {timeline}"
        );
    }
}
both_backends!(
    failures_are_room_safe,
    failures_in_the_room_carry_no_query_or_upstream_body
);

async fn a_header_with_a_line_break_is_refused(backend: Backend) {
    let (base, seen) = deploy_tool(StatusCode::ACCEPTED).await;
    let app = TestApp::spawn_with(backend, |c| {
        c.changes.rollback.insert("checkout".into(), hook(&base));
        c.changes.rollbackers = vec!["alice".into()];
    })
    .await;
    let (s, b) = app
        .post_json(
            "/hooks/changes",
            json!({"kind": "deploy", "service": "checkout", "version": "v1\r\nX-Admin: yes", "summary": "Deploy", "started_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let change = b["change"]["id"].as_i64().unwrap();
    let id = common::declare(&app, "Errors", "P2").await;
    let reply = app
        .engine()
        .run_command(
            &format!("/inc rollback chg-{change}"),
            &common::web_ctx(Some(id), "alice"),
        )
        .await;
    let text = match reply {
        Ok(r) => {
            assert!(!r.ok, "{r:?}");
            r.text
        }
        Err(e) => e.to_string(),
    };
    assert!(text.contains("control character"), "{text}");
    assert!(seen.lock().unwrap().is_empty());
}
both_backends!(header_line_breaks, a_header_with_a_line_break_is_refused);
