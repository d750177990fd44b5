//! API tokens that belong to someone: scopes per route, revoked and expired tokens, act-as, and the
//! token owner as the actor on the timeline.

mod common;

use common::{Backend, TestApp, split};
use serde_json::{Value, json};
use warroom::domain::token::{Scope, Scopes, TokenOwner, hash_secret};
use warroom::engine::tokens::{NewToken, Presented};
use warroom::store::NewApiToken;

const CATALOG: &str = r#"
[[service]]
name = "checkout"
owner = "payments"

[[person]]
id = "alice"
name = "Alice Ng"

[[person]]
id = "bob"
name = "Bob Li"

[[team]]
id = "payments"
members = ["alice", "bob"]
"#;

async fn spawn(backend: Backend, tweak: impl FnOnce(&mut warroom::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    // The catalog folder lives as long as the test process.
    std::mem::forget(dir);
    TestApp::spawn_with(backend, |c| {
        c.catalog.path = path.display().to_string();
        tweak(c);
    })
    .await
}

/// Makes a token through the engine's use-case and returns what a client presents.
async fn token(app: &TestApp, owner: TokenOwner, scopes: &str) -> String {
    app.engine()
        .tokens()
        .create(NewToken {
            owner,
            scopes: Scopes::parse_list(scopes).unwrap(),
            name: None,
            expires_in: None,
        })
        .await
        .expect("token created")
        .secret
}

fn person(id: &str) -> TokenOwner {
    TokenOwner::Person(id.into())
}

/// Sends `method path` with `token` (and `X-Warroom-User` when given).
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    act_as: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(u) = act_as {
        req = req.header("x-warroom-user", u);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    split(req.send().await.expect("request")).await
}

async fn first_actor(app: &TestApp, token: &str, id: i64) -> String {
    let (s, tl) = call(
        app,
        "GET",
        &format!("/api/v1/incidents/{id}/timeline"),
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200, "{tl}");
    tl["events"][0]["actor"].as_str().unwrap().to_string()
}

async fn owner_is_the_actor_and_revoked_or_expired_tokens_are_refused(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let (s, _) = app.get_json("/api/v1/incidents").await;
    assert_eq!(s, 200, "no token yet: open to this host");
    let alice = token(&app, person("alice"), "incidents:write,changes:write").await;
    assert!(alice.starts_with("wr_"), "{alice}");

    let (s, inc) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&alice),
        None,
        Some(json!({"title": "Checkout down", "severity": "P2"})),
    )
    .await;
    assert_eq!(s, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(first_actor(&app, &alice, id).await, "alice");

    let (s, b) = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (401, Some("missing `Authorization: Bearer <token>` header")),
        "once a token exists, this host needs one too"
    );
    let (s, _) = call(
        &app,
        "GET",
        "/api/v1/incidents",
        Some("wr_00_00"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 401, "unknown token");
    let last = if alice.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &alice[..alice.len() - 1]);
    let (s, _) = call(&app, "GET", "/api/v1/incidents", Some(&forged), None, None).await;
    assert_eq!(s, 401, "right prefix, wrong secret");

    let tokens = app.engine().tokens().list().await.unwrap();
    assert_eq!(tokens.len(), 1);
    let listed = serde_json::to_string(&tokens).unwrap();
    let secret = alice.rsplit('_').next().unwrap();
    assert!(!listed.contains(secret), "a list never carries the secret");
    assert!(tokens[0].last_used_at.is_some(), "use is recorded");
    assert_eq!(tokens[0].owner, person("alice"));

    let revoked = app
        .engine()
        .tokens()
        .revoke(&tokens[0].prefix)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let (s, b) = call(&app, "GET", "/api/v1/incidents", Some(&alice), None, None).await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (401, Some("this token was revoked"))
    );
    let (s, _) = app.get_json("/api/v1/incidents").await;
    assert_eq!(s, 401, "a revoked token still closes the open mode");

    // Stored straight through the store, already past its expiry.
    let now = app.engine().now();
    app.engine()
        .store()
        .insert_api_token(&NewApiToken {
            name: "old".into(),
            prefix: "00aa00aa00".into(),
            secret_hash: hash_secret("beef"),
            owner: person("bob"),
            scopes: Scopes::all_but_act_as(),
            created_at: now - chrono::Duration::days(91),
            expires_at: Some(now - chrono::Duration::days(1)),
        })
        .await
        .unwrap();
    let (s, b) = call(
        &app,
        "GET",
        "/api/v1/incidents",
        Some("wr_00aa00aa00_beef"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (401, Some("this token has expired"))
    );
    let by_prefix = app
        .engine()
        .store()
        .api_token("00aa00aa00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_prefix.state(now), "expired");
}
both_backends!(
    owner_and_refusals,
    owner_is_the_actor_and_revoked_or_expired_tokens_are_refused
);

/// Each route group and the scope it needs.
const ROUTES: &[(&str, &str, Scope)] = &[
    ("GET", "/api/v1/incidents", Scope::IncidentsRead),
    ("GET", "/api/v1/incidents/1/timeline", Scope::IncidentsRead),
    (
        "GET",
        "/api/v1/incidents/1/postmortem",
        Scope::IncidentsRead,
    ),
    ("POST", "/api/v1/incidents", Scope::IncidentsWrite),
    (
        "POST",
        "/api/v1/incidents/1/timeline",
        Scope::IncidentsWrite,
    ),
    ("GET", "/api/v1/changes", Scope::ChangesRead),
    ("POST", "/api/v1/changes/gate", Scope::ChangesRead),
    ("GET", "/api/v1/changes/freezes", Scope::ChangesRead),
    ("POST", "/api/v1/changes/freezes", Scope::ChangesWrite),
    (
        "PUT",
        "/api/v1/services/checkout/error-budget",
        Scope::ChangesWrite,
    ),
    ("GET", "/api/v1/alerts", Scope::AlertsRead),
    ("GET", "/api/v1/services", Scope::AlertsRead),
    ("GET", "/api/v1/reports", Scope::ReportsRead),
    ("GET", "/api/v1/reports/changes", Scope::ReportsRead),
];

fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("POST", "/api/v1/incidents") => Some(json!({"title": "Scoped", "severity": "P3"})),
        ("POST", "/api/v1/incidents/1/timeline") => Some(json!({"text": "a note"})),
        ("POST", "/api/v1/changes/gate") => Some(json!({"service": "checkout"})),
        ("POST", "/api/v1/changes/freezes") => {
            Some(json!({"scope": "checkout", "duration": "1h", "reason": "test"}))
        }
        ("PUT", _) => Some(json!({"remaining": 0.5})),
        _ => None,
    }
}

async fn each_scope_allows_its_routes_and_refuses_others(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let admin = token(&app, TokenOwner::Service("ops".into()), "admin").await;
    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&admin),
        None,
        Some(json!({"title": "First", "severity": "P3"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for held in [
        "incidents:read",
        "incidents:write",
        "changes:read",
        "changes:write",
        "alerts:read",
        "reports:read",
        "people:read",
        "audit:read",
        "admin",
        "act-as",
    ] {
        let scopes = Scopes::parse_list(held).unwrap();
        let t = token(&app, TokenOwner::Service("scoped".into()), held).await;
        for (method, path, needs) in ROUTES {
            let (s, b) = call(&app, method, path, Some(&t), None, body_for(method, path)).await;
            if scopes.allows(*needs) {
                assert!(
                    !matches!(s, 401 | 403),
                    "{held} should reach {method} {path}: {s} {b}"
                );
            } else {
                assert_eq!(s, 403, "{held} must not reach {method} {path}: {b}");
                assert_eq!(b["error"]["code"], "missing_scope", "{b}");
                assert_eq!(b["error"]["scope"], needs.as_str(), "{method} {path}: {b}");
                assert!(
                    b["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains(needs.as_str()),
                    "{b}"
                );
            }
        }
    }
    // Asking the gate is a read; overriding it needs changes:write.
    let reader = token(&app, TokenOwner::Service("dash".into()), "changes:read").await;
    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/changes/gate",
        Some(&reader),
        None,
        Some(json!({"service": "checkout", "override": {"reason": "hotfix"}})),
    )
    .await;
    assert_eq!(
        (s, b["error"]["scope"].as_str()),
        (403, Some("changes:write")),
        "{b}"
    );
}
both_backends!(
    scopes_per_route,
    each_scope_allows_its_routes_and_refuses_others
);

async fn act_as_is_honoured_only_with_its_scope(backend: Backend) {
    let app = spawn(backend, |c| c.api.tokens = vec!["configured-secret".into()]).await;
    let relay = token(
        &app,
        TokenOwner::Service("chatbot".into()),
        "act-as,incidents:write",
    )
    .await;
    let alice = token(&app, person("alice"), "incidents:write").await;
    let declare = json!({"title": "Relayed", "severity": "P3"});

    let (s, inc) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&relay),
        Some("bob"),
        Some(declare.clone()),
    )
    .await;
    assert_eq!(s, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(
        first_actor(&app, &relay, id).await,
        "bob",
        "the person acted for"
    );
    let caller = app
        .engine()
        .tokens()
        .caller(Presented {
            bearer: Some(&relay),
            act_as: Some("bob"),
            local: false,
        })
        .await
        .unwrap();
    assert_eq!(caller.actor.id, "bob");
    assert_eq!(caller.actor.name, "Bob Li");
    assert_eq!(
        caller.actor.identity()["platform_id"],
        "chatbot",
        "the relaying token's owner is kept"
    );

    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&relay),
        Some("mallory"),
        Some(declare.clone()),
    )
    .await;
    assert_eq!(s, 403, "an unknown person is refused: {b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`mallory`"),
        "{b}"
    );

    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&alice),
        Some("bob"),
        Some(declare.clone()),
    )
    .await;
    assert_eq!(
        (s, b["error"]["scope"].as_str()),
        (403, Some("act-as")),
        "alice may not act as bob: {b}"
    );

    // The configured api.tokens act as the service account `api`, with everything but act-as.
    let (s, inc) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some("configured-secret"),
        None,
        Some(declare.clone()),
    )
    .await;
    assert_eq!(s, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    assert_eq!(first_actor(&app, "configured-secret", id).await, "api");
    let (s, _) = call(
        &app,
        "GET",
        "/api/v1/reports",
        Some("configured-secret"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some("configured-secret"),
        Some("bob"),
        Some(declare),
    )
    .await;
    assert_eq!((s, b["error"]["scope"].as_str()), (403, Some("act-as")));
}
both_backends!(act_as, act_as_is_honoured_only_with_its_scope);

async fn without_tokens_this_host_is_trusted_to_name_itself(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let (s, inc) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        None,
        Some("carol"),
        Some(json!({"title": "Trusted host", "severity": "P3"})),
    )
    .await;
    assert_eq!(s, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    let (_, tl) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(tl["events"][0]["actor"], "carol");

    // A proxy on this host forwards for someone else: never local.
    let resp = app
        .client
        .get(app.url("/api/v1/incidents"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let (s, b) = split(resp).await;
    assert_eq!(s, 401, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("warroom token create"),
        "{b}"
    );
    let resp = app
        .client
        .post(app.url("/hooks/alerts"))
        .header("forwarded", "for=203.0.113.9")
        .json(&json!([{"labels": {"alertname": "X", "service": "checkout"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "ingest without a token: local only");
}
both_backends!(
    trusted_host,
    without_tokens_this_host_is_trusted_to_name_itself
);
