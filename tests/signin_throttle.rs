//! Failed password sign-ins are throttled per account and per client address, in the database: five
//! free failures, then a doubling wait answered with 429 + `Retry-After` (a clear message on the web
//! form); a success clears the count; a restarted or second replica sees the same block; every attempt
//! is in the audit log.

mod common;

use common::{Backend, TestApp, TestDb, test_config};
use reqwest::header::{ACCEPT, RETRY_AFTER};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use warroom::config::Config;
use warroom::engine::{Clock, Engine, Hub, SignInError};
use warroom::store::{AuditFilter, Store};

struct TestClock(Mutex<chrono::DateTime<chrono::Utc>>);

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

/// An engine (a replica) over `store` with local accounts on, reading time from `clock`.
fn replica(db: &TestDb, store: &Store, clock: &Arc<TestClock>) -> Engine {
    let mut config: Config = test_config(db);
    config.auth.local_accounts = true;
    Engine::new(
        store.clone(),
        clock.clone(),
        Hub::default(),
        vec!["web".into()],
        Arc::new(config),
        Arc::new(warroom::domain::Catalog::default()),
    )
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

async fn attempt(
    engine: &Engine,
    name: &str,
    password: &str,
    from: &str,
) -> Result<(), SignInError> {
    engine
        .signin()
        .sign_in_local(name, password, ip(from), Some("test"), None)
        .await
        .map(|_| ())
}

fn throttled(r: Result<(), SignInError>) -> i64 {
    match r {
        Err(SignInError::Throttled { retry_after_secs }) => retry_after_secs,
        other => panic!("expected a throttled sign-in, got {other:?}"),
    }
}

async fn failures_back_off_per_account_and_address(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let start = chrono::Utc::now();
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let at = |secs: i64| *clock.0.lock().unwrap() = start + chrono::Duration::seconds(secs);
    let engine = replica(&db, &store, &clock);
    engine
        .signin()
        .add_account("dana", None, "dana's password")
        .await
        .unwrap();
    // Five free failures from different addresses (so only the account counts)…
    for n in 0..5 {
        let r = attempt(
            &engine,
            "dana",
            "wrong password",
            &format!("198.51.100.{n}"),
        )
        .await;
        assert!(matches!(r, Err(SignInError::BadCredentials)), "{n}: {r:?}");
    }
    // …the sixth starts a 2 s block, and the right password waits too.
    assert_eq!(
        throttled(attempt(&engine, "dana", "wrong again", "198.51.100.9").await),
        2
    );
    assert_eq!(
        throttled(attempt(&engine, "dana", "dana's password", "198.51.100.9").await),
        2
    );
    // A restarted process or another replica on the same database sees the same block.
    let other = replica(&db, &store, &clock);
    at(1);
    assert_eq!(
        throttled(attempt(&other, "dana", "dana's password", "198.51.100.7").await),
        1
    );
    // Each further failure doubles the wait.
    at(3);
    assert_eq!(
        throttled(attempt(&other, "dana", "wrong", "198.51.100.7").await),
        4
    );
    at(8);
    attempt(&engine, "dana", "dana's password", "198.51.100.7")
        .await
        .expect("signs in once the wait is over");
    // The success cleared the count: one more failure is a plain wrong password.
    let r = attempt(&engine, "dana", "wrong", "198.51.100.7").await;
    assert!(matches!(r, Err(SignInError::BadCredentials)), "{r:?}");

    // One address guessing many names is throttled too, for every account it then tries.
    for n in 0..5 {
        let r = attempt(&engine, &format!("guess{n}"), "password1", "203.0.113.5").await;
        assert!(matches!(r, Err(SignInError::BadCredentials)), "{n}: {r:?}");
    }
    throttled(attempt(&engine, "guess5", "password1", "203.0.113.5").await);
    throttled(attempt(&engine, "dana", "dana's password", "203.0.113.5").await);
    attempt(&engine, "dana", "dana's password", "203.0.113.6")
        .await
        .expect("dana from her own address is not throttled");

    // A success from an address does not reset the address's count: a valid account cannot be used
    // to go on guessing other names from there.
    for n in 0..4 {
        let r = attempt(&engine, &format!("spray{n}"), "password1", "192.0.2.44").await;
        assert!(matches!(r, Err(SignInError::BadCredentials)), "{n}: {r:?}");
    }
    attempt(&engine, "dana", "dana's password", "192.0.2.44")
        .await
        .expect("a right password under the free failures signs in");
    let r = attempt(&engine, "spray4", "password1", "192.0.2.44").await;
    assert!(matches!(r, Err(SignInError::BadCredentials)), "{r:?}");
    throttled(attempt(&engine, "spray5", "password1", "192.0.2.44").await);

    let audit = store
        .audit_page(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let signins: Vec<_> = audit.iter().filter(|e| e.action == "signin").collect();
    assert!(
        signins
            .iter()
            .any(|e| !e.allowed && e.reason.contains("sign-in refused for 2 s")),
        "{signins:#?}"
    );
    assert!(
        signins.iter().any(|e| !e.allowed
            && e.reason.starts_with("throttled")
            && e.subject.as_deref() == Some("203.0.113.5")),
        "{signins:#?}"
    );
    assert!(
        signins.iter().any(|e| e.allowed && e.actor == "dana"),
        "{signins:#?}"
    );
    assert!(
        !signins.iter().any(|e| e.reason.contains("password1")),
        "no password is audited"
    );
    store.close().await;
}
both_backends!(backoff, failures_back_off_per_account_and_address);

async fn the_web_answers_429_with_retry_after(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.local_accounts = true).await;
    let client = reqwest::Client::new();
    let post = |accept: &'static str| {
        client
            .post(app.url("/signin"))
            .header(ACCEPT, accept)
            .form(&[
                ("name", "nobody"),
                ("password", "not the password"),
                ("next", "/"),
            ])
            .send()
    };
    for n in 0..5 {
        let resp = post("application/json").await.unwrap();
        assert_eq!(resp.status(), 401, "{n}");
    }
    let resp = post("application/json").await.unwrap();
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let (_, body) = common::split(resp).await;
    assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    let resp = post("text/html").await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key(RETRY_AFTER));
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("too many failed sign-ins: try again in"),
        "{html}"
    );
}
both_backends!(web_429, the_web_answers_429_with_retry_after);
