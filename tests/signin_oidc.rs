//! OpenID Connect sign-in end to end in headless Chromium against a real provider (`oidc-provider`
//! on loopback): board → /signin → the provider's login and consent pages → back signed in as the
//! directory person its verified e-mail names; a war-room message carries that person id; sign-out.
//! A login name the directory does not know signs in as a guest (`oidc:<sub>`); one whose subject a
//! `[[person]]` names signs in as that person.

mod browser_support;
mod common;

use browser_support::{
    OidcAccount, browser, browser_binaries, click, free_port, start_driver, start_oidc_provider,
    type_into, wait_text,
};
use common::{Backend, TestApp, TestDb, declare, test_config};
use fantoccini::Client;

const CATALOG: &str = r#"
[[person]]
id = "alice"
name = "Alice Ng"
email = "alice@example.com"

[[person]]
id = "bob"
name = "Bob Li"
subject = "bob-sub-5678"
"#;

/// Through the provider's development login and consent pages as `login`.
async fn provider_login(c: &Client, login: &str) {
    type_into(c, "input[name=login]", login).await;
    type_into(c, "input[name=password]", "any password").await;
    click(c, "button[type=submit]").await;
    // Consent: the provider asks once per client and account.
    wait_text(c, "button[type=submit]", "the consent page", |t| {
        t.contains("Continue")
    })
    .await;
    click(c, "button[type=submit]").await;
}

async fn oidc_sign_in_in_the_browser(backend: Backend) {
    let Some((chromium, driver_bin)) = browser_binaries() else {
        return;
    };
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let account = OidcAccount {
        sub: "alice-sub-1234",
        email: "alice@example.com",
        name: "Alice from the provider",
    };
    let redirect = format!("{public_url}/signin/oidc/callback");
    let Some(provider) = start_oidc_provider("warroom", "test-client-secret", &redirect, &account)
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    config.server.listen = format!("127.0.0.1:{port}");
    config.server.public_url = Some(public_url.clone());
    config.catalog.path = catalog.display().to_string();
    config.auth.oidc.issuer = Some(provider.issuer.clone());
    config.auth.oidc.client_id = Some("warroom".into());
    config.auth.oidc.client_secret = Some("test-client-secret".into());
    config.auth.oidc.display_name = Some("TestID".into());
    let app = TestApp::start(db, config).await;
    let id = declare(&app, "Checkout returns 502", "P1").await;

    let driver = start_driver(&driver_bin).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, &chromium, profile.path()).await;
    // The board sends an anonymous browser to /signin, which offers the provider.
    c.goto(&app.url(&format!("/incidents/{id}"))).await.unwrap();
    wait_text(&c, "#oidc", "the sign-in button", |t| {
        t == "Sign in with TestID"
    })
    .await;
    click(&c, "#oidc").await;
    provider_login(&c, account.sub).await;
    // Back in the war room it was asked for, as alice (mapped by the verified e-mail).
    wait_text(&c, "#who", "who is signed in", |t| {
        t.contains("signed in as Alice Ng (alice)")
    })
    .await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/incidents/{id}"))
    );
    type_into(&c, "#say #text", "rolled back the 14:02 deploy").await;
    click(&c, "#say button").await;
    wait_text(&c, "#timeline", "the message in the room", |t| {
        t.contains("alice chat_message rolled back the 14:02 deploy")
    })
    .await;
    let messages = app.events_of(id, "chat_message").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["actor"], "alice");

    // Sign-out ends the session: the board asks for sign-in again.
    click(&c, "#signout").await;
    wait_text(&c, "#signin h2", "the sign-in page", |t| t == "Sign in").await;
    c.goto(&app.url("/")).await.unwrap();
    wait_text(&c, "#oidc", "the sign-in button again", |t| {
        t.contains("TestID")
    })
    .await;

    let _ = c.close().await;

    // Someone the directory does not know (a fresh browser, so no provider session): a marked guest.
    let profile = tempfile::tempdir().unwrap();
    let g = browser(&driver, &chromium, profile.path()).await;
    g.goto(&app.url("/")).await.unwrap();
    click(&g, "#oidc").await;
    provider_login(&g, "stranger").await;
    wait_text(&g, "#who", "the guest", |t| {
        t.contains("(oidc:stranger, guest)")
    })
    .await;
    let _ = g.close().await;

    // A subject the directory names (`[[person]] subject`), with no e-mail at all: that person.
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver, &chromium, profile.path()).await;
    b.goto(&app.url("/")).await.unwrap();
    click(&b, "#oidc").await;
    provider_login(&b, "bob-sub-5678").await;
    wait_text(&b, "#who", "bob", |t| {
        t.contains("signed in as Bob Li (bob)")
    })
    .await;
    let _ = b.close().await;
}
both_backends!(oidc_browser, oidc_sign_in_in_the_browser);
