//! Alerts that open incidents: one native alert posted to `/hooks/alerts` and dispatched at once.

use super::TestApp;
use serde_json::json;

/// Posts the native alert `name` on `service` at `severity` (`critical` is a P1), dispatches what is
/// due and returns the newest incident's id (the one the alert opened).
pub async fn alert_opens(app: &TestApp, name: &str, service: &str, severity: &str) -> i64 {
    let (s, b) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [{"name": name, "service": service, "severity": severity}]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    app.engine().dispatch_due().await.unwrap();
    let (_, list) = app.get_json("/api/v1/incidents").await;
    list["incidents"][0]["id"]
        .as_i64()
        .expect("an incident opened")
}
