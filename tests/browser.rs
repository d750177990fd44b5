//! The web UI in headless Chromium, driven over WebDriver (chromedriver + fantoccini): the board
//! declares an incident, a message typed in one browser appears live in a second one, a `/inc`
//! command typed there changes the status, and the postmortem and reports pages render.
//! Locally without chromium/chromedriver the test prints a skip; in CI (`CI` set) it fails.

mod browser_support;
mod common;

use browser_support::{
    WAIT, browser, browser_binaries, click, run_then_close, set_name, start_driver, text_of,
    type_into, wait_text,
};
use common::{Backend, TestApp};
use fantoccini::{Client, Locator};
use std::path::Path;
use std::time::{Duration, Instant};

async fn say(c: &Client, text: &str) {
    let input = c.find(Locator::Css("#say #text")).await.unwrap();
    input.send_keys(text).await.unwrap();
    click(c, "#say button").await;
    // The box empties once the server took it.
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let value = input.prop("value").await.unwrap().unwrap_or_default();
        if value.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = text_of(c, "#reply").await;
    panic!("`{text}` was not accepted; reply: {reply}");
}

async fn scenario(app: &TestApp, alice: &Client, bob: &Client) {
    // The board: alice names herself and declares through the form.
    alice.goto(&app.url("/")).await.unwrap();
    set_name(alice, "alice").await;
    type_into(
        alice,
        "#declare input[name=title]",
        "Checkout declines cards",
    )
    .await;
    alice
        .find(Locator::Css("#declare select[name=severity]"))
        .await
        .unwrap()
        .select_by_label("P1")
        .await
        .unwrap();
    type_into(alice, "#declare input[name=service]", "checkout").await;
    click(alice, "#declare button").await;
    let title = wait_text(alice, "#title", "the war room", |t| !t.is_empty()).await;
    assert_eq!(title, "Checkout declines cards");
    let room = alice.current_url().await.unwrap();
    assert!(room.path().starts_with("/incidents/"), "{room}");
    let id: i64 = room
        .path()
        .trim_start_matches("/incidents/")
        .parse()
        .unwrap();

    // A second browser joins the same room.
    bob.goto(room.as_str()).await.unwrap();
    set_name(bob, "bob").await;
    wait_text(bob, "#status", "the status", |t| {
        t.eq_ignore_ascii_case("declared")
    })
    .await;

    // A message typed by alice appears on bob's live timeline.
    say(alice, "card declines up 40% since 10:02").await;
    wait_text(bob, "#timeline", "alice's message", |t| {
        t.contains("alice") && t.contains("card declines up 40% since 10:02")
    })
    .await;
    // bob answers; alice sees it live too.
    say(bob, "rolling back checkout v2.14").await;
    wait_text(alice, "#timeline", "bob's message", |t| {
        t.contains("rolling back checkout v2.14")
    })
    .await;

    // A command typed by alice changes the status on bob's page.
    say(alice, "/inc mitigate").await;
    wait_text(bob, "#status", "the status mitigating", |t| {
        t.eq_ignore_ascii_case("mitigating")
    })
    .await;
    let reply = text_of(alice, "#reply").await;
    assert_eq!(reply, format!("Incident #{id} is now mitigating."));
    say(alice, "/inc resolve").await;
    wait_text(bob, "#status", "the status resolved", |t| {
        t.eq_ignore_ascii_case("resolved")
    })
    .await;
    // The draft's announcement reaches the room live.
    wait_text(bob, "#timeline", "the postmortem announcement", |t| {
        t.contains(&format!("Postmortem draft for incident #{id} is ready"))
            && t.contains(&format!("/incidents/{id}/postmortem"))
    })
    .await;

    // The postmortem page renders the draft.
    bob.goto(&app.url(&format!("/incidents/{id}/postmortem")))
        .await
        .unwrap();
    let t = wait_text(bob, "#pm-title", "the draft title", |t| !t.is_empty()).await;
    assert_eq!(t, "Checkout declines cards");
    let summary = text_of(bob, "#pm-summary").await;
    assert!(
        summary.starts_with("P1 outage on checkout: Checkout declines cards."),
        "{summary}"
    );
    let alice_messages = text_of(bob, "#pm-participants tr[data-name=alice] .messages").await;
    assert_eq!(alice_messages, "1");
    let timeline = text_of(bob, "#pm-timeline").await;
    assert!(
        timeline.contains("alice changed the status from declared to mitigating"),
        "{timeline}"
    );
    assert!(
        timeline.contains("alice changed the status from mitigating to resolved"),
        "{timeline}"
    );
    let questions = text_of(bob, "#pm-questions").await;
    assert!(
        questions.contains("The commander role was never filled"),
        "{questions}"
    );

    // The board lists open incidents by default; "all" lists it as resolved; the reports page counts it.
    alice.goto(&app.url("/?scope=all")).await.unwrap();
    let row = wait_text(
        alice,
        &format!("#incidents tr[data-id='{id}']"),
        "the board row",
        |t| t.contains("Checkout declines cards"),
    )
    .await;
    assert!(row.to_lowercase().contains("resolved"), "{row}");
    alice.goto(&app.url("/reports")).await.unwrap();
    let overall = wait_text(alice, "#overall h2", "the report", |t| !t.is_empty()).await;
    assert!(overall.starts_with("1 incident from"), "{overall}");
    let sev = text_of(alice, "tr[data-group=P1]").await;
    assert!(sev.starts_with("P1 1"), "{sev}");
    if let Some(dir) = std::env::var_os("WARROOM_SCREENSHOTS") {
        let png = bob.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join("postmortem.png"), png).unwrap();
    }
}

async fn war_room_in_two_browsers(backend: Backend) {
    let Some((chromium, driver)) = browser_binaries() else {
        return;
    };
    // alice runs the incident: declaring a P1 needs an admin (or a configured commander).
    let app = TestApp::spawn_with(backend, |c| {
        c.roles.insert(
            "admin".into(),
            warroom::config::Grants(vec!["alice".into()]),
        );
    })
    .await;
    let driver = start_driver(&driver).await;
    let (p1, p2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = browser(&driver, &chromium, p1.path()).await;
    let bob = browser(&driver, &chromium, p2.path()).await;
    run_then_close(
        &[&alice, &bob],
        Duration::from_secs(120),
        "the browser scenario",
        scenario(&app, &alice, &bob),
    )
    .await;
    drop(driver);
}
both_backends!(browser_war_room, war_room_in_two_browsers);
