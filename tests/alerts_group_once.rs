//! Group once: with warroom's default timings (group_wait 30s, group_interval 5m), alerts their sender
//! grouped already (Alertmanager, Grafana) and alerts the declare policy declares open or join their incident
//! when they arrive; joins and resolutions follow within the short `coalesce` window, one digest per window;
//! a native P3 alert still waits for its group.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// warroom's defaults, with a Slack destination (unreachable: the outbox keeps what would be posted).
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.slack.bot_token = Some("xoxb-test".into());
        c.slack.api_url = "http://127.0.0.1:9/api/".into();
    })
    .await
}

async fn post(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, b) = app.post_json(path, body).await;
    assert_eq!(s, 200, "{b}");
    b
}

fn am(instance: &str, status: &str) -> Value {
    let ends = if status == "resolved" {
        chrono::Utc::now().to_rfc3339()
    } else {
        "0001-01-01T00:00:00Z".into()
    };
    json!({"version": "4", "status": status, "groupKey": "{}:{alertname=\"HighErrorRate\"}",
        "alerts": [{"status": status, "labels": {"alertname": "HighErrorRate", "service": "checkout",
            "severity": "critical", "instance": instance},
        "annotations": {"summary": "5xx above 5%"}, "startsAt": "2026-11-21T23:00:00Z", "endsAt": ends}]})
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    let (_, b) = app.get_json("/api/v1/incidents").await;
    b["incidents"].as_array().cloned().unwrap_or_default()
}

async fn only_incident(app: &TestApp) -> i64 {
    app.eventually("the incident", || async {
        !incidents(app).await.is_empty()
    })
    .await;
    let list = incidents(app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    list[0]["id"].as_i64().unwrap()
}

async fn sender_grouped_alerts_are_not_held_again(backend: Backend) {
    let app = spawn(backend).await;
    let t0 = Instant::now();
    post(&app, "/hooks/alertmanager", am("a:8080", "firing")).await;
    let id = only_incident(&app).await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "opened without waiting group_wait (30s): {:?}",
        t0.elapsed()
    );
    // A join and then a resolution of the group: each reaches the timeline without waiting group_interval.
    post(&app, "/hooks/alertmanager", am("b:8080", "firing")).await;
    app.eventually("the second alert joined", || async {
        app.events_of(id, "alert_firing").await.len() == 2
    })
    .await;
    post(&app, "/hooks/alertmanager", am("a:8080", "resolved")).await;
    app.eventually("the resolution on the timeline", || async {
        app.events_of(id, "alert_resolved").await.len() == 1
    })
    .await;
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "joins and resolutions within seconds, not group_interval (5m): {:?}",
        t0.elapsed()
    );
    let (_, alerts) = app.get_json("/api/v1/alerts").await;
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["pending"] == false),
        "nothing left pending: {alerts}"
    );
}
both_backends!(sender_grouped, sender_grouped_alerts_are_not_held_again);

async fn a_declared_native_alert_opens_at_once_and_p3_waits(backend: Backend) {
    let app = spawn(backend).await;
    let native = |name: &str, severity: &str, pod: &str| {
        json!({"alerts": [{"name": name, "service": "checkout", "severity": severity,
            "labels": {"pod": pod}}]})
    };
    // P3 (warning): warroom groups it itself, so it waits group_wait.
    post(&app, "/hooks/alerts", native("QueueLag", "warning", "p1")).await;
    assert_eq!(
        app.engine().dispatch_due().await.unwrap(),
        0,
        "the P3 group is not due yet"
    );
    assert!(incidents(&app).await.is_empty());
    let (_, groups) = app.get_json("/api/v1/alerts/groups").await;
    let due: chrono::DateTime<chrono::Utc> = groups["groups"][0]["next_flush_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        due > chrono::Utc::now() + chrono::TimeDelta::seconds(20),
        "due after group_wait: {groups}"
    );
    // P1 (critical): the declare policy declares it, so it opens its incident at once…
    post(
        &app,
        "/hooks/alerts",
        native("CheckoutDown", "critical", "p1"),
    )
    .await;
    let id = only_incident(&app).await;
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "declared", "{inc}");
    // …and a later alert of its group joins it.
    post(
        &app,
        "/hooks/alerts",
        native("CheckoutDown", "critical", "p2"),
    )
    .await;
    app.eventually("the second alert joined", || async {
        app.events_of(id, "alert_firing").await.len() == 2
    })
    .await;
    assert_eq!(incidents(&app).await.len(), 1);
    assert!(
        app.engine().dispatch_due().await.unwrap() == 0,
        "the P3 group still waits"
    );
    assert_eq!(incidents(&app).await.len(), 1);
}
both_backends!(
    declared_at_once,
    a_declared_native_alert_opens_at_once_and_p3_waits
);

async fn a_storm_of_joins_is_coalesced_into_few_digests(backend: Backend) {
    let app = spawn(backend).await;
    post(&app, "/hooks/alertmanager", am("i-0", "firing")).await;
    let id = only_incident(&app).await;
    let t0 = Instant::now();
    let n = 40;
    for i in 1..=n {
        post(&app, "/hooks/alertmanager", am(&format!("i-{i}"), "firing")).await;
    }
    app.eventually("every alert on the timeline", || async {
        app.events_of(id, "alert_firing").await.len() == n + 1
    })
    .await;
    let elapsed = t0.elapsed();
    let outbox = app.engine().store().outbox_for_incident(id).await.unwrap();
    let digests = outbox
        .iter()
        .filter(|(e, _)| {
            e.action == "post"
                && e.payload["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("alerts on this incident"))
        })
        .count();
    // One digest per 500 ms window at most (plus the windows the ends fall into).
    let bound = (elapsed.as_millis() / 500) as usize + 2;
    assert!(digests >= 1, "the joins are posted");
    assert!(
        digests <= bound && digests < n,
        "{digests} digests for {n} joins in {elapsed:?}"
    );
}
both_backends!(
    storm_coalesced,
    a_storm_of_joins_is_coalesced_into_few_digests
);
