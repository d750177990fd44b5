//! Reviewing a postmortem in the browser's forms, on both backends: a reviewer's sections saved as
//! `postmortem_section` events (CSRF checked, the policy asked, refusals recorded), action items added
//! with a due date and edited, the exports carrying both; and the stakeholder status page, off by
//! default and, when on, showing only the updates posted with `/inc update --public`.

mod common;

use common::web::{signed_in, spawn_with_accounts};
use common::{Backend, TestApp, declare, web_ctx};
use reqwest::header::ACCEPT;
use warroom::config::Grants;

const CATALOG: &str = "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\n[[person]]\nid = \"bob\"\n";

async fn spawn(backend: Backend) -> (TestApp, tempfile::TempDir) {
    // alice responds; bob, a known person with no role, may only read.
    spawn_with_accounts(backend, CATALOG, &["alice", "bob"], |c| {
        c.roles
            .insert("responder".into(), Grants(vec!["alice".into()]));
    })
    .await
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let resp = client
        .get(app.url(path))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
}

async fn post_form(
    app: &TestApp,
    who: &(reqwest::Client, String),
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", who.1.as_str()));
    let resp = who.0.post(app.url(path)).form(&form).send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let body = resp.text().await.unwrap();
    (status, location.unwrap_or(body))
}

async fn postmortem_sections_and_action_items(backend: Backend) {
    let (app, _dir) = spawn(backend).await;
    let id = declare(&app, "Checkout slow", "P3").await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;
    let path = format!("/incidents/{id}/postmortem");

    // alice sees the edit controls, fills a section in: one event, back to the page.
    let html = page(&app, &alice.0, &path).await;
    assert!(html.contains(r#"id="text-lessons""#), "{html}");
    assert!(html.contains(r#"id="add-action""#));
    let (s, location) = post_form(
        &app,
        &alice,
        &format!("{path}/sections"),
        &[
            ("section", "lessons"),
            ("text", "Canary <b>first</b>\nthen the rest"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{location}");
    assert_eq!(location, format!("{path}#pm-lessons"));
    let events = app.events_of(id, "postmortem_section").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "alice");
    assert_eq!(events[0]["data"]["section"], "lessons");
    let html = page(&app, &alice.0, &path).await;
    assert!(
        html.contains("Canary &lt;b&gt;first&lt;&#x2f;b&gt;\nthen the rest"),
        "escaped on the page: {html}"
    );

    // Without the CSRF token the session layer refuses; an unknown section is a 400 naming the field.
    let resp = alice
        .0
        .post(app.url(&format!("{path}/sections")))
        .form(&[("section", "lessons"), ("text", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let (s, body) = post_form(
        &app,
        &alice,
        &format!("{path}/sections"),
        &[("section", "gossip")],
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("section: unknown section `gossip`"), "{body}");

    // bob may read but not edit: no controls, and a forged post is refused and recorded.
    let html = page(&app, &bob.0, &path).await;
    assert!(html.contains("then the rest"));
    assert!(!html.contains(r#"id="text-lessons""#), "{html}");
    assert!(!html.contains(r#"id="add-action""#));
    assert!(!html.contains("/postmortem/sections"));
    let (s, body) = post_form(
        &app,
        &bob,
        &format!("{path}/sections"),
        &[("section", "follow_ups"), ("text", "bob was here")],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(app.events_of(id, "postmortem_section").await.len(), 1);
    assert!(!app.events_of(id, "refused").await.is_empty());

    // Action items: added with a due date, then edited (done, new owner, no due date).
    let (s, _) = post_form(
        &app,
        &alice,
        &format!("{path}/actions"),
        &[
            ("text", "Add a canary stage"),
            ("owner", "@alice"),
            ("due", "2026-12-15"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, incident) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    let item = &incident["action_items"][0];
    assert_eq!(item["due_at"], "2026-12-15T00:00:00Z", "{incident}");
    assert_eq!(item["owner"], "alice");
    let item_id = item["id"].as_i64().unwrap();
    let (_, json) = app.get_json(&format!("/api/v1{path}?format=json")).await;
    assert_eq!(json["action_items"][0]["due_at"], "2026-12-15T00:00:00Z");
    assert_eq!(
        json["review"]["lessons"]["text"],
        "Canary <b>first</b>\nthen the rest"
    );
    assert_eq!(json["review"]["lessons"]["by"], "alice");
    assert!(json["review"]["follow_ups"].is_null());
    let md = app.get_text(&format!("/api/v1{path}?format=md")).await;
    assert!(
        md.contains("## Lessons learnt\n\nCanary <b>first</b>\nthen the rest\n"),
        "{md}"
    );
    assert!(
        md.contains("Add a canary stage — @alice (open), due 2026-12-15"),
        "{md}"
    );

    let (s, body) = post_form(
        &app,
        &alice,
        &format!("{path}/actions/{item_id}"),
        &[
            ("text", "Add a canary stage to checkout"),
            ("owner", "carol"),
            ("due", ""),
            ("status", "done"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (_, json) = app.get_json(&format!("/api/v1{path}?format=json")).await;
    let edited = &json["action_items"][0];
    assert_eq!(edited["text"], "Add a canary stage to checkout");
    assert_eq!(edited["owner"], "carol");
    assert_eq!(edited["status"], "done");
    assert!(edited["due_at"].is_null());
    let edits = app.events_of(id, "action_item").await;
    assert_eq!(edits.len(), 2);
    assert_eq!(edits[1]["data"]["edited"], true);
    // A bad status or an item of another incident: clear errors, nothing changed.
    let (s, body) = post_form(
        &app,
        &alice,
        &format!("{path}/actions/{item_id}"),
        &[("text", "x"), ("status", "maybe")],
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("status"), "{body}");
    let (s, _) = post_form(
        &app,
        &alice,
        &format!("{path}/actions/999"),
        &[("text", "x")],
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post_form(
        &app,
        &bob,
        &format!("{path}/actions/{item_id}"),
        &[("text", "mine")],
    )
    .await;
    assert_eq!(s, 403);
}
both_backends!(postmortem_review, postmortem_sections_and_action_items);

async fn status_page_is_off_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = reqwest::get(app.url("/status")).await.unwrap();
    assert_eq!(resp.status(), 404);
}
both_backends!(status_page_off, status_page_is_off_by_default);

async fn status_page_shows_only_public_updates(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.status_page.enabled = true;
        c.status_page.title = Some("Acme status".into());
        c.auth.local_accounts = true;
        c.catalog.path = catalog.display().to_string();
    })
    .await;
    let id = declare(&app, "Checkout slow", "P2").await;
    let done = declare(&app, "Old trouble", "P3").await;
    let ctx = web_ctx(Some(id), "alice");
    let reply = app
        .command(
            "/inc update --public Card payments fail for some customers",
            &ctx,
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    assert!(
        app.command("/inc update internal: primary db at 95% cpu", &ctx)
            .await
            .ok
    );
    let ctx_done = web_ctx(Some(done), "alice");
    assert!(
        app.command("/inc update --public Fixed soon", &ctx_done)
            .await
            .ok
    );
    assert!(app.command("/inc status resolved", &ctx_done).await.ok);

    // Both updates are still broadcast in the room (status_update events, one marked public).
    let updates = app.events_of(id, "status_update").await;
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["data"]["public"], true);

    // Readable without sign-in (local accounts are on): only the ongoing incident, only its public update.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<title>Acme status</title>"), "{html}");
    assert!(
        html.contains("Card payments fail for some customers"),
        "{html}"
    );
    assert!(!html.contains("primary db"), "{html}");
    assert!(
        !html.contains("Old trouble") && !html.contains("Fixed soon"),
        "{html}"
    );
    assert_eq!(html.matches(r#"class="update""#).count(), 1);
    // The war room itself still needs a session.
    let resp = client
        .get(app.url(&format!("/incidents/{id}")))
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), 200);
}
both_backends!(status_page_on, status_page_shows_only_public_updates);
