//! Helpers shared by the Slack test files.

use super::{Channel, FakeSlack};
use serde_json::Value;
use std::time::Duration;

pub async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub async fn spawn(backend: crate::common::Backend, fake: &FakeSlack) -> crate::common::TestApp {
    let fake = fake.clone();
    crate::common::TestApp::spawn_with(backend, move |c| fake.configure(c)).await
}

/// Waits until every outbox entry of `id` is delivered; panics on a failed one.
pub async fn drained(app: &crate::common::TestApp, id: i64, secs: u64) {
    let store = app.engine().store().clone();
    wait_until(&format!("incident {id}'s outbox drained"), secs, || {
        let store = store.clone();
        async move {
            let entries = store.outbox_for_incident(id).await.unwrap();
            for (e, status) in &entries {
                assert_ne!(
                    *status,
                    warroom::store::OutboxStatus::Failed,
                    "delivery failed after {} attempts: {} {:?}",
                    e.attempts,
                    e.action,
                    e.last_error
                );
            }
            entries
                .iter()
                .all(|(_, s)| *s == warroom::store::OutboxStatus::Done)
        }
    })
    .await;
}

pub async fn room_of(app: &crate::common::TestApp, id: i64) -> String {
    let store = app.engine().store().clone();
    wait_until("the Slack room", 20, || {
        let store = store.clone();
        async move { store.chat_room(id, "slack").await.unwrap().is_some() }
    })
    .await;
    store.chat_room(id, "slack").await.unwrap().unwrap().room_id
}

pub async fn timeline(app: &crate::common::TestApp, id: i64) -> Vec<Value> {
    let (status, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

pub fn keys(channel: &Channel) -> Vec<String> {
    channel
        .messages
        .iter()
        .filter_map(|m| {
            m["metadata"]["event_payload"]["key"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

pub fn assert_no_duplicate_posts(channel: &Channel) {
    let mut k = keys(channel);
    let n = k.len();
    k.sort();
    k.dedup();
    assert_eq!(k.len(), n, "a message was posted twice in {}", channel.name);
    assert_eq!(n, channel.messages.len(), "every bot post carries its key");
}

/// The people of the Slack tests: alice is known by her Slack id, bob by nothing.
pub const PEOPLE: &str = "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\nslack = \"UALICE001\"\n\
    [[person]]\nid = \"bob\"\nemail = \"bob@example.com\"\n[[team]]\nid = \"payments\"\nmembers = [\"alice\", \"bob\"]\n";

/// Spawns warroom against the fake with `catalog` (TOML) as its catalog file; keep the folder alive.
pub async fn spawn_with_catalog(
    backend: crate::common::Backend,
    fake: &FakeSlack,
    catalog: &str,
) -> (crate::common::TestApp, tempfile::TempDir) {
    spawn_with_catalog_and(backend, fake, catalog, |_| {}).await
}

/// As `spawn_with_catalog`, with a further configuration tweak (roles, policy …).
pub async fn spawn_with_catalog_and(
    backend: crate::common::Backend,
    fake: &FakeSlack,
    catalog: &str,
    tweak: impl FnOnce(&mut warroom::config::Config) + Send + 'static,
) -> (crate::common::TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, catalog).unwrap();
    let fake = fake.clone();
    let app = crate::common::TestApp::spawn_with(backend, move |c| {
        fake.configure(c);
        c.catalog.path = path.display().to_string();
        tweak(c);
    })
    .await;
    (app, dir)
}

/// Sends a signed slash command typed by `user_id` (with the handle `user_name`) in `channel`.
pub async fn slash(
    app: &crate::common::TestApp,
    channel: &str,
    user_id: &str,
    user_name: &str,
    text: &str,
) -> Value {
    let (cmd, rest) = text.split_once(' ').unwrap_or((text, ""));
    let body = serde_urlencoded::to_string([
        ("team_id", "T0001"),
        ("channel_id", channel),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", cmd),
        ("text", rest),
    ])
    .unwrap();
    let resp = super::send_signed(
        &app.client,
        &app.url("/slack/commands"),
        &body,
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}
