//! The issuer's discovery document and key set are cached: two sign-ins start with one fetch of
//! each; a lapsed TTL discovers again; an unknown key id fetches the key set again, but not more
//! often than allowed. A counting issuer on loopback stands in for the provider (the real-provider
//! flow is `tests/signin_oidc.rs`).

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use warroom::config::OidcConfig;
use warroom::signin::discovery::Discovery;
use warroom::signin::oidc;

#[derive(Default)]
struct Hits {
    discovery: AtomicUsize,
    keys: AtomicUsize,
}

/// An issuer serving a minimal discovery document and an empty key set, counting both.
async fn issuer() -> (String, Arc<Hits>) {
    let hits = Arc::new(Hits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/auth"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move |State(h): State<Arc<Hits>>| {
                let doc = doc.clone();
                async move {
                    h.discovery.fetch_add(1, Ordering::SeqCst);
                    Json(doc)
                }
            }),
        )
        .route(
            "/jwks",
            get(|State(h): State<Arc<Hits>>| async move {
                h.keys.fetch_add(1, Ordering::SeqCst);
                Json(json!({"keys": []}))
            }),
        )
        .with_state(hits.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hits)
}

fn config(issuer: &str) -> OidcConfig {
    OidcConfig {
        issuer: Some(issuer.to_string()),
        client_id: Some("warroom".into()),
        ..Default::default()
    }
}

fn counts(h: &Hits) -> (usize, usize) {
    (
        h.discovery.load(Ordering::SeqCst),
        h.keys.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn sign_ins_share_one_discovery_until_the_ttl_lapses() {
    let (base, hits) = issuer().await;
    let redirect = "http://127.0.0.1:8080/signin/oidc/callback";
    let cache = Discovery::new(Duration::from_secs(3600), Duration::from_secs(3600));
    for _ in 0..3 {
        let auth = oidc::authorize(&config(&base), redirect, &cache)
            .await
            .unwrap();
        assert!(
            auth.url.starts_with(&format!("{base}/auth?")),
            "{}",
            auth.url
        );
    }
    assert_eq!(
        counts(&hits),
        (1, 1),
        "one discovery and one key set for three sign-ins"
    );

    // A lapsed TTL discovers again (document and keys).
    let lapsing = Discovery::new(Duration::ZERO, Duration::ZERO);
    oidc::authorize(&config(&base), redirect, &lapsing)
        .await
        .unwrap();
    oidc::authorize(&config(&base), redirect, &lapsing)
        .await
        .unwrap();
    assert_eq!(counts(&hits), (3, 3));
}

#[tokio::test]
async fn an_unknown_key_id_fetches_the_keys_again_within_limits() {
    let (base, hits) = issuer().await;
    let url = openidconnect::IssuerUrl::new(base.clone()).unwrap();
    let http = openidconnect::reqwest::Client::new();
    let eager = Discovery::new(Duration::from_secs(3600), Duration::ZERO);
    eager.metadata(&url, &http).await.unwrap();
    assert!(eager.refresh_keys(&url, &http).await.unwrap().is_some());
    assert_eq!(counts(&hits), (1, 2), "only the key set is fetched again");
    eager.metadata(&url, &http).await.unwrap();
    assert_eq!(counts(&hits), (1, 2), "the refreshed metadata is cached");

    let (base, hits) = issuer().await;
    let url = openidconnect::IssuerUrl::new(base).unwrap();
    let careful = Discovery::new(Duration::from_secs(3600), Duration::from_secs(3600));
    careful.metadata(&url, &http).await.unwrap();
    assert!(
        careful.refresh_keys(&url, &http).await.unwrap().is_none(),
        "keys fetched a moment ago are not fetched again"
    );
    assert_eq!(counts(&hits), (1, 1));
}
