//! No poison: an alert group whose dispatch keeps failing (here a row corrupted under warroom's feet)
//! backs off alone, shows its failures in `GET /api/v1/alerts/groups`, and does not hold up other groups;
//! once it can be dispatched again it is, and its failure count is cleared.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use sqlx::Connection;

fn native(name: &str, service: &str) -> Value {
    json!({"alerts": [{"name": name, "service": service, "severity": "error",
        "summary": format!("{name} on {service}")}]})
}

/// Runs one statement on the app's database, as an operator (or a bad migration) would.
async fn sql(app: &TestApp, statement: &'static str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.config.database.url)
        .await
        .expect("connect to the app's database");
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn group_of(app: &TestApp, service: &str) -> Value {
    let (s, body) = app.get_json("/api/v1/alerts/groups").await;
    assert_eq!(s, 200, "{body}");
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == service)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn incident_services(app: &TestApp) -> Vec<String> {
    let (_, body) = app.get_json("/api/v1/incidents?limit=100").await;
    body["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["service"].as_str().map(String::from))
        .collect()
}

async fn a_failing_group_backs_off_alone(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.alerts.group_wait = "1s".into();
        c.alerts.tick_ms = 50;
    })
    .await;
    let (s, _) = app
        .post_json("/hooks/alerts", native("DiskFull", "ledger"))
        .await;
    assert_eq!(s, 200);
    // Its group waits group_wait (a P2 is not dispatched at once): break its alert meanwhile.
    sql(
        &app,
        "UPDATE alerts SET labels = 'not json' WHERE service = 'ledger'",
    )
    .await;
    let (s, _) = app
        .post_json("/hooks/alerts", native("HighLatency", "checkout"))
        .await;
    assert_eq!(s, 200);

    app.eventually("the healthy group opens its incident", || async {
        incident_services(&app)
            .await
            .contains(&"checkout".to_string())
    })
    .await;
    app.eventually("the broken group's failure is visible", || async {
        group_of(&app, "ledger").await["dispatch_failures"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    })
    .await;
    let broken = group_of(&app, "ledger").await;
    assert!(broken["last_error"].is_string(), "{broken}");
    assert!(
        broken["next_flush_at"].is_string(),
        "it is retried: {broken}"
    );
    assert!(
        !incident_services(&app)
            .await
            .contains(&"ledger".to_string())
    );

    // Repaired, it is dispatched on its next try and its failures are forgotten.
    sql(
        &app,
        "UPDATE alerts SET labels = '{}' WHERE service = 'ledger'",
    )
    .await;
    // Its backoff (1 s, doubling) may outlast `eventually`'s 5 s: wait up to 30 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !incident_services(&app)
        .await
        .contains(&"ledger".to_string())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the repaired group never opened its incident"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let healed = group_of(&app, "ledger").await;
    assert_eq!(healed["dispatch_failures"], 0, "{healed}");
    assert!(healed["last_error"].is_null(), "{healed}");
}
both_backends!(poisoned_group, a_failing_group_backs_off_alone);
