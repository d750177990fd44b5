//! Alert ingest and governance through the real app, on both backends.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

const AM_FIRING_TWO: &str = include_str!("fixtures/alertmanager/firing-group-of-two.json");
const AM_ONE_RESOLVED: &str = include_str!("fixtures/alertmanager/one-resolved-one-firing.json");
const AM_WARNING: &str = include_str!("fixtures/alertmanager/firing-single-warning.json");
const GRAFANA: &str = include_str!("fixtures/grafana/firing-and-resolved.json");

/// A catalog: web → checkout → payments → db.
fn write_catalog(dir: &std::path::Path) -> String {
    let path = dir.join("services.toml");
    std::fs::write(
        &path,
        r##"
[[service]]
name = "db"
owner = "dba"
oncall = "dba-primary"
runbook = "https://runbooks.example.com/db"
tier = 1

[[service]]
name = "checkout"
owner = "payments-team"
oncall = "payments-primary"
channel = "#payments"
runbook = "https://runbooks.example.com/checkout"
depends_on = ["db"]
tier = 1
slo = 99.9

[[service]]
name = "web"
owner = "frontend"
depends_on = ["checkout"]
"##,
    )
    .unwrap();
    path.display().to_string()
}

async fn spawn(backend: Backend, tweak: impl FnOnce(&mut warroom::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let catalog = write_catalog(dir.path());
    // The catalog folder lives as long as the test process.
    std::mem::forget(dir);
    TestApp::spawn_with(backend, |c| {
        c.catalog.path = catalog;
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 20;
        tweak(c);
    })
    .await
}

async fn post_raw(app: &TestApp, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    common::split(req.send().await.unwrap()).await
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    let (s, body) = app.get_json("/api/v1/incidents?limit=100").await;
    assert_eq!(s, 200, "{body}");
    body["incidents"].as_array().cloned().unwrap_or_default()
}

async fn timeline(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=500"))
        .await;
    assert_eq!(s, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_incidents(app: &TestApp, n: usize) -> Vec<Value> {
    app.eventually(&format!("{n} incident(s)"), || async {
        incidents(app).await.len() >= n
    })
    .await;
    incidents(app).await
}

async fn alertmanager_group_opens_one_incident_and_retries_change_nothing(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let (s, body) = post_raw(&app, "/hooks/alertmanager", AM_FIRING_TWO, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["changed"], 2);
    let list = wait_incidents(&app, 1).await;
    assert_eq!(list.len(), 1);
    let inc = &list[0];
    assert_eq!(inc["service"], "checkout");
    assert_eq!(inc["severity"], "P1", "critical maps to P1");
    assert_eq!(inc["status"], "declared", "the default policy declares P1");
    let id = inc["id"].as_i64().unwrap();
    app.eventually("two alert_firing events", || async {
        kinds(&timeline(&app, id).await)
            .iter()
            .filter(|k| *k == "alert_firing")
            .count()
            == 2
    })
    .await;
    let events = timeline(&app, id).await;
    let opened = &events[0];
    assert_eq!(opened["kind"], "declared");
    let text = opened["text"].as_str().unwrap();
    assert!(text.contains("owner: payments-team"), "{text}");
    assert!(
        text.contains("https://runbooks.example.com/checkout"),
        "{text}"
    );
    assert!(text.contains("Impacted dependents: web"), "{text}");
    assert_eq!(opened["data"]["dependents"], json!(["web"]));
    // The same webhook again (Alertmanager retries): nothing changes.
    let (s, body) = post_raw(&app, "/hooks/alertmanager", AM_FIRING_TWO, None).await;
    assert_eq!(s, 200);
    assert_eq!(body["duplicates"], 2);
    assert_eq!(body["changed"], 0);
    // Whatever is due is dispatched now (synchronised on the engine, not on a sleep).
    app.engine().dispatch_due().await.unwrap();
    assert_eq!(timeline(&app, id).await.len(), events.len());
    assert_eq!(incidents(&app).await.len(), 1);
    // One alert resolves inside a group whose status stays firing.
    let (s, _) = post_raw(&app, "/hooks/alertmanager", AM_ONE_RESOLVED, None).await;
    assert_eq!(s, 200);
    app.eventually("alert_resolved", || async {
        kinds(&timeline(&app, id).await).contains(&"alert_resolved".to_string())
    })
    .await;
    assert!(!kinds(&timeline(&app, id).await).contains(&"alerts_resolved".to_string()));
    // The other resolves too: the timeline says so; the incident stays open (a human decides).
    let all_resolved = AM_ONE_RESOLVED.replace(
        "\"status\": \"firing\",\n      \"labels\"",
        "\"status\": \"resolved\",\n      \"labels\"",
    );
    let all_resolved = all_resolved.replace(
        "\"endsAt\": \"0001-01-01T00:00:00Z\"",
        "\"endsAt\": \"2026-11-21T23:40:00Z\"",
    );
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &all_resolved, None).await;
    assert_eq!(s, 200, "{body}");
    app.eventually("alerts_resolved", || async {
        kinds(&timeline(&app, id).await).contains(&"alerts_resolved".to_string())
    })
    .await;
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "declared");
    let (_, alerts) = app
        .get_json(&format!("/api/v1/alerts?incident={id}&status=resolved"))
        .await;
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 2, "{alerts}");
}
both_backends!(
    alertmanager_group,
    alertmanager_group_opens_one_incident_and_retries_change_nothing
);

async fn hooks_authenticate_and_refuse_bad_bodies(backend: Backend) {
    let app = spawn(backend, |c| {
        c.ingest.alertmanager.token = Some("example-token".into());
        c.ingest.pagerduty.routing_keys = [("R0UTE".to_string(), "checkout".to_string())].into();
        c.server.max_body_bytes = 64 * 1024;
    })
    .await;
    let (s, b) = post_raw(&app, "/hooks/alertmanager", AM_WARNING, None).await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "unauthorized");
    let (s, _) = post_raw(&app, "/hooks/alertmanager", AM_WARNING, Some("nope")).await;
    assert_eq!(s, 401);
    let (s, b) = post_raw(
        &app,
        "/hooks/alertmanager",
        AM_WARNING,
        Some("example-token"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = post_raw(
        &app,
        "/hooks/alertmanager",
        "{\"alerts\": 3}",
        Some("example-token"),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("alerts:"),
        "{b}"
    );
    let big = format!(
        "{{\"alerts\": [], \"pad\": \"{}\"}}",
        "x".repeat(100 * 1024)
    );
    let (s, b) = post_raw(&app, "/hooks/alertmanager", &big, Some("example-token")).await;
    assert_eq!(s, 413, "{b}");
    // No token for the native source: loopback clients may post.
    let (s, b) = post_raw(
        &app,
        "/hooks/alerts",
        r#"{"alerts": [{"name": "QueueLag", "service": "web", "severity": "warning"}]}"#,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = post_raw(
        &app,
        "/hooks/alerts",
        r#"{"alerts": [{"service": "web"}]}"#,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["error"]["message"],
        "alerts[0].name: is required and must not be blank"
    );
    // PagerDuty: routing keys authenticate; answers look like PagerDuty's.
    let trigger = json!({"routing_key": "R0UTE", "event_action": "trigger",
        "payload": {"summary": "Checkout latency high", "source": "lb-1", "severity": "error"}});
    let (s, b) = app
        .post_json("/hooks/pagerduty/v2/enqueue", trigger.clone())
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["status"], "success");
    assert_eq!(b["message"], "Event processed");
    let key = b["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 32);
    let mut wrong = trigger.clone();
    wrong["routing_key"] = json!("other");
    let (s, b) = app.post_json("/hooks/pagerduty/v2/enqueue", wrong).await;
    assert_eq!(s, 401, "{b}");
    let mut bad = trigger.clone();
    bad["payload"]["severity"] = json!("sev1");
    let (s, b) = app.post_json("/hooks/pagerduty/v2/enqueue", bad).await;
    assert_eq!(s, 400);
    assert_eq!(b["status"], "invalid event");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("payload.severity"),
        "{b}"
    );
    let (s, _) = app
        .post_json(
            "/hooks/pagerduty/v2/enqueue",
            json!({"routing_key": "R0UTE", "event_action": "acknowledge", "dedup_key": key}),
        )
        .await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post_json(
            "/hooks/pagerduty/v2/enqueue",
            json!({"routing_key": "R0UTE", "event_action": "resolve", "dedup_key": key}),
        )
        .await;
    assert_eq!(s, 202);
    let (_, alerts) = app
        .get_json(&format!("/api/v1/alerts?fingerprint={key}"))
        .await;
    let a = &alerts["alerts"][0];
    assert_eq!(a["status"], "resolved", "{alerts}");
    assert_eq!(a["source"], "pagerduty");
    assert_eq!(a["service"], "checkout");
    assert!(a["acknowledged_at"].is_string());
}
both_backends!(hooks_auth, hooks_authenticate_and_refuse_bad_bodies);

async fn grafana_and_native_alerts_are_accepted(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let (s, b) = post_raw(&app, "/hooks/grafana", GRAFANA, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["received"], 2);
    let (_, alerts) = app.get_json("/api/v1/alerts?service=search").await;
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 2);
    let list = wait_incidents(&app, 1).await;
    assert_eq!(list[0]["severity"], "P3", "warning maps to P3");
    assert_eq!(list[0]["status"], "detected", "P3 awaits a human");
    let (s, _) = post_raw(
        &app,
        "/hooks/alerts",
        r#"{"alerts": [{"name": "Debug", "service": "search", "severity": "info"}]}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (_, alerts) = app.get_json("/api/v1/alerts?fingerprint=").await;
    assert!(alerts["alerts"].as_array().is_some());
    let (_, alerts) = app
        .get_json("/api/v1/alerts?status=firing&service=search")
        .await;
    let info = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "Debug")
        .cloned()
        .unwrap();
    assert_eq!(info["grade"], "record", "info is recorded only");
    // Whatever is due is dispatched now (synchronised on the engine, not on a sleep).
    app.engine().dispatch_due().await.unwrap();
    assert_eq!(incidents(&app).await.len(), 1);
    let (s, b) = app.get_json("/api/v1/alerts?status=bogus").await;
    assert_eq!(s, 400, "{b}");
}
both_backends!(grafana_and_native, grafana_and_native_alerts_are_accepted);

fn native(name: &str, service: &str, severity: &str) -> Value {
    json!({"name": name, "service": service, "severity": severity, "summary": format!("{name} on {service}")})
}

async fn related_groups_merge_and_dependents_are_inhibited(backend: Backend) {
    let app = spawn(backend, |c| {
        c.alerts.catalog_inhibition = true;
    })
    .await;
    // db fails first: its incident opens.
    let (s, _) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [native("DbDown", "db", "critical")]}),
        )
        .await;
    assert_eq!(s, 200);
    let list = wait_incidents(&app, 1).await;
    let id = list[0]["id"].as_i64().unwrap();
    // checkout depends on db: its alert is inhibited (shown, not paged) and joins db's incident.
    let (s, _) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [native("CheckoutErrors", "checkout", "critical")]}),
        )
        .await;
    assert_eq!(s, 200);
    app.eventually("the checkout alert joins the db incident", || async {
        timeline(&app, id)
            .await
            .iter()
            .any(|e| e["kind"] == "alert_firing" && e["data"]["alertname"] == "CheckoutErrors")
    })
    .await;
    let events = timeline(&app, id).await;
    let checkout = events
        .iter()
        .find(|e| e["data"]["alertname"] == "CheckoutErrors")
        .unwrap();
    assert_eq!(checkout["data"]["inhibited"], true);
    let (_, alerts) = app.get_json("/api/v1/alerts?service=checkout").await;
    assert!(alerts["alerts"][0]["inhibited_by"].is_string(), "{alerts}");
    assert_eq!(incidents(&app).await.len(), 1, "no second incident");
    let (_, services) = app.get_json("/api/v1/services").await;
    let db = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "db")
        .cloned()
        .unwrap();
    assert_eq!(db["dependents"], json!(["checkout", "web"]));
    assert_eq!(db["open_incidents"], json!([id]));
}
both_backends!(
    merge_and_inhibit,
    related_groups_merge_and_dependents_are_inhibited
);

async fn inhibit_rules_and_the_declare_policy_apply(backend: Backend) {
    let app = spawn(backend, |c| {
        c.alerts.catalog_inhibition = false;
        c.alerts.merge_window = "0s".into();
        c.alerts.inhibit_rules = vec![warroom::domain::alert_rules::InhibitRuleSpec {
            source_matchers: vec!["alertname=\"ClusterDown\"".into()],
            target_matchers: vec!["severity=~\"warning|critical\"".into()],
            equal: vec!["cluster".into()],
        }];
        c.alerts.declare.insert(
            0,
            warroom::config::alerts::DeclareRuleConfig {
                severity: vec![],
                service: vec!["batch".into()],
                action: "record".into(),
            },
        );
    })
    .await;
    let mut source = native("ClusterDown", "db", "critical");
    source["labels"] = json!({"cluster": "eu"});
    let mut target = native("ApiSlow", "web", "warning");
    target["labels"] = json!({"cluster": "eu"});
    let mut other = native("ApiSlow", "checkout", "warning");
    other["labels"] = json!({"cluster": "us"});
    let (s, _) = app
        .post_json("/hooks/alerts", json!({"alerts": [source]}))
        .await;
    assert_eq!(s, 200);
    wait_incidents(&app, 1).await;
    let (s, _) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [target, other, native("JobLate", "batch", "critical")]}),
        )
        .await;
    assert_eq!(s, 200);
    let list = wait_incidents(&app, 2).await;
    // Whatever is due is dispatched now (synchronised on the engine, not on a sleep).
    app.engine().dispatch_due().await.unwrap();
    let list2 = incidents(&app).await;
    assert_eq!(
        list2.len(),
        2,
        "the inhibited and the recorded alert open nothing: {list:?}"
    );
    let services: Vec<&str> = list2
        .iter()
        .map(|i| i["service"].as_str().unwrap())
        .collect();
    assert!(
        services.contains(&"db") && services.contains(&"checkout"),
        "{services:?}"
    );
    let (_, web) = app.get_json("/api/v1/alerts?service=web").await;
    assert!(web["alerts"][0]["inhibited_by"].is_string(), "{web}");
    let (_, batch) = app.get_json("/api/v1/alerts?service=batch").await;
    assert_eq!(batch["alerts"][0]["status"], "firing");
    assert!(batch["alerts"][0]["incident_id"].is_null());
}
both_backends!(
    inhibit_and_declare,
    inhibit_rules_and_the_declare_policy_apply
);

async fn group_wait_collects_a_group_and_survives_a_restart(backend: Backend) {
    let app = spawn(backend, |c| {
        c.alerts.group_wait = "1500ms".into();
        c.alerts.tick_ms = 50;
    })
    .await;
    for i in 0..3 {
        let mut a = native("HighLatency", "checkout", "error");
        a["labels"] = json!({"pod": format!("p{i}")});
        let (s, _) = app.post_json("/hooks/alerts", json!({"alerts": [a]})).await;
        assert_eq!(s, 200);
    }
    let (_, groups) = app.get_json("/api/v1/alerts/groups").await;
    assert_eq!(groups["groups"].as_array().unwrap().len(), 1, "{groups}");
    assert!(groups["groups"][0]["next_flush_at"].is_string());
    assert!(
        incidents(&app).await.is_empty(),
        "group_wait holds the group"
    );
    // The timer is in the database: it fires after a restart.
    let app = app.restart().await;
    let list = wait_incidents(&app, 1).await;
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    let events = timeline(&app, id).await;
    assert_eq!(
        events[0]["kind"], "detected",
        "P2 is detected, awaiting a human"
    );
    assert_eq!(events[0]["data"]["alerts"].as_array().unwrap().len(), 3);
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| *k == "alert_firing")
            .count(),
        3
    );
}
both_backends!(
    group_wait_restart,
    group_wait_collects_a_group_and_survives_a_restart
);

async fn flapping_is_counted_not_reposted(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let t1 = chrono::Utc::now() - chrono::TimeDelta::seconds(60);
    let alert = |status: &str, start: chrono::DateTime<chrono::Utc>| {
        json!({"alerts": [{"name": "Flappy", "service": "web", "severity": "critical", "status": status,
            "fingerprint": "flappy-1", "starts_at": start.to_rfc3339()}]})
    };
    let (s, _) = app.post_json("/hooks/alerts", alert("firing", t1)).await;
    assert_eq!(s, 200);
    let id = wait_incidents(&app, 1).await[0]["id"].as_i64().unwrap();
    let (s, _) = app.post_json("/hooks/alerts", alert("resolved", t1)).await;
    assert_eq!(s, 200);
    app.eventually("the resolve", || async {
        kinds(&timeline(&app, id).await).contains(&"alerts_resolved".to_string())
    })
    .await;
    // It fires again (a flap) and resolves again: counted, not re-posted within repeat_interval.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t2 = chrono::Utc::now();
    for status in ["firing", "resolved"] {
        let (s, _) = app.post_json("/hooks/alerts", alert(status, t2)).await;
        assert_eq!(s, 200);
        app.eventually("dispatched", || async {
            let (_, a) = app.get_json("/api/v1/alerts?fingerprint=flappy-1").await;
            a["alerts"][0]["pending"] == false && a["alerts"][0]["status"] == status
        })
        .await;
    }
    let (_, a) = app.get_json("/api/v1/alerts?fingerprint=flappy-1").await;
    assert_eq!(a["alerts"][0]["flaps"], 1, "{a}");
    let events = timeline(&app, id).await;
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| *k == "alert_firing")
            .count(),
        1
    );
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| *k == "alert_resolved")
            .count(),
        1
    );
    assert_eq!(incidents(&app).await.len(), 1, "a flap opens nothing new");
}
both_backends!(flapping, flapping_is_counted_not_reposted);

#[test]
fn check_config_names_alert_and_catalog_problems() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[catalog]\npath = \"/nonexistent/services.toml\"\n[alerts]\ngroup_wait = \"soon\"\n\
         [[alerts.declare]]\naction = \"page\"\n",
    )
    .unwrap();
    let (_, problems) = warroom::config::load_for_check(Some(&file));
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"catalog.path"), "{problems:?}");
    assert!(keys.contains(&"alerts.group_wait"), "{problems:?}");
    assert!(keys.contains(&"alerts.declare[0].action"), "{problems:?}");
}

/// The checkout alert's `inhibited_by`, once dispatched.
async fn checkout_inhibited_by(app: &TestApp) -> Option<Value> {
    let (_, a) = app
        .get_json("/api/v1/alerts?fingerprint=checkout-errors")
        .await;
    (a["alerts"][0]["pending"] == false).then(|| a["alerts"][0]["inhibited_by"].clone())
}

async fn inhibited_alerts_are_released_when_their_cause_resolves(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let db = json!({"name": "DbDown", "service": "db", "severity": "critical",
        "fingerprint": "db-down"});
    let (s, _) = app
        .post_json("/hooks/alerts", json!({"alerts": [db]}))
        .await;
    assert_eq!(s, 200);
    wait_incidents(&app, 1).await;
    let checkout = json!({"name": "CheckoutErrors", "service": "checkout", "severity": "critical",
        "fingerprint": "checkout-errors"});
    let (s, _) = app
        .post_json("/hooks/alerts", json!({"alerts": [checkout]}))
        .await;
    assert_eq!(s, 200);
    app.eventually("checkout inhibited by db", || async {
        checkout_inhibited_by(&app).await == Some(json!("db-down"))
    })
    .await;
    let mut resolved = db.clone();
    resolved["status"] = json!("resolved");
    let (s, _) = app
        .post_json("/hooks/alerts", json!({"alerts": [resolved]}))
        .await;
    assert_eq!(s, 200);
    app.eventually("checkout released", || async {
        checkout_inhibited_by(&app).await == Some(Value::Null)
    })
    .await;
    assert_eq!(
        incidents(&app).await.len(),
        1,
        "it stays with the incident of its cause"
    );
}
both_backends!(
    release_inhibited,
    inhibited_alerts_are_released_when_their_cause_resolves
);

/// An Alertmanager webhook with these (fingerprint, status, endsAt) alerts, all started at the same time.
fn am_body(alerts: &[(&str, &str, &str)]) -> String {
    let items: Vec<Value> = alerts
        .iter()
        .map(|(fp, status, ends)| {
            json!({"status": status, "fingerprint": fp, "startsAt": "2026-11-21T23:00:00Z", "endsAt": ends,
                "labels": {"alertname": format!("Dup{fp}"), "service": "checkout", "severity": "warning"}})
        })
        .collect();
    json!({"version": "4", "status": "firing", "alerts": items}).to_string()
}

async fn reports_of(app: &TestApp, fp: &str) -> i64 {
    let (_, v) = app
        .get_json(&format!("/api/v1/alerts?fingerprint={fp}"))
        .await;
    v["alerts"][0]["reports"].as_i64().unwrap_or(-1)
}

async fn duplicates_mixed_with_changes_are_counted_once(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let zero = "0001-01-01T00:00:00Z";
    let both = am_body(&[("dupa", "firing", zero), ("dupb", "firing", zero)]);
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &both, None).await;
    assert_eq!((s, body["changed"].as_i64()), (200, Some(2)), "{body}");
    let resolve = am_body(&[("dupa", "resolved", "2026-11-21T23:05:00Z")]);
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &resolve, None).await;
    assert_eq!((s, body["changed"].as_i64()), (200, Some(1)), "{body}");
    // The same (status, start) for both: b is a pure duplicate, a a stale re-fire of what resolved.
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &both, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (
            body["duplicates"].as_i64(),
            body["stale"].as_i64(),
            body["changed"].as_i64()
        ),
        (Some(1), Some(1), Some(0)),
        "{body}"
    );
    // b twice in one request, then alone: every report counted once.
    let twice = am_body(&[("dupb", "firing", zero), ("dupb", "firing", zero)]);
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &twice, None).await;
    assert_eq!((s, body["duplicates"].as_i64()), (200, Some(2)), "{body}");
    let once = am_body(&[("dupb", "firing", zero)]);
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &once, None).await;
    assert_eq!((s, body["duplicates"].as_i64()), (200, Some(1)), "{body}");
    assert_eq!(
        reports_of(&app, "dupa").await,
        2,
        "fired, resolved; stale not counted"
    );
    assert_eq!(
        reports_of(&app, "dupb").await,
        5,
        "fired, then four duplicates"
    );
    // A change after counted duplicates keeps them: the alert's reports go on from five.
    let resolve = am_body(&[("dupb", "resolved", "2026-11-21T23:06:00Z")]);
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &resolve, None).await;
    assert_eq!((s, body["changed"].as_i64()), (200, Some(1)), "{body}");
    assert_eq!(reports_of(&app, "dupb").await, 6, "five, then the resolve");
}

/// Requests re-sending overlapping alerts in different orders, all at once: none fails (no deadlock
/// between the writers on PostgreSQL) and every report is counted once.
async fn concurrent_overlapping_duplicates_are_all_counted(backend: Backend) {
    let app = spawn(backend, |_| {}).await;
    let zero = "0001-01-01T00:00:00Z";
    let fps: Vec<String> = (0..20).map(|i| format!("ovl{i:02}")).collect();
    let all: Vec<(&str, &str, &str)> = fps.iter().map(|f| (f.as_str(), "firing", zero)).collect();
    let (s, body) = post_raw(&app, "/hooks/alertmanager", &am_body(&all), None).await;
    assert_eq!((s, body["changed"].as_i64()), (200, Some(20)), "{body}");
    // Each request sends 10 of the 20, rotated and half of them reversed, so their lock orders differ.
    let requests: Vec<String> = (0..24)
        .map(|r| {
            let mut part: Vec<(&str, &str, &str)> =
                (0..10).map(|k| all[(r + k * 3) % 20]).collect();
            if r % 2 == 1 {
                part.reverse();
            }
            am_body(&part)
        })
        .collect();
    let answers = futures::future::join_all(
        requests
            .iter()
            .map(|b| post_raw(&app, "/hooks/alertmanager", b, None)),
    )
    .await;
    for (s, body) in &answers {
        assert_eq!((*s, body["duplicates"].as_i64()), (200, Some(10)), "{body}");
    }
    let mut total = 0;
    for f in &fps {
        total += reports_of(&app, f).await;
    }
    assert_eq!(total, 20 + 24 * 10, "every report counted once");
}
both_backends!(
    overlapping_duplicates,
    concurrent_overlapping_duplicates_are_all_counted
);
both_backends!(
    duplicate_fast_path,
    duplicates_mixed_with_changes_are_counted_once
);
