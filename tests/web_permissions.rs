//! The web room asks the same permission policy as the API and Slack, for the signed-in person: a
//! responder is refused the guarded actions (the refusal answered and on the timeline), an admin may.

mod common;

use common::web::{signed_in, spawn_with_accounts};
use common::{Backend, TestApp, declare, split};
use serde_json::{Value, json};
use warroom::config::Grants;

const CATALOG: &str = "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\n[[person]]\nid = \"bob\"\n";

async fn spawn(backend: Backend) -> (TestApp, tempfile::TempDir) {
    spawn_with_accounts(backend, CATALOG, &["alice", "bob"], |c| {
        c.roles.insert("admin".into(), Grants(vec!["bob".into()]));
    })
    .await
}

async fn say(app: &TestApp, who: &(reqwest::Client, String), id: i64, text: &str) -> Value {
    let resp = who
        .0
        .post(app.url(&format!("/incidents/{id}/messages")))
        .header("x-csrf-token", &who.1)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert!(status < 300, "{status} {body}");
    body
}

async fn the_web_room_asks_the_policy_for_the_signed_in_person(backend: Backend) {
    let (app, _dir) = spawn(backend).await;
    let id = declare(&app, "Checkout slow", "P3").await;
    let alice = signed_in(&app, "alice").await;
    let bob = signed_in(&app, "bob").await;

    // A responder may work the incident …
    let answer = say(&app, &alice, id, "/inc triage").await;
    assert_eq!(answer["ok"], true, "{answer}");
    // … but not cancel it: the answer says why, privately, and the refusal is on the timeline.
    let answer = say(&app, &alice, id, "/inc cancel").await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["reply"]["visibility"], "ephemeral", "{answer}");
    let text = answer["reply"]["text"].as_str().unwrap();
    assert!(
        text.contains("cancelling an incident needs the commander or an admin"),
        "{text}"
    );
    let refused = app.events_of(id, "refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["actor"], "alice");
    assert_eq!(refused[0]["data"]["action"], "cancel");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "triaging");

    // The admin may, and is the recorded actor.
    let answer = say(&app, &bob, id, "/inc cancel").await;
    assert_eq!(answer["ok"], true, "{answer}");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "cancelled");
    let changed = app.events_of(id, "status_changed").await;
    assert_eq!(changed.last().unwrap()["actor"], "bob");
    assert_eq!(
        changed.last().unwrap()["data"]["identity"]["platform"],
        "web",
        "the platform identity is kept in the event's data"
    );

    // The declare form: a P1 needs a commander or an admin.
    let resp = alice
        .0
        .post(app.url("/incidents"))
        .form(&[
            ("title", "Everything down"),
            ("severity", "P1"),
            ("csrf", alice.1.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declaring a P0/P1 incident needs the commander or an admin"),
        "{body}"
    );
    let (_, audit) = app.get_json("/api/v1/audit?allowed=false").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["cancel", "declare_major"], "{audit}");
}
both_backends!(web, the_web_room_asks_the_policy_for_the_signed_in_person);
