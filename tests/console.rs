//! The incident console over HTTP: the causal chain SVG parses and has a mark for every change, alert
//! group and milestone of a fixture incident; the Markdown export links it; the board filters and
//! orders; the war room offers only the actions the viewer's policy allows.

mod common;
mod console_support;

use common::{Backend, TestApp, declare};
use console_support::{fixture, spawn};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::json;
use std::collections::BTreeMap;

/// A client that names itself `name` in the web room (trusted-host mode).
async fn named(app: &TestApp, name: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(app.url("/name"))
        .form(&[("name", name), ("back", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    client
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let resp = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
}

/// Every element of the SVG carrying `data-kind`, as (kind, its attributes); panics unless it parses.
fn marks(svg: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut reader = Reader::from_str(svg);
    let mut out = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                root.get_or_insert(name);
                let attrs: BTreeMap<String, String> = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("a well-formed attribute");
                        let value = a.unescape_value().expect("an escaped value").to_string();
                        (String::from_utf8_lossy(a.key.as_ref()).to_string(), value)
                    })
                    .collect();
                if let Some(kind) = attrs.get("data-kind") {
                    out.push((kind.clone(), attrs));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    out
}

async fn the_causal_chain_has_a_mark_for_everything(backend: Backend) {
    let (_dir, app) = spawn(backend).await;
    let id = fixture(&app).await;
    let alice = named(&app, "alice").await;
    for text in [
        "/inc mitigate",
        "/inc update rolling back checkout",
        "/inc resolve",
    ] {
        let resp = alice
            .post(app.url(&format!("/incidents/{id}/messages")))
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{text}");
    }
    let resp = app
        .client
        .get(app.url(&format!("/incidents/{id}/timeline.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "image/svg+xml; charset=utf-8"
    );
    let svg = resp.text().await.unwrap();
    let marks = marks(&svg);
    let of = |kind: &str| marks.iter().filter(|(k, _)| k == kind).collect::<Vec<_>>();
    assert_eq!(of("change").len(), 2, "one mark per linked change: {svg}");
    let groups: std::collections::BTreeSet<&str> = of("alert")
        .iter()
        .map(|(_, a)| a["data-group"].as_str())
        .collect();
    assert_eq!(groups, ["HighErrorRate", "Latency"].into(), "{svg}");
    let milestones: Vec<&str> = of("milestone")
        .iter()
        .map(|(_, a)| a["data-milestone"].as_str())
        .collect();
    assert_eq!(
        milestones,
        [
            "detected",
            "declared",
            "acknowledged",
            "mitigated",
            "resolved"
        ]
    );
    assert_eq!(of("update").len(), 1);
    assert!(svg.contains("pool&lt;50&gt; &amp; more"), "{svg}");

    // The Markdown export links the chart; the postmortem page and the war room show it.
    let md = app
        .get_text(&format!("/incidents/{id}/postmortem?format=md"))
        .await;
    assert!(
        md.contains(&format!("](/incidents/{id}/timeline.svg)")),
        "{md}"
    );
    let pm = app.get_text(&format!("/incidents/{id}/postmortem")).await;
    assert!(pm.contains(&format!("src=\"/incidents/{id}/timeline.svg\"")));
    let room = page(&alice, &app, &format!("/incidents/{id}")).await;
    assert!(room.contains(&format!("src=\"/incidents/{id}/timeline.svg\"")));
    assert!(room.contains(r#"data-alert="HighErrorRate""#), "{room}");
    // The suspects offer Roll back to the admin; the confirm buttons to confirm a cause.
    assert!(room.contains("Roll back"), "{room}");
    assert!(room.contains("Confirm cause"), "{room}");
    // Somebody who may not roll back or confirm sees neither.
    let mallory = named(&app, "mallory").await;
    let theirs = page(&mallory, &app, &format!("/incidents/{id}")).await;
    assert!(theirs.contains(r#"data-alert="HighErrorRate""#));
    assert!(!theirs.contains("Roll back") && !theirs.contains("Confirm cause"));
    let (s, _) = app.get_json("/incidents/999/timeline.svg").await;
    assert_eq!(s, 404);
}
both_backends!(causal_chain, the_causal_chain_has_a_mark_for_everything);

async fn the_board_filters_and_the_room_offers_only_allowed_actions(backend: Backend) {
    let (_dir, app) = spawn(backend).await;
    let minor = declare(&app, "Minor glitch", "P3").await;
    let major = declare(&app, "Checkout down", "P1").await;
    let resolved = declare(&app, "Old one", "P2").await;
    let (s, _) = app
        .patch_json(
            &format!("/api/v1/incidents/{resolved}"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .patch_json(
            &format!("/api/v1/incidents/{minor}"),
            json!({"roles": {"scribe": "bob"}}),
        )
        .await;
    assert_eq!(s, 200);
    let bob = named(&app, "bob").await;
    let rows = |html: &str| -> Vec<i64> {
        html.split("<tr data-id=\"")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let board = page(&bob, &app, "/").await;
    assert_eq!(rows(&board), [major, minor], "open only, P1 before P3");
    assert!(
        board.contains(r#"<strong id="count-open">2 open</strong>"#),
        "{board}"
    );
    assert_eq!(
        rows(&page(&bob, &app, "/?scope=all").await),
        [major, resolved, minor]
    );
    assert_eq!(rows(&page(&bob, &app, "/?severity=P3").await), [minor]);
    assert_eq!(
        rows(&page(&bob, &app, "/?mine=1").await),
        [minor],
        "bob is scribe there"
    );
    let resp = bob.get(app.url("/?severity=P9")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("severity:"),
        "{body}"
    );

    // bob (a responder) may mitigate and resolve a P1 but not cancel it nor touch its severity.
    let command = |c: &str| format!("data-command=\"{}\"", c.replace('/', "&#x2f;"));
    let room = page(&bob, &app, &format!("/incidents/{major}")).await;
    for allowed in ["/inc mitigate", "/inc resolve", "/inc triage"] {
        assert!(room.contains(&command(allowed)), "{allowed}: {room}");
    }
    assert!(!room.contains(&command("/inc cancel")), "no Cancel for bob");
    assert!(
        !room.contains("data-command=\"&#x2f;inc sev"),
        "no severity change of a P1 for bob"
    );
    // On the P3 he may move the severity between P2 and P3 only.
    let room = page(&bob, &app, &format!("/incidents/{minor}")).await;
    assert!(room.contains(&command("/inc sev P2")));
    assert!(!room.contains(&command("/inc sev P1")) && !room.contains(&command("/inc sev P0")));
    // alice, an admin, may cancel and take the commander role.
    let alice = named(&app, "alice").await;
    let room = page(&alice, &app, &format!("/incidents/{major}")).await;
    assert!(room.contains(&command("/inc cancel")));
    assert!(room.contains(&command("/inc role commander @alice")));
    assert!(room.contains(&command("/inc sev P0")));
}
both_backends!(
    board_and_actions,
    the_board_filters_and_the_room_offers_only_allowed_actions
);
