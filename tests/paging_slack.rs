//! The "done when" of on-call, against the local Slack server on both backends: with a schedule, an
//! escalation policy and Slack, a P1 alert pages the person on call by DM (once), with Acknowledge and
//! Open-war-room buttons; a signed press of Acknowledge acknowledges the page and MTTA shows it.

mod common;
mod slack_server;

use common::alerts::alert_opens;
use common::{Backend, TestApp};
use serde_json::{Value, json};
use slack_server::FakeSlack;
use slack_server::helpers::*;

const CATALOG: &str = r#"
[[service]]
name = "checkout"
owner = "payments"
oncall = "primary"
escalation = "payments"

[[person]]
id = "alice"
name = "Alice Ng"
slack = "UALICE001"

[[person]]
id = "bob"
slack = "UBOB00001"

[[team]]
id = "payments"
members = ["alice", "bob"]

[[schedule]]
name = "primary"
timezone = "Europe/Berlin"
[[schedule.layer]]
people = ["alice"]
shift = "1w"
start = "2026-01-05T09:00"

[[escalation]]
name = "payments"
[[escalation.level]]
targets = ["schedule:primary"]
wait = "5m"
[[escalation.level]]
targets = ["team:payments"]
wait = "10m"
"#;

async fn interact(app: &TestApp, payload: &Value) -> u16 {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    slack_server::send_signed(
        &app.client,
        &app.url("/slack/interactions"),
        &body,
        "application/x-www-form-urlencoded",
        &[],
    )
    .await
    .status()
    .as_u16()
}

fn dm_messages(fake: &FakeSlack, user: &str) -> Vec<Value> {
    fake.channels()
        .into_iter()
        .find(|c| c.id == format!("D{user}"))
        .map(|c| c.messages)
        .unwrap_or_default()
}

async fn a_p1_alert_pages_the_on_call_by_dm_and_the_button_acknowledges(backend: Backend) {
    let fake = FakeSlack::start().await;
    let (app, _dir) = spawn_with_catalog_and(backend, &fake, CATALOG, |c| {
        c.alerts.group_wait = "0s".into();
        c.server.public_url = Some("https://warroom.example".into());
    })
    .await;
    let id = alert_opens(&app, "CheckoutDown", "checkout", "critical").await;
    let f = fake.clone();
    wait_until("alice is paged by DM", 10, || {
        let f = f.clone();
        async move { !dm_messages(&f, "UALICE001").is_empty() }
    })
    .await;
    drained(&app, id, 10).await;
    let dms = dm_messages(&fake, "UALICE001");
    assert_eq!(dms.len(), 1, "one DM per page: {dms:?}");
    assert!(
        dm_messages(&fake, "UBOB00001").is_empty(),
        "level 2 waits its turn"
    );
    let text = dms[0]["text"].as_str().unwrap();
    assert!(text.contains(&format!("incident #{id} (P1)")), "{text}");
    let buttons = &dms[0]["blocks"][1]["elements"];
    let ack = buttons[0]["action_id"].as_str().unwrap().to_string();
    let (_, pages) = app.get_json(&format!("/api/v1/incidents/{id}/pages")).await;
    let page = pages["pages"][0]["id"].as_i64().unwrap();
    assert_eq!(ack, format!("page_ack:{page}:{id}"));
    assert_eq!(
        buttons[1]["url"],
        format!("https://warroom.example/incidents/{id}")
    );

    let press = json!({"type": "block_actions", "user": {"id": "UALICE001", "username": "alice"},
        "trigger_id": "t1", "channel": {"id": "DUALICE001"},
        "actions": [{"action_id": ack, "value": ack, "type": "button"}]});
    assert_eq!(interact(&app, &press).await, 200);
    let (_, pages) = app.get_json(&format!("/api/v1/incidents/{id}/pages")).await;
    assert_eq!(pages["pages"][0]["status"], "acknowledged");
    assert_eq!(pages["pages"][0]["acknowledged_by"], "alice");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert!(inc["mtta_seconds"].as_i64().is_some(), "{inc}");
    assert!(inc["acknowledged_at"].is_string(), "{inc}");
    let acked = app.events_of(id, "page_acknowledged").await;
    assert_eq!(acked[0]["actor"], "alice");
    assert_eq!(acked[0]["data"]["identity"]["platform_id"], "UALICE001");
    // The room hears about the page and its acknowledgement.
    let room = room_of(&app, id).await;
    drained(&app, id, 10).await;
    let posts = fake.texts(&room);
    assert!(
        posts.iter().any(|p| p.contains("Paged <@UALICE001>")),
        "{posts:?}"
    );
    assert!(
        posts.iter().any(|p| p.contains("acknowledged the page")),
        "{posts:?}"
    );
}
both_backends!(
    slack_dm,
    a_p1_alert_pages_the_on_call_by_dm_and_the_button_acknowledges
);
