//! Alert ingest is as lenient as the senders: the payloads Grafana and PagerDuty really send (from
//! `../shared/fixtures/realworld/`) are accepted and stored with what a responder needs, a zero or missing
//! `startsAt` is the receive time, and fields warroom does not know are ignored in every format.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

/// A real-world fixture, read relative to the crate root as CI does.
fn realworld(path: &str) -> String {
    let full = format!(
        "{}/../shared/fixtures/realworld/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// JSON with comments (`.jsonc`): `/* … */` blocks and `//` lines removed.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("an unclosed comment") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn post(app: &TestApp, path: &str, body: &str) -> (u16, Value) {
    let req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    common::split(req.send().await.unwrap()).await
}

async fn alert(app: &TestApp, fingerprint: &str) -> Value {
    let (s, b) = app
        .get_json(&format!("/api/v1/alerts?fingerprint={fingerprint}"))
        .await;
    assert_eq!(s, 200, "{b}");
    let list = b["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "one alert {fingerprint}: {b}");
    list[0].clone()
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.ingest.pagerduty.routing_keys = [
            ("samplekeyhere".to_string(), "datapipe".to_string()),
            (
                "e93facc04764012d7bfb002500d5d1a6".to_string(),
                "mysql".to_string(),
            ),
            ("routingkeyhere".to_string(), "datapipe".to_string()),
        ]
        .into();
    })
    .await
}

async fn grafana_payloads_are_accepted(backend: Backend) {
    let app = spawn(backend).await;
    // Grafana's own "test" notification: the zero time in startsAt, `values: null`, numeric orgId.
    let before = chrono::Utc::now() - chrono::TimeDelta::milliseconds(1);
    let body =
        realworld("grafana/alerting-test-custom-payload-default-template-firing-one-alert.json");
    let (s, b) = post(&app, "/hooks/grafana", &body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["received"], 1, "{b}");
    let after = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1);
    let a = alert(&app, "fac0861a85de433a").await;
    assert_eq!(a["source"], "grafana");
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["alertname"], "alert1");
    assert_eq!(a["annotations"]["ann1"], "annv1");
    assert!(
        a["annotations"]["silence_url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost/alerting/silence/new"),
        "{a}"
    );
    let start = time(&a["starts_at"]);
    assert!(
        before <= start && start <= after,
        "the zero start is the receive time: {start}"
    );
    for (file, fingerprints) in [
        (
            "grafana/docs-webhook-notifier-firing-two-alerts.json",
            ["c6eadffa33fcdf37", "bc97ff14869b13e3"],
        ),
        (
            "grafana/docs-webhook-notifier-old-firing-two-alerts-data-avg.json",
            ["c6eadffa33fcdf37", "bc97ff14869b13e3"],
        ),
    ] {
        let (s, b) = post(&app, "/hooks/grafana", &realworld(file)).await;
        assert_eq!(s, 200, "{file}: {b}");
        assert_eq!(b["received"], 2, "{file}: {b}");
        for fp in fingerprints {
            let a = alert(&app, fp).await;
            assert_eq!(a["source"], "grafana", "{file}");
            assert!(a["annotations"]["summary"].is_string(), "{file}: {a}");
            assert!(a["annotations"]["runbook_url"].is_string(), "{file}: {a}");
            assert!(a["generator_url"].is_string(), "{file}: {a}");
        }
    }
    let a = alert(&app, "c6eadffa33fcdf37").await;
    assert_eq!(a["labels"]["alertname"], "High memory usage");
    assert_eq!(
        time(&a["starts_at"]).to_rfc3339(),
        "2021-10-12T07:51:03.157+00:00"
    );
}
both_backends!(grafana_realworld, grafana_payloads_are_accepted);

async fn pagerduty_payloads_are_accepted(backend: Backend) {
    let app = spawn(backend).await;
    let path = "/hooks/pagerduty/v2/enqueue";
    let jsonc = strip_comments(&realworld("pagerduty/devdocs-events-v2-trigger.jsonc"));
    let (s, b) = post(&app, path, &jsonc).await;
    assert_eq!((s, b["status"].as_str()), (202, Some("success")), "{b}");
    assert_eq!(b["dedup_key"], "samplekeyhere");
    let a = alert(&app, "samplekeyhere").await;
    assert_eq!(a["source"], "pagerduty");
    assert_eq!(a["service"], "datapipe");
    assert_eq!(a["labels"]["severity"], "info");
    assert_eq!(a["labels"]["component"], "postgres");
    assert_eq!(a["labels"]["class"], "deploy");
    assert_eq!(
        a["annotations"]["summary"],
        "Example alert on host1.example.com"
    );
    assert_eq!(a["generator_url"], "https://monitoring.example.com");
    assert_eq!(
        time(&a["starts_at"]).to_rfc3339(),
        "2015-07-17T08:42:58.315+00:00"
    );
    let (s, b) = post(
        &app,
        path,
        &realworld("pagerduty/openapi-events-v2-enqueue-example-trigger.json"),
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let a = alert(&app, "srv01/mysql").await;
    assert_eq!(a["service"], "mysql");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(
        a["annotations"]["summary"],
        "DISK at 99% on machine prod-datapipe03.example.com"
    );
    assert!(
        a["annotations"]["custom_details"]
            .as_str()
            .unwrap()
            .contains("free space")
    );
    assert!(
        a["annotations"]["links"]
            .as_str()
            .unwrap()
            .contains("An example link.")
    );
    // Acknowledge and resolve of the documentation's key: accepted as PagerDuty answers them.
    for file in [
        "pagerduty/devdocs-events-v2-acknowledge.json",
        "pagerduty/devdocs-events-v2-resolve.json",
    ] {
        let (s, b) = post(&app, path, &realworld(file)).await;
        assert_eq!(
            (s, b["status"].as_str()),
            (202, Some("success")),
            "{file}: {b}"
        );
        assert_eq!(b["dedup_key"], "dedupkeyhere", "{file}");
    }
    let a = alert(&app, "dedupkeyhere").await;
    assert_eq!(a["status"], "resolved");
}
both_backends!(pagerduty_realworld, pagerduty_payloads_are_accepted);

async fn unknown_fields_are_ignored_in_every_format(backend: Backend) {
    let app = spawn(backend).await;
    // Alertmanager 0.27+: `notification_reason` and friends, at the top and inside an alert.
    let am = json!({"version": "4", "groupKey": "{}:{alertname=\"X\"}", "status": "firing",
        "notification_reason": "new_alerts", "receiver": "warroom", "groupLabels": {}, "commonLabels": {},
        "future": {"nested": [1, 2, 3]},
        "alerts": [{"status": "firing", "labels": {"alertname": "AmExtra", "service": "checkout"},
            "annotations": {}, "startsAt": "2026-11-21T23:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "am-extra", "notification_reason": "new_alerts", "values": {"A": 1.5}}]});
    let grafana = json!({"version": "1", "orgId": 1, "notification_reason": "x", "state": "alerting",
        "alerts": [{"status": "firing", "labels": {"alertname": "GrafanaExtra"}, "fingerprint": "gf-extra",
            "startsAt": "2026-11-21T23:00:00Z", "values": null, "orgId": 1, "notification_reason": "x"}]});
    let native = json!({"notification_reason": "x", "alerts": [{"name": "NativeExtra",
        "fingerprint": "native-extra", "notification_reason": "x", "priority": 3}]});
    let pd = json!({"routing_key": "samplekeyhere", "event_action": "trigger", "dedup_key": "pd-extra",
        "notification_reason": "x", "payload": {"summary": "s", "source": "h", "severity": "error",
        "notification_reason": "x"}});
    for (path, body, fingerprint) in [
        ("/hooks/alertmanager", am, "am-extra"),
        ("/hooks/grafana", grafana, "gf-extra"),
        ("/hooks/alerts", native, "native-extra"),
        ("/hooks/pagerduty/v2/enqueue", pd, "pd-extra"),
    ] {
        let (s, b) = post(&app, path, &body.to_string()).await;
        assert!(s == 200 || s == 202, "{path}: {s} {b}");
        assert_eq!(alert(&app, fingerprint).await["status"], "firing", "{path}");
    }
}
both_backends!(unknown_fields, unknown_fields_are_ignored_in_every_format);

async fn a_zero_or_missing_start_is_the_receive_time(backend: Backend) {
    let app = spawn(backend).await;
    let before = chrono::Utc::now() - chrono::TimeDelta::milliseconds(1);
    let body = json!({"version": "4", "alerts": [
        {"labels": {"alertname": "ZeroStart"}, "startsAt": "0001-01-01T00:00:00Z", "fingerprint": "zero"},
        {"labels": {"alertname": "NoStart"}, "fingerprint": "missing"}]});
    let (s, b) = post(&app, "/hooks/alertmanager", &body.to_string()).await;
    assert_eq!(s, 200, "{b}");
    let after = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1);
    for fp in ["zero", "missing"] {
        let start = time(&alert(&app, fp).await["starts_at"]);
        assert!(before <= start && start <= after, "{fp}: {start}");
    }
}
both_backends!(zero_start, a_zero_or_missing_start_is_the_receive_time);
