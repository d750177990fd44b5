//! The outside world of the demo: CI reporting changes and monitoring sending alerts, over the real hooks.

use super::client::Api;
use super::{ago, heading, str_of};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The alerts of the storm: (alertname, service, severity, instance, summary). Each is one fingerprint.
pub(super) const ALERTS: [(&str, &str, &str, &str, &str); 6] = [
    (
        "CheckoutErrors",
        "checkout",
        "critical",
        "checkout-1",
        "5xx above 5% on POST /pay",
    ),
    (
        "CheckoutErrors",
        "checkout",
        "critical",
        "checkout-2",
        "5xx above 5% on POST /pay",
    ),
    (
        "CheckoutErrors",
        "checkout",
        "critical",
        "checkout-3",
        "5xx above 5% on POST /pay",
    ),
    (
        "CheckoutLatency",
        "checkout",
        "warning",
        "checkout-1",
        "p99 latency above 2 s",
    ),
    (
        "WebErrors",
        "web",
        "critical",
        "web-1",
        "5xx on /cart above 2%",
    ),
    (
        "WebErrors",
        "web",
        "critical",
        "web-2",
        "5xx on /cart above 2%",
    ),
];

/// Batches in the storm, and alerts per batch (the monitoring re-sends the same alerts again and again).
const BATCHES: usize = 12;
const PER_BATCH: usize = 25;

/// A deploy of checkout 8 minutes ago (the culprit, committed 50 minutes ago: the lead time on
/// /reports) and a db configuration change 45 minutes ago (committed 70 minutes ago).
pub(super) async fn record_changes(api: &Api, now: DateTime<Utc>) -> anyhow::Result<()> {
    heading("Changes recorded by CI (POST /hooks/changes)");
    let changes = [
        json!({"kind": "config", "services": ["db"], "environment": "production",
            "summary": "db pool=50", "author": "erin", "status": "done", "id": "cfg-77",
            "committed_at": ago(now, 70), "started_at": ago(now, 45), "ended_at": ago(now, 44)}),
        json!({"kind": "deploy", "services": ["checkout"], "environment": "production",
            "summary": "Deploy checkout v2.3.1", "author": "alice", "version": "v2.3.1",
            "links": [{"href": "https://ci.example.com/runs/812", "text": "pipeline"}],
            "status": "done", "id": "ci-run-812", "committed_at": ago(now, 50),
            "started_at": ago(now, 8), "ended_at": ago(now, 7)}),
    ];
    for body in &changes {
        let answer = api.post("/hooks/changes", body).await?;
        let c = &answer["change"];
        println!(
            "  chg-{} {} {} \"{}\" by {}, {} ({})",
            c["id"],
            str_of(c, "kind"),
            str_of(c, "service"),
            str_of(c, "summary"),
            str_of(c, "author"),
            str_of(c, "status"),
            str_of(&answer, "result"),
        );
    }
    Ok(())
}

/// The same six alerts, re-sent in 12 batches of 25 the way a monitoring system repeats itself.
pub(super) async fn storm(api: &Api, now: DateTime<Utc>) -> anyhow::Result<()> {
    heading("Alert storm (POST /hooks/alerts)");
    let mut totals = [0i64; 4];
    for batch in 0..BATCHES {
        let alerts: Vec<Value> = (0..PER_BATCH)
            .map(|k| {
                alert(
                    ALERTS[(batch * PER_BATCH + k) % ALERTS.len()],
                    now,
                    "firing",
                )
            })
            .collect();
        let answer = api
            .post("/hooks/alerts", &json!({ "alerts": alerts }))
            .await?;
        for (total, key) in totals
            .iter_mut()
            .zip(["received", "changed", "duplicates", "stale"])
        {
            *total += answer[key].as_i64().unwrap_or(0);
        }
    }
    println!(
        "  {BATCHES} batches: {} alert reports received, {} changed something, {} duplicates, {} stale",
        totals[0], totals[1], totals[2], totals[3]
    );
    Ok(())
}

/// One native alert report; every fingerprint started 2 minutes ago (the first, 3).
fn alert(a: (&str, &str, &str, &str, &str), now: DateTime<Utc>, status: &str) -> Value {
    let (name, service, severity, instance, summary) = a;
    let started = if instance == "checkout-1" { 3 } else { 2 };
    json!({"name": name, "status": status, "service": service, "severity": severity,
        "summary": summary, "labels": {"instance": instance, "region": "eu-west-1"},
        "annotations": {"runbook_url": format!("https://runbooks.example.com/{service}")},
        "starts_at": ago(now, started),
        "ends_at": (status == "resolved").then(|| Utc::now().to_rfc3339()),
        "url": format!("https://grafana.example.com/d/{service}")})
}

/// Monitoring reports every alert of the storm resolved; the hook's answer.
pub(super) async fn resolve_all(api: &Api, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let resolved: Vec<Value> = ALERTS.iter().map(|a| alert(*a, now, "resolved")).collect();
    api.post("/hooks/alerts", &json!({ "alerts": resolved }))
        .await
}
