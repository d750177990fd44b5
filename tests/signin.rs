//! Web sign-in over HTTP on both backends: local accounts made with `warroom user …` (wrong password,
//! disabled account, sign-out, session expiry), CSRF on web posts, the app-wide Origin and Host checks,
//! and the loopback-only web room when no sign-in is configured.

mod common;

use common::{Backend, TestApp, TestDb, declare, split, test_config, user_cli};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use warroom::config::Config;
use warroom::engine::{Clock, Engine, Hub};

const CATALOG: &str = r#"
[[person]]
id = "alice"
name = "Alice Ng"
email = "alice@example.com"
"#;

/// An app with local accounts on, a catalog that knows alice, and the catalog's folder.
async fn spawn_local(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.local_accounts = true;
        c.catalog.path = catalog.display().to_string();
    })
    .await;
    (app, dir)
}

/// A browser-like client: its own cookie jar, redirects not followed (so they can be checked).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/signin"))
        .form(&[("name", name), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap()
}

/// The CSRF token a page hands its scripts.
async fn csrf_of_page(app: &TestApp, client: &reqwest::Client, path: &str) -> (String, String) {
    let page = client
        .get(app.url(path))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let marker = r#"<meta name="csrf-token" content=""#;
    let start = html.find(marker).expect("the page carries a CSRF token") + marker.len();
    let token = html[start..].split('"').next().unwrap().to_string();
    (token, html)
}

async fn say(
    app: &TestApp,
    client: &reqwest::Client,
    id: i64,
    csrf: Option<&str>,
    text: &str,
) -> (u16, Value) {
    let mut req = client
        .post(app.url(&format!("/incidents/{id}/messages")))
        .json(&json!({ "text": text }));
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    split(req.send().await.unwrap()).await
}

async fn local_accounts_sign_in_and_act_as_their_person(backend: Backend) {
    let (app, _dir) = spawn_local(backend).await;
    let out = user_cli(&app, &["add", "alice"], "correct horse battery");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("saved local account `alice`"));
    let out = user_cli(
        &app,
        &["add", "carol", "--name", "Carol"],
        "carol's long pass",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`carol` is not a [[person]] id"),
        "{out:?}"
    );
    let out = user_cli(&app, &["add", "bob"], "short");
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let web = browser();
    // Without a session: pages go to /signin, posts get 401.
    let board = web
        .get(app.url("/"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), StatusCode::SEE_OTHER);
    assert_eq!(board.headers()[LOCATION], "/signin?next=%2F");
    let id = declare(&app, "Checkout returns 502", "P1").await;
    let (status, body) = say(&app, &web, id, None, "hello").await;
    assert_eq!(status, 401, "{body}");
    let signin_page = web
        .get(app.url("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(signin_page.contains(r#"name="password""#), "{signin_page}");

    // Wrong password and unknown accounts: the same 401.
    let (status, body) = split(sign_in(&app, &web, "alice", "wrong password").await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["message"], "wrong account name or password");
    let (status, _) = split(sign_in(&app, &web, "mallory", "whatever it is").await).await;
    assert_eq!(status, 401);

    // The right password: a session cookie and back to the board, signed in as the directory person.
    let ok = sign_in(&app, &web, "alice", "correct horse battery").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attr in ["warroom_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-http public URL: {cookie}"
    );
    let (csrf, board) = csrf_of_page(&app, &web, "/").await;
    assert!(board.contains("signed in as Alice Ng (alice)"), "{board}");
    assert!(
        !board.contains(r#"action="/name""#),
        "the name form is gone"
    );

    // CSRF: missing or wrong → 403, nothing recorded; right → the message is alice's.
    let (status, body) = say(&app, &web, id, None, "no token").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("csrf")),
        "{body}"
    );
    let (status, _) = say(&app, &web, id, Some("not-the-token"), "wrong token").await;
    assert_eq!(status, 403);
    let (status, body) = say(&app, &web, id, Some(&csrf), "looking at the LB").await;
    assert_eq!(status, 201, "{body}");
    let messages = app.events_of(id, "chat_message").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["actor"], "alice");
    let (status, body) = say(&app, &web, id, Some(&csrf), "/inc role commander @me").await;
    assert_eq!(status, 200, "{body}");
    let (_, incident) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(incident["roles"]["commander"], "alice", "{incident}");

    // The declare form needs its hidden token too.
    let declare_form = |token: &str| {
        web.post(app.url("/incidents")).form(&[
            ("title", "DB is slow"),
            ("severity", "P2"),
            ("csrf", token),
        ])
    };
    assert_eq!(declare_form("bad").send().await.unwrap().status(), 403);
    let made = declare_form(&csrf).send().await.unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let new_id: i64 = made.headers()[LOCATION].to_str().unwrap()["/incidents/".len()..]
        .parse()
        .unwrap();
    let declared = app.events_of(new_id, "declared").await;
    assert_eq!(declared[0]["actor"], "alice", "{declared:?}");
    // No chosen names once sign-in is configured.
    let name = web
        .post(app.url("/name"))
        .header("x-csrf-token", &csrf)
        .form(&[("name", "bob")])
        .send()
        .await
        .unwrap();
    assert_eq!(name.status(), 403);

    // Sign-out ends the session: the old cookie value no longer works.
    let session_value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("warroom_session=")
        .to_string();
    let out = web
        .post(app.url("/signout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()[LOCATION], "/signin");
    let replay = browser()
        .get(app.url("/"))
        .header("cookie", format!("warroom_session={session_value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401, "a signed-out session is gone");

    // A disabled account is refused, and disabling ends the sessions it has.
    let carol = browser();
    assert_eq!(
        sign_in(&app, &carol, "carol", "carol's long pass")
            .await
            .status(),
        303
    );
    let (carol_csrf, board) = csrf_of_page(&app, &carol, "/").await;
    assert!(board.contains("signed in as Carol (carol)"), "{board}");
    let out = user_cli(&app, &["disable", "carol"], "");
    assert!(out.status.success(), "{out:?}");
    let (status, _) = say(&app, &carol, id, Some(&carol_csrf), "still here?").await;
    assert_eq!(status, 401);
    let (status, body) = split(sign_in(&app, &carol, "carol", "carol's long pass").await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_disabled"))
    );
    // passwd: the old password stops working.
    let out = user_cli(&app, &["passwd", "alice"], "a brand new password");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        sign_in(&app, &browser(), "alice", "correct horse battery")
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(&app, &browser(), "alice", "a brand new password")
            .await
            .status(),
        303
    );
    // Signing in again from the same browser ends the session it had (no fixation, no pile-up).
    let again = browser();
    let first = session_of(&sign_in(&app, &again, "alice", "a brand new password").await);
    let second = session_of(&sign_in(&app, &again, "alice", "a brand new password").await);
    assert_ne!(first, second);
    for (value, expected) in [(first, 401), (second, 200)] {
        let resp = browser()
            .get(app.url("/"))
            .header("cookie", format!("warroom_session={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected);
    }
}

/// The session id a sign-in answer sets.
fn session_of(resp: &reqwest::Response) -> String {
    let cookie = resp.headers()[SET_COOKIE].to_str().unwrap();
    cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("warroom_session=")
        .to_string()
}
both_backends!(
    local_accounts,
    local_accounts_sign_in_and_act_as_their_person
);

struct TestClock(Mutex<chrono::DateTime<chrono::Utc>>);

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

async fn sessions_expire_unless_used(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config: Config = test_config(&db);
    config.auth.local_accounts = true;
    config.auth.session_hours = 2;
    let store = warroom::store::Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let start = chrono::Utc::now();
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        Hub::default(),
        vec!["web".into()],
        Arc::new(config),
        Arc::new(warroom::domain::Catalog::default()),
    );
    let at = |minutes: i64| {
        *clock.0.lock().unwrap() = start + chrono::Duration::minutes(minutes);
        engine.signin()
    };
    at(0)
        .add_account("dana", None, "dana's password")
        .await
        .unwrap();
    let started = at(0)
        .sign_in_local("dana", "dana's password", None, Some("test"), None)
        .await
        .unwrap();
    assert_eq!(started.session.actor.id, "dana");
    let id = started.session_id;
    // Used after 90 minutes: still valid, and the expiry slides to 90 + 120 minutes.
    let used = at(90).session(&id).await.unwrap().expect("alive at 90 min");
    assert_eq!(used.expires_at, start + chrono::Duration::minutes(210));
    assert!(
        at(200).session(&id).await.unwrap().is_some(),
        "slid past the first 2 h"
    );
    // Unused for more than two hours: gone.
    assert!(at(200 + 121).session(&id).await.unwrap().is_none());
    store.close().await;
}
both_backends!(session_expiry, sessions_expire_unless_used);

async fn cross_site_posts_and_foreign_hosts_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alert = r#"{"alerts": [{"name": "QueueLag", "service": "web", "severity": "warning"}]}"#;
    let post = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/hooks/alerts"))
            .header(CONTENT_TYPE, "text/plain")
            .body(alert);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = fetch_site {
            req = req.header("sec-fetch-site", s);
        }
        req.send()
    };
    // What a form on another site can send: text/plain with its Origin. Refused, nothing recorded.
    let (status, body) = split(post(Some("https://evil.example"), None).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("cross_origin")),
        "{body}"
    );
    let (status, _) = split(post(None, Some("cross-site")).await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, _) = split(post(Some("null"), None).await.unwrap()).await;
    assert_eq!(status, 403);
    let (_, alerts) = app.get_json("/api/v1/alerts").await;
    assert_eq!(alerts["alerts"], json!([]), "{alerts}");
    // The same request from this site's own page, or with no Origin at all (curl), is recorded.
    let own = app.base.clone();
    let (status, body) = split(post(Some(&own), Some("same-origin")).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = split(post(None, None).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    // The API's state-changing routes are held to the same rule.
    let (status, _) = split(
        app.client
            .post(app.url("/api/v1/incidents"))
            .header("origin", "https://evil.example")
            .json(&json!({"title": "x", "severity": "P3"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);

    // DNS rebinding: a name that is not this server's is refused; loopback names and addresses pass.
    let (status, body) = split(
        app.client
            .get(app.url("/healthz"))
            .header("host", "evil.example:8080")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (421, Some("unknown_host")),
        "{body}"
    );
    let ok = app
        .client
        .get(app.url("/healthz"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
both_backends!(cross_site, cross_site_posts_and_foreign_hosts_are_refused);

async fn without_signin_the_web_room_serves_this_host_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "Checkout returns 502", "P1").await;
    // A direct loopback client: the trusted-host room, with the name form.
    let room = app.get_text(&format!("/incidents/{id}")).await;
    assert!(room.contains("Your name"), "{room}");
    // A client relayed by a proxy on this host (forwarding headers from loopback) is not local:
    // refused, naming the keys that would let it in.
    for path in [
        "/".to_string(),
        format!("/incidents/{id}"),
        format!("/incidents/{id}/postmortem"),
    ] {
        let (status, body) = split(
            app.client
                .get(app.url(&path))
                .header("x-forwarded-for", "203.0.113.9")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("auth.local_accounts") && message.contains("auth.oidc.issuer"));
    }
    let (status, _) = split(
        app.client
            .post(app.url(&format!("/incidents/{id}/messages")))
            .header("x-forwarded-for", "203.0.113.9")
            .json(&json!({"text": "hi"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(app.events_of(id, "chat_message").await.is_empty());
}
both_backends!(
    loopback_only,
    without_signin_the_web_room_serves_this_host_only
);

async fn behind_https_the_cookie_is_secure(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.local_accounts = true;
        c.server.public_url = Some("https://warroom.example.com".into());
    })
    .await;
    app.engine()
        .signin()
        .add_account("erin", Some("Erin"), "erin's password")
        .await
        .unwrap();
    // The form posted from the public origin (as the proxy in front relays it) is this site's.
    let ok = browser()
        .post(app.url("/signin"))
        .header("origin", "https://warroom.example.com")
        .form(&[("name", "erin"), ("password", "erin's password")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Sign-in forms posted from elsewhere are refused before any password is checked.
    let (status, _) = split(
        browser()
            .post(app.url("/signin"))
            .header("origin", "https://evil.example")
            .form(&[("name", "erin"), ("password", "erin's password")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}
both_backends!(secure_cookie, behind_https_the_cookie_is_secure);

async fn oidc_failures_are_clear_answers(backend: Backend) {
    // An issuer that does not answer (nothing listens on port 1).
    let app = TestApp::spawn_with(backend, |c| {
        c.server.public_url = Some("http://127.0.0.1:8080".into());
        c.auth.oidc.issuer = Some("http://127.0.0.1:1".into());
        c.auth.oidc.client_id = Some("warroom".into());
    })
    .await;
    let web = browser();
    let page = web
        .get(app.url("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in with single sign-on"), "{page}");
    assert!(
        !page.contains(r#"name="password""#),
        "no local form without local accounts"
    );
    let (status, body) = split(web.get(app.url("/signin/oidc")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("issuer_unavailable")),
        "{body}"
    );
    // A callback for a sign-in that was never started (forged or replayed state).
    let (status, body) = split(
        web.get(app.url("/signin/oidc/callback?code=abc&state=forged"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown or has expired")
    );
    let (status, body) = split(
        web.get(app.url("/signin/oidc/callback?error=access_denied&state=x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("signin_refused")),
        "{body}"
    );
    let (status, _) = split(
        web.get(app.url("/signin/oidc/callback"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    // Local sign-in is off here.
    let (status, _) = split(sign_in(&app, &web, "alice", "whatever it is").await).await;
    assert_eq!(status, 404);
}
both_backends!(oidc_failures, oidc_failures_are_clear_answers);
