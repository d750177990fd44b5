//! People who sign in to the web UI: an app with local accounts for the people of a catalog (each
//! with the password [`password`] gives), and a signed-in HTTP client with its CSRF token.

use super::{Backend, TestApp, user_cli};
use reqwest::header::ACCEPT;
use warroom::config::Config;

/// The local-account password the helpers give `name`.
pub fn password(name: &str) -> String {
    format!("{name}'s long password")
}

/// The app with local accounts on, `catalog` as its catalog (in the returned folder) and `tweak`
/// applied, and an account made with `warroom user add` for each of `people`.
pub async fn spawn_with_accounts(
    backend: Backend,
    catalog: &str,
    people: &[&str],
    tweak: impl FnOnce(&mut Config),
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, catalog).unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.auth.local_accounts = true;
        c.catalog.path = path.display().to_string();
        tweak(c);
    })
    .await;
    for name in people {
        let out = user_cli(&app, &["add", name], &password(name));
        assert!(out.status.success(), "{out:?}");
    }
    (app, dir)
}

/// A browser-like client (cookies kept, redirects not followed) signed in as `name`, and the CSRF
/// token the board hands its scripts.
pub async fn signed_in(app: &TestApp, name: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let password = password(name);
    let resp = client
        .post(app.url("/signin"))
        .form(&[
            ("name", name),
            ("password", password.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{name} signs in");
    let board = client
        .get(app.url("/"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(board.status(), 200, "{name} sees the board");
    let html = board.text().await.unwrap();
    let marker = r#"<meta name="csrf-token" content=""#;
    let start = html.find(marker).expect("the board carries a CSRF token") + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_string();
    (client, csrf)
}
