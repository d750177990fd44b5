//! The incident console in headless Chromium: the board's counts and a new incident arriving live;
//! the war room's chart, alert groups, suspects and timeline filter; its buttons do what they say
//! (Mitigate moves the incident, Confirm cause confirms the change) and are absent for a person
//! who may not use them. With `WARROOM_SCREENSHOTS=DIR` it also saves PNGs of the pages.

mod browser_support;
mod common;
mod console_support;

use browser_support::{
    WAIT, browser_binaries, click, run_then_close, session, set_name, wait_text,
};
use common::{Backend, TestApp, declare};
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

async fn name_as(c: &Client, app: &TestApp, name: &str) {
    c.delete_all_cookies().await.unwrap();
    c.goto(&app.url("/")).await.unwrap();
    set_name(c, name).await;
}

/// Whether an element matching `css` exists.
async fn exists(c: &Client, css: &str) -> bool {
    !c.find_all(Locator::Css(css)).await.unwrap().is_empty()
}

/// Waits until `css` is shown (`true`) or hidden (`false`) by the page's style.
async fn wait_shown(c: &Client, css: &str, shown: bool) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let e = c.find(Locator::Css(css)).await.unwrap();
        if e.is_displayed().await.unwrap() == shown {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "`{css}` did not become {}",
        if shown { "shown" } else { "hidden" }
    );
}

fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("WARROOM_SCREENSHOTS").map(Into::into)
}

async fn scenario(app: &TestApp, c: &Client) {
    let id = console_support::fixture(app).await;
    // The board: counts at the top, the incident listed, and a new one arriving live.
    name_as(c, app, "alice").await;
    wait_text(c, "#count-open", "the open count", |t| t == "1 open").await;
    wait_text(
        c,
        &format!("#incidents tr[data-id='{id}']"),
        "the row",
        |t| t.contains("HighErrorRate"),
    )
    .await;
    let later = declare(app, "Disk filling on db", "P3").await;
    wait_text(
        c,
        &format!("#incidents tr[data-id='{later}']"),
        "the live row",
        |t| t.contains("Disk filling on db"),
    )
    .await;
    wait_text(c, "#count-open", "the open count", |t| t == "2 open").await;

    // The war room: chart, grouped alerts, suspects with their buttons, roles.
    c.goto(&app.url(&format!("/incidents/{id}"))).await.unwrap();
    wait_text(c, "#alerts", "the alert groups", |t| {
        t.contains("HighErrorRate") && t.contains("Latency")
    })
    .await;
    let loaded = c
        .execute(
            "var i = document.getElementById('chain'); return i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        loaded,
        serde_json::json!(true),
        "the causal chain image loads"
    );
    assert!(exists(c, "#suspects .suspect button.rollback").await);
    assert!(exists(c, "#actions button[data-command='/inc cancel']").await);

    // The timeline filter hides key events under "conversation".
    let first_alert = "#timeline li[data-class='key']";
    wait_shown(c, first_alert, true).await;
    click(c, "input[name=show][value=conversation]").await;
    wait_shown(c, first_alert, false).await;
    click(c, "input[name=show][value=all]").await;
    wait_shown(c, first_alert, true).await;

    // Buttons do what they say: Mitigate moves the incident, and the panel follows.
    click(c, "#actions button[data-command='/inc mitigate']").await;
    wait_text(c, "#status", "mitigating", |t| {
        t.eq_ignore_ascii_case("mitigating")
    })
    .await;
    wait_text(c, "#actions", "the buttons of a mitigating incident", |t| {
        !t.contains("Mitigate") && t.contains("Resolve")
    })
    .await;
    let top = "#suspects .suspect:first-of-type";
    let confirm = format!("{top} button.confirm");
    click(c, &confirm).await;
    wait_text(c, top, "the confirmed cause", |t| {
        t.contains("Confirmed cause")
    })
    .await;
    wait_text(c, "#timeline", "the command folded with its reply", |t| {
        t.contains("/inc mitigate") && t.contains(&format!("↳ Incident #{id} is now mitigating."))
    })
    .await;
    if let Some(dir) = screenshot_dir() {
        std::fs::write(dir.join("test-war-room.png"), c.screenshot().await.unwrap()).unwrap();
    }

    // bob, a responder, sees the room without the guarded buttons.
    name_as(c, app, "bob").await;
    c.goto(&app.url(&format!("/incidents/{id}"))).await.unwrap();
    wait_text(c, "#status", "the status", |t| {
        t.eq_ignore_ascii_case("mitigating")
    })
    .await;
    assert!(exists(c, "#actions button[data-command='/inc resolve']").await);
    for absent in [
        "#suspects button.rollback",
        "#suspects button.confirm",
        "#actions button[data-command='/inc cancel']",
        "#actions button.sev-action",
    ] {
        assert!(!exists(c, absent).await, "{absent} is not offered to bob");
    }
}

async fn console_in_a_browser(backend: Backend) {
    let Some((chromium, driver)) = browser_binaries() else {
        return;
    };
    let (_dir, app) = console_support::spawn(backend).await;
    let s = session(&chromium, &driver).await;
    run_then_close(
        &[&s.client],
        Duration::from_secs(90),
        "the console scenario",
        scenario(&app, &s.client),
    )
    .await;
}
both_backends!(browser_console, console_in_a_browser);
