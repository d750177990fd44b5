//! Storms of new alerts (issue 12): the dispatcher marks a whole group's alerts and appends their events
//! many per statement, and ingest leaves a group's timer alone when it is already due. These check that
//! nothing is lost on the way: every new alert, re-send, resolution and flap counted, every alert on its
//! incident's timeline once, nothing left pending; and a group that lost its timer to a race between a
//! dispatch and an ingest is re-armed by the next dispatch round.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use sqlx::Connection;

/// An Alertmanager webhook (v4) of `instances` of `name` on `service`, all in one state.
fn am(name: &str, service: &str, instances: std::ops::Range<usize>, status: &str) -> Value {
    let ends = if status == "resolved" {
        "2026-11-22T00:10:00Z"
    } else {
        "0001-01-01T00:00:00Z"
    };
    let alerts: Vec<Value> = instances
        .map(|i| {
            json!({"status": status, "labels": {"alertname": name, "service": service,
                "severity": "warning", "instance": format!("host-{i}:9100")},
                "annotations": {"summary": "storm"}, "startsAt": "2026-11-22T00:00:00Z", "endsAt": ends})
        })
        .collect();
    json!({"version": "4", "status": status, "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"),
        "alerts": alerts})
}

async fn post(app: &TestApp, body: Value) -> Value {
    let (s, b) = app.post_json("/hooks/alertmanager", body).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    let (_, b) = app.get_json("/api/v1/incidents?limit=100").await;
    b["incidents"].as_array().cloned().unwrap_or_default()
}

async fn totals(app: &TestApp) -> (i64, i64, i64) {
    app.engine().store().alert_totals().await.unwrap()
}

/// Waits until no alert awaits dispatch (joins wait out the `coalesce` window), dispatching what is due.
async fn drained(app: &TestApp) {
    app.eventually("every alert dispatched", || async {
        app.engine().dispatch_due().await.unwrap();
        totals(app).await.2 == 0
    })
    .await;
}

async fn a_storm_of_new_alerts_is_counted_and_dispatched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 3 groups × 150 new alerts, posted 50 at a time from concurrent requests (more than one multi-row
    // statement's worth of alerts and events per group).
    let mut posts = Vec::new();
    for name in ["DiskFull", "HighLatency", "Errors"] {
        for part in 0..3 {
            posts.push(am(name, "checkout", part * 50..part * 50 + 50, "firing"));
        }
    }
    let answers = futures::future::join_all(posts.into_iter().map(|b| post(&app, b))).await;
    let changed: i64 = answers.iter().map(|a| a["changed"].as_i64().unwrap()).sum();
    assert_eq!(changed, 450, "{answers:?}");
    // Re-sent (duplicates) and half of one group resolved, then fired again (flaps).
    let again = post(&app, am("DiskFull", "checkout", 0..150, "firing")).await;
    assert_eq!(again["duplicates"], 150, "{again}");
    drained(&app).await;
    let resolved = post(&app, am("Errors", "checkout", 0..75, "resolved")).await;
    assert_eq!(resolved["changed"], 75, "{resolved}");
    drained(&app).await;

    let (alerts, reports, pending) = totals(&app).await;
    assert_eq!((alerts, reports, pending), (450, 450 + 150 + 75, 0));
    let list = incidents(&app).await;
    assert_eq!(list.len(), 1, "one service, one incident: {list:?}");
    let id = list[0]["id"].as_i64().unwrap();
    let firing = app.events_of(id, "alert_firing").await;
    let mut fingerprints: Vec<&str> = firing
        .iter()
        .map(|e| e["data"]["fingerprint"].as_str().unwrap())
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(firing.len(), 450, "every alert announced once");
    assert_eq!(fingerprints.len(), 450);
    let ids: Vec<i64> = firing.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "timeline in id order");
    assert_eq!(app.events_of(id, "alert_resolved").await.len(), 75);
    let (_, on_incident) = app
        .get_json(&format!("/api/v1/alerts?incident={id}&limit=1000"))
        .await;
    let on_incident = on_incident["alerts"].as_array().unwrap();
    assert_eq!(on_incident.len(), 450, "every alert joined its incident");
    assert!(on_incident.iter().all(|a| a["pending"] == false));

    // Fired again with a new start: a flap per alert (counted, not announced again within
    // `repeat_interval`).
    let mut refire = am("Errors", "checkout", 0..75, "firing");
    for a in refire["alerts"].as_array_mut().unwrap() {
        a["startsAt"] = json!("2026-11-22T00:20:00Z");
    }
    assert_eq!(post(&app, refire).await["changed"], 75);
    drained(&app).await;
    let (_, errors) = app
        .get_json("/api/v1/alerts?status=firing&limit=1000")
        .await;
    let flapped = errors["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["flaps"] == 1)
        .count();
    assert_eq!(flapped, 75);
    assert_eq!(app.events_of(id, "alert_firing").await.len(), 450);
}
both_backends!(storm, a_storm_of_new_alerts_is_counted_and_dispatched);

/// Runs one statement on the app's database, as the race would leave it.
async fn sql(app: &TestApp, statement: &'static str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.config.database.url)
        .await
        .expect("connect to the app's database");
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn a_group_that_lost_its_timer_is_rearmed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    post(&app, am("DiskFull", "ledger", 0..3, "firing")).await;
    drained(&app).await;
    // What a skipped touch racing a dispatch leaves: alerts waiting, their group without a timer.
    sql(&app, "UPDATE alerts SET dirty = 1").await;
    sql(&app, "UPDATE alert_groups SET next_flush_at = NULL").await;
    drained(&app).await;
    let groups = app.engine().store().alert_groups(10).await.unwrap();
    assert!(
        groups.iter().all(|g| g.next_flush_at.is_none()),
        "{groups:?}"
    );
}
both_backends!(rearmed, a_group_that_lost_its_timer_is_rearmed);
