//! The public status page (`/status` with `status_page.enabled`) in headless Chromium, on both
//! backends: readable without signing in while local accounts are on, its nonced inline style applied
//! under the content security policy, the all-clear while nothing is ongoing, then after a reload the
//! ongoing incident with only its public update (markup in it shown as text), and the all-clear again
//! once it is resolved.

mod browser_support;
mod common;

use browser_support::{browser_binaries, run_then_close, session, text_of, wait_text};
use common::web::spawn_with_accounts;
use common::{Backend, TestApp, declare, web_ctx};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::Duration;

const CATALOG: &str = "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\n";

const ALL_CLEAR: &str = "All systems operational: no ongoing incidents.";

async fn scenario(app: &TestApp, c: &Client) {
    // Nothing ongoing: the all-clear, on the page itself (no sign-in redirect).
    c.goto(&app.url("/status")).await.unwrap();
    let clear = wait_text(c, "#all-clear", "the all-clear", |t| !t.is_empty()).await;
    assert_eq!(clear, ALL_CLEAR);
    assert_eq!(c.current_url().await.unwrap().path(), "/status");
    assert_eq!(c.title().await.unwrap(), "Acme status");
    assert_eq!(text_of(c, "header h1").await, "Acme status");
    // The page's style is inline with the CSP nonce: the browser applied it.
    let header = c
        .execute(
            "return getComputedStyle(document.querySelector('header')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(header, json!("rgb(29, 35, 48)"));

    // An ongoing incident with a public and an internal update: only the public one is shown.
    let id = declare(app, "Checkout slow", "P2").await;
    let ctx = web_ctx(Some(id), "alice");
    let public = app
        .command(
            "/inc update --public Card payments <b>fail</b> for some customers",
            &ctx,
        )
        .await;
    assert!(public.ok, "{public:?}");
    let internal = app
        .command("/inc update internal: primary db at 95% cpu", &ctx)
        .await;
    assert!(internal.ok, "{internal:?}");
    c.refresh().await.unwrap();
    let card = format!("section.incident[data-incident='{id}']");
    let title = wait_text(c, &format!("{card} h2"), "the incident", |t| {
        t.contains("Checkout slow")
    })
    .await;
    assert_eq!(title, "P2 Checkout slow");
    let status = text_of(c, &format!("{card} p.muted")).await;
    assert!(status.starts_with("declared · since "), "{status}");
    let updates = c.find_all(Locator::Css(".update")).await.unwrap();
    assert_eq!(updates.len(), 1);
    let update = updates[0].text().await.unwrap();
    assert!(
        update.ends_with("— Card payments <b>fail</b> for some customers"),
        "{update}"
    );
    assert!(
        c.find_all(Locator::Css(".update b"))
            .await
            .unwrap()
            .is_empty(),
        "the update's markup is text"
    );
    let main = text_of(c, "main").await;
    assert!(!main.contains("primary db"), "{main}");
    assert!(
        c.find_all(Locator::Css("#all-clear"))
            .await
            .unwrap()
            .is_empty()
    );

    // Resolved, it leaves the page.
    let resolved = app.command("/inc status resolved", &ctx).await;
    assert!(resolved.ok, "{resolved:?}");
    c.refresh().await.unwrap();
    let clear = wait_text(c, "#all-clear", "the all-clear again", |t| !t.is_empty()).await;
    assert_eq!(clear, ALL_CLEAR);
    assert!(c.find_all(Locator::Css(&card)).await.unwrap().is_empty());
}

async fn status_page_in_a_browser(backend: Backend) {
    let Some((chromium, driver)) = browser_binaries() else {
        return;
    };
    // Local accounts on: the rest of the web UI needs a session, the status page does not.
    let (app, _dir) = spawn_with_accounts(backend, CATALOG, &[], |c| {
        c.status_page.enabled = true;
        c.status_page.title = Some("Acme status".into());
    })
    .await;
    let s = session(&chromium, &driver).await;
    run_then_close(
        &[&s.client],
        Duration::from_secs(90),
        "the status page scenario",
        scenario(&app, &s.client),
    )
    .await;
}
both_backends!(browser_status_page, status_page_in_a_browser);
