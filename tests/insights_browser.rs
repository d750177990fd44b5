//! Headless Chromium on `/reports` (every chart drawn, the period selector changes the period) and
//! on the postmortem page (a section filled in is saved and shown after a reload; a person who may
//! not edit sees it without any edit control), on both backends.

mod browser_support;
mod common;

use browser_support::{browser_binaries, click, run_then_close, session, type_into, wait_text};
use common::web::{password, spawn_with_accounts};
use common::{Backend, TestApp, declare};
use fantoccini::{Client, Locator};
use std::time::Duration;
use warroom::config::Grants;

const CATALOG: &str = "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\n[[person]]\nid = \"bob\"\n";

async fn sign_in(c: &Client, app: &TestApp, name: &str, next: &str) {
    c.goto(&app.url(&format!("/signin?next={next}")))
        .await
        .unwrap();
    type_into(c, "input[name=name]", name).await;
    type_into(c, "input[name=password]", &password(name)).await;
    click(c, "form:not(:has(#oidc)) button").await;
}

async fn scenario(app: &TestApp, c: &Client, id: i64) {
    // Insights: a drawn chart for every chart, each with its JSON and CSV links.
    sign_in(c, app, "alice", "/reports").await;
    wait_text(c, "#charts", "the charts", |_| true).await;
    let charts = c.find_all(Locator::Css("#charts svg.chart")).await.unwrap();
    assert_eq!(charts.len(), warroom::domain::insights::CHARTS.len());
    let marks = c
        .find_all(Locator::Css("#chart-risky-hours .mark"))
        .await
        .unwrap();
    assert_eq!(marks.len(), 7 * 24, "a cell per hour of the week");
    assert!(
        c.find(Locator::Css("#card-alert-noise a[href*='format=csv']"))
            .await
            .is_ok()
    );
    // The period selector: new dates, Show, and the page is about that period.
    c.execute(
        "document.querySelector('#period input[name=from]').value = '2026-01-05';\
         document.querySelector('#period input[name=to]').value = '2026-01-18';",
        vec![],
    )
    .await
    .unwrap();
    click(c, "#period-show").await;
    wait_text(c, "#overall h2", "the chosen period", |t| {
        t.contains("from 2026-01-05 to 2026-01-18")
    })
    .await;
    let weeks = c
        .find_all(Locator::Css(
            "#chart-incidents-per-week .mark[data-series=P1]",
        ))
        .await
        .unwrap();
    assert_eq!(weeks.len(), 2, "two weeks, a P1 bar each");
    click(c, ".preset[data-days='7']").await;
    wait_text(c, "#overall h2", "the 7-day preset", |t| {
        t.contains("to 2026-01-18") && t.contains("from 2026-01-12")
    })
    .await;

    // The postmortem page: alice fills in the lessons; after a reload they are there.
    let pm = app.url(&format!("/incidents/{id}/postmortem"));
    c.goto(&pm).await.unwrap();
    type_into(c, "#text-lessons", "Ship behind a flag").await;
    click(c, "#pm-lessons button[type=submit]").await;
    wait_text(c, "#pm-lessons .review-text", "the saved lessons", |t| {
        t == "Ship behind a flag"
    })
    .await;
    c.refresh().await.unwrap();
    wait_text(
        c,
        "#pm-lessons .review-text",
        "the lessons after a reload",
        |t| t == "Ship behind a flag",
    )
    .await;

    // bob may not edit: he reads the lessons, with no edit control anywhere.
    c.delete_all_cookies().await.unwrap();
    sign_in(c, app, "bob", &format!("/incidents/{id}/postmortem")).await;
    wait_text(c, "#pm-lessons .review-text", "the lessons for bob", |t| {
        t == "Ship behind a flag"
    })
    .await;
    for css in [
        "#pm-lessons form",
        ".section-form",
        "#add-action",
        "#pm-actions form",
        "textarea",
    ] {
        assert!(
            c.find_all(Locator::Css(css)).await.unwrap().is_empty(),
            "{css} shown to bob"
        );
    }
}

async fn reports_and_postmortem_in_a_browser(backend: Backend) {
    let Some((chromium, driver)) = browser_binaries() else {
        return;
    };
    let (app, _dir) = spawn_with_accounts(backend, CATALOG, &["alice", "bob"], |c| {
        c.roles
            .insert("responder".into(), Grants(vec!["alice".into()]));
    })
    .await;
    let id = declare(&app, "Checkout slow", "P3").await;
    let s = session(&chromium, &driver).await;
    run_then_close(
        &[&s.client],
        Duration::from_secs(120),
        "the browser scenario",
        scenario(&app, &s.client, id),
    )
    .await;
}
both_backends!(browser_insights, reports_and_postmortem_in_a_browser);
