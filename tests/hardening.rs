//! Hardening on every route: security headers, bounded `/metrics` labels, capped live streams, no
//! off-site redirect, and one JSON error body for every error a client can cause (413s included).

mod common;

use common::{Backend, TestApp};
use futures::StreamExt;
use rand::Rng;
use reqwest::Method;
use serde_json::Value;

/// Every route that takes a body (the method and a path with a real incident id).
fn body_routes(id: i64) -> Vec<(Method, String)> {
    let p = |m: Method, path: &str| (m, path.replace("{id}", &id.to_string()));
    vec![
        p(Method::POST, "/api/v1/changes"),
        p(Method::POST, "/api/v1/changes/gate"),
        p(Method::POST, "/api/v1/changes/freezes"),
        p(Method::PATCH, "/api/v1/changes/1"),
        p(Method::POST, "/api/v1/changes/1/approve"),
        p(Method::PUT, "/api/v1/services/checkout/error-budget"),
        p(Method::POST, "/api/v1/incidents/{id}/correlate"),
        p(Method::POST, "/api/v1/incidents"),
        p(Method::PATCH, "/api/v1/incidents/{id}"),
        p(Method::POST, "/api/v1/incidents/{id}/timeline"),
        p(Method::POST, "/hooks/alertmanager"),
        p(Method::POST, "/hooks/grafana"),
        p(Method::POST, "/hooks/alerts"),
        p(Method::POST, "/hooks/pagerduty/v2/enqueue"),
        p(Method::POST, "/hooks/changes"),
        p(Method::POST, "/hooks/pagerduty/v2/change/enqueue"),
        p(Method::POST, "/hooks/github"),
        p(Method::POST, "/hooks/argocd"),
        p(Method::POST, "/hooks/heartbeat/prometheus"),
        p(Method::POST, "/slack/events"),
        p(Method::POST, "/slack/commands"),
        p(Method::POST, "/slack/interactions"),
        p(Method::POST, "/name"),
        p(Method::POST, "/incidents"),
        p(Method::POST, "/incidents/{id}/messages"),
    ]
}

/// Every route read with GET.
fn get_routes(id: i64) -> Vec<String> {
    [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/reports",
        "/incidents/{id}",
        "/incidents/{id}/postmortem",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/timeline",
        "/api/v1/incidents/{id}/postmortem",
        "/api/v1/changes",
        "/api/v1/changes/freezes",
        "/api/v1/changes/1",
        "/api/v1/alerts",
        "/api/v1/alerts/groups",
        "/api/v1/services",
        "/api/v1/reports",
        "/api/v1/heartbeats",
    ]
    .iter()
    .map(|p| p.replace("{id}", &id.to_string()))
    .collect()
}

fn assert_json_error(status: u16, body: &Value, what: &str) {
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "{what}: {status} without the JSON error object: {body}"
    );
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Headers", "P3").await;
    for path in [
        "/".to_string(),
        format!("/incidents/{id}"),
        "/healthz".into(),
        "/api/v1/incidents".into(),
        "/no/such/page".into(),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    // The room's inline script and style carry the response's nonce, and only it.
    let resp = app
        .client
        .get(app.url(&format!("/incidents/{id}")))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap()
        .to_string();
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")),
        "{html}"
    );
    assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
    assert!(
        !html.contains(" style=\""),
        "inline style attributes are refused by the CSP"
    );
}
both_backends!(
    security_headers,
    every_response_carries_the_security_headers
);

async fn metrics_label_routes_not_paths(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Metrics", "P3").await;
    app.get_json(&format!("/api/v1/incidents/{id}")).await;
    let paths: Vec<String> = {
        let mut rng = rand::rng();
        (0..10_000)
            .map(|_| {
                format!(
                    "/random-{:016x}/{}",
                    rng.random::<u64>(),
                    rng.random::<u32>()
                )
            })
            .collect()
    };
    let client = app.client.clone();
    let statuses: Vec<u16> = futures::stream::iter(paths.iter().cloned())
        .map(|p| {
            let client = client.clone();
            let url = app.url(&p);
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 404));
    let metrics = app.get_text("/metrics").await;
    // Other tests of this process share the recorder: count the distinct route labels.
    let routes: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("warroom_http_request"))
        .filter_map(|l| l.split("route=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        routes.len() < 60,
        "{} route labels after 10,000 random paths: {routes:?}",
        routes.len()
    );
    assert!(!metrics.contains("/random-"), "a raw path became a label");
    assert!(metrics.contains("route=\"(unmatched)\""), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v1/incidents/{id}\""),
        "route templates are the labels"
    );
}
both_backends!(metrics_labels, metrics_label_routes_not_paths);

async fn forms_never_redirect_off_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for back in [
        "/\\evil.example/",
        "//evil.example/",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "\\\\evil.example",
        "/x\ny",
        "/x\ty",
    ] {
        let resp = client
            .post(app.url("/name"))
            .form(&[("name", "alice"), ("back", back)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303, "{back:?}");
        assert_eq!(resp.headers()["location"], "/", "{back:?}");
    }
    let resp = client
        .post(app.url("/name"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=alice&back=/x%0Ay")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/");
    let resp = client
        .post(app.url("/name"))
        .form(&[("name", "alice"), ("back", "/incidents/3")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/incidents/3");
}
both_backends!(no_off_site_redirects, forms_never_redirect_off_site);

async fn live_streams_are_capped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.server.max_streams = 3;
        c.server.max_streams_per_client = 2;
        c.server.trusted_proxies = vec!["127.0.0.1/32".into()];
        // The streams below come "through the proxy": let remote clients use the web room.
        c.server.insecure_open = true;
    })
    .await;
    let id = common::declare(&app, "Streams", "P3").await;
    let open = |ip: &'static str| {
        app.client
            .get(app.url(&format!("/incidents/{id}/stream")))
            .header("x-forwarded-for", ip)
            .send()
    };
    let a1 = open("10.0.0.1").await.unwrap();
    let a2 = open("10.0.0.1").await.unwrap();
    assert_eq!((a1.status().as_u16(), a2.status().as_u16()), (200, 200));
    let (s, body) = common::split(open("10.0.0.1").await.unwrap()).await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_streams");
    let b1 = open("10.0.0.2").await.unwrap();
    assert_eq!(b1.status(), 200);
    let resp = open("10.0.0.3").await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let (s, body) = common::split(resp).await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["error"]["code"], "too_many_streams");
    drop((a1, a2, b1));
}
both_backends!(stream_caps, live_streams_are_capped);

async fn oversized_bodies_get_a_json_413_on_every_route(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.server.max_body_bytes = 1024).await;
    let id = common::declare(&app, "Limits", "P3").await;
    let big = "x".repeat(4096);
    // A connection whose request body was left unread is closed by the server: no reuse.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for (method, path) in body_routes(id) {
        for content_type in [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
        ] {
            let resp = client
                .request(method.clone(), app.url(&path))
                .header("content-type", content_type)
                .body(big.clone())
                .send()
                .await
                .unwrap();
            let (status, body) = common::split(resp).await;
            assert_eq!(status, 413, "{method} {path} ({content_type}): {body}");
            assert_json_error(status, &body, &format!("{method} {path}"));
            assert_eq!(body["error"]["code"], "payload_too_large");
        }
        // Without a declared length (chunked), the limit still holds.
        let chunks =
            futures::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024])));
        let resp = client
            .request(method.clone(), app.url(&path))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await;
        // The server may answer and close before the client has sent it all.
        let Ok(resp) = resp else { continue };
        let (status, body) = common::split(resp).await;
        // A route that ignores its body may accept; one that reads it refuses, as JSON.
        assert!(status < 500, "{method} {path} chunked: {status} {body}");
        if status >= 400 {
            assert_json_error(status, &body, &format!("{method} {path} chunked"));
        }
    }
}
both_backends!(
    oversized_bodies,
    oversized_bodies_get_a_json_413_on_every_route
);

async fn garbage_never_gets_a_500(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = common::declare(&app, "Fuzz", "P3").await;
    let mut rng = rand::rng();
    // A connection whose request body was left unread is closed by the server: no reuse.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut cases = Vec::new();
    for (method, path) in body_routes(id) {
        for content_type in [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data",
            "",
        ] {
            for _ in 0..4 {
                let len = rng.random_range(0..300);
                let body: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
                cases.push((method.clone(), path.clone(), content_type, body));
            }
            let json: &[&[u8]] = &[
                b"{}",
                b"[]",
                b"null",
                b"{\"title\": 5, \"severity\": [1]}",
                b"{\"alerts\": [{}]}",
                b"name=&back=%00%0D%0A",
                b"payload=%7B%22type%22%3A1%7D",
                b"\xff\xfe\x00",
                br#"{"title": "a\u0000b", "severity": "P3", "text": "x\u0000", "service": "s\u0000",
                    "kind": "deploy", "summary": "\u0000", "alerts": [{"labels": {"alertname": "\u0000"}}]}"#,
                b"name=a%00b&back=/&title=%00&severity=P3&text=%00",
            ];
            for b in json {
                cases.push((method.clone(), path.clone(), content_type, b.to_vec()));
            }
        }
    }
    for path in get_routes(id) {
        for q in [
            "?limit=-1",
            "?limit=abc&after=%ff",
            "?%00=%0a",
            "?since=not-a-date",
        ] {
            cases.push((Method::GET, format!("{path}{q}"), "", Vec::new()));
        }
    }
    for path in [
        "/incidents/abc",
        "/incidents/99999999999999999999999",
        "/api/v1/incidents/-1",
        "/api/v1/incidents/%00",
        "/incidents/1%0A/stream",
        "/api/v1/changes/chg-%ff",
    ] {
        cases.push((Method::GET, path.into(), "", Vec::new()));
        cases.push((Method::DELETE, path.into(), "", Vec::new()));
    }
    for (method, path, content_type, body) in cases {
        let mut req = client
            .request(method.clone(), app.url(&path))
            .body(body.clone());
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let is_stream = path.ends_with("/stream");
        if is_stream && status == 200 {
            continue;
        }
        let (status, parsed) = common::split(resp).await;
        assert!(
            status < 500,
            "{method} {path} ({content_type}, {} bytes) answered {status}: {parsed}",
            body.len()
        );
        if status >= 400 {
            assert_json_error(status, &parsed, &format!("{method} {path}"));
        }
    }
}
both_backends!(garbage, garbage_never_gets_a_500);
