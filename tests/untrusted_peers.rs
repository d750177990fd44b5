//! Peers the test cannot bind: the router in-process with `tower::ServiceExt::oneshot` and a `ConnectInfo`
//! of any address. Forwarded headers from an untrusted peer are ignored, and a proxied request is never
//! treated as a client on this host.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::{Backend, TestApp};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;
use warroom::http::peer::TrustedProxies;
use warroom::http::{AppState, router};

fn state(app: &TestApp, proxies: &[&str]) -> AppState {
    let proxies: Vec<String> = proxies.iter().map(|p| p.to_string()).collect();
    AppState {
        engine: app.engine().clone(),
        config: Arc::new(app.config.clone()),
        metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle(),
        renderer: Arc::new(warroom::render::Renderer::new(None)),
        slack: None,
        trusted_proxies: TrustedProxies::parse(&proxies).unwrap(),
    }
}

/// The status of `GET path` from `peer` with the given headers.
async fn status_from(state: &AppState, path: &str, peer: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    router(state.clone())
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn forwarded_headers_never_make_a_request_local(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let api = "/api/v1/incidents";
    let untrusting = state(&app, &[]);
    assert_eq!(
        status_from(&untrusting, api, "127.0.0.1:5000", &[]).await,
        200
    );
    assert_eq!(status_from(&untrusting, api, "[::1]:5000", &[]).await, 200);
    assert_eq!(
        status_from(&untrusting, api, "10.1.2.3:5000", &[]).await,
        401,
        "a LAN client without a token"
    );
    assert_eq!(
        status_from(
            &untrusting,
            api,
            "198.51.100.7:5000",
            &[("x-forwarded-for", "127.0.0.1")]
        )
        .await,
        401,
        "an untrusted peer cannot claim to be loopback"
    );
    assert_eq!(
        status_from(
            &untrusting,
            api,
            "127.0.0.1:5000",
            &[("x-forwarded-for", "203.0.113.9")]
        )
        .await,
        401,
        "a proxy on this host, even untrusted, is not a local client"
    );
    assert_eq!(
        status_from(
            &untrusting,
            api,
            "127.0.0.1:5000",
            &[("x-real-ip", "127.0.0.1")]
        )
        .await,
        401
    );

    let trusting = state(&app, &["10.0.0.0/8"]);
    assert_eq!(
        status_from(
            &trusting,
            api,
            "10.0.0.5:443",
            &[("x-forwarded-for", "127.0.0.1")]
        )
        .await,
        401,
        "a trusted proxy relaying for loopback is still proxied"
    );
    assert_eq!(status_from(&trusting, api, "127.0.0.1:1", &[]).await, 200);
    assert_eq!(
        status_from(&trusting, "/healthz", "198.51.100.7:1", &[]).await,
        200,
        "operations endpoints stay open"
    );
}
both_backends!(
    forwarded_headers,
    forwarded_headers_never_make_a_request_local
);
