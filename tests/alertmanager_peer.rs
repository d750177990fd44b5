//! The real Prometheus Alertmanager as a peer: alerts fired into its API reach warroom through its
//! webhook receiver (bearer token, send_resolved), and warroom opens, fills and closes out the incident.
//! Needs `/usr/bin/prometheus-alertmanager` (Debian package `prometheus-alertmanager`); in CI it must exist.
//! The second test puts Alertmanager's default timings in front of warroom's defaults and times warroom from
//! the moment Alertmanager's notification arrives (a recording relay between the two).

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

/// The Alertmanager binary, or `None` (skip) outside CI; in CI a missing binary fails the test.
fn binary() -> Option<&'static str> {
    if std::path::Path::new(BINARY).exists() {
        return Some(BINARY);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{BINARY} is missing: CI must install prometheus-alertmanager (see .ci/run)");
    }
    eprintln!("Alertmanager peer test skipped: {BINARY} is not installed");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {secs}s waiting for: {what}");
}

async fn timeline(app: &TestApp, id: i64) -> Vec<Value> {
    let (_, body) = app
        .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=500"))
        .await;
    body["events"].as_array().cloned().unwrap_or_default()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

async fn alertmanager_delivers_to_warroom(backend: Backend) {
    let Some(bin) = binary() else { return };
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest.alertmanager.token = Some("am-secret".into());
        c.alerts.group_wait = "0s".into();
        c.alerts.group_interval = "0s".into();
        c.alerts.tick_ms = 50;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: warroom\n  group_by: ['alertname', 'service']\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: warroom\n    webhook_configs:\n      \
             - url: {}/hooks/alertmanager\n        send_resolved: true\n        http_config:\n          \
             authorization:\n            credentials: am-secret\n",
            app.base
        ),
    )
    .unwrap();
    let port = free_port();
    let am = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start alertmanager");
    let http = reqwest::Client::new();
    until("Alertmanager ready", 20, || async {
        http.get(format!("{am}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let started = chrono::Utc::now();
    let alert = |instance: &str, ends: Option<chrono::DateTime<chrono::Utc>>| {
        let mut a = json!({
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical",
                       "instance": instance},
            "annotations": {"summary": "5xx ratio above 5% for 5m"},
            "startsAt": started.to_rfc3339(),
            "generatorURL": "http://prometheus.example.com/graph"
        });
        if let Some(e) = ends {
            a["endsAt"] = json!(e.to_rfc3339());
        }
        a
    };
    let fire = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([alert("a:8080", None), alert("b:8080", None)]))
        .send()
        .await
        .unwrap();
    assert!(fire.status().is_success(), "{}", fire.status());
    // Alertmanager waits group_wait (1s), then posts the group to warroom.
    until("the incident from Alertmanager's group", 20, || async {
        let (_, b) = app.get_json("/api/v1/incidents").await;
        b["incidents"].as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{list}");
    let inc = &incidents[0];
    assert_eq!(inc["service"], "checkout");
    assert_eq!(inc["severity"], "P1");
    let id = inc["id"].as_i64().unwrap();
    until("both alerts in the timeline", 10, || async {
        count(&timeline(&app, id).await, "alert_firing") == 2
    })
    .await;
    let (_, groups) = app.get_json("/api/v1/alerts/groups").await;
    let groups = groups["groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["incident_id"], id);
    let (_, alerts) = app.get_json("/api/v1/alerts?status=firing").await;
    let alerts = alerts["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 2);
    assert!(
        alerts
            .iter()
            .all(|a| a["source"] == "alertmanager" && a["incident_id"] == id)
    );
    // Resolve both in Alertmanager: it sends the resolved group, and warroom says so in the timeline.
    let now = chrono::Utc::now();
    let resolve = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([
            alert("a:8080", Some(now)),
            alert("b:8080", Some(now))
        ]))
        .send()
        .await
        .unwrap();
    assert!(resolve.status().is_success());
    until("alerts_resolved in the timeline", 20, || async {
        count(&timeline(&app, id).await, "alerts_resolved") == 1
    })
    .await;
    let events = timeline(&app, id).await;
    assert_eq!(count(&events, "alert_resolved"), 2);
    assert_eq!(
        count(&events, "alert_firing"),
        2,
        "no alert announced twice"
    );
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(
        inc["status"], "declared",
        "resolving stays a human decision"
    );
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1);
    let _ = child.kill().await;
}
both_backends!(alertmanager_peer, alertmanager_delivers_to_warroom);

/// Alertmanager's notifications as a relay in front of warroom saw them: arrival time and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(Instant, Value)>>>;

/// A relay on 127.0.0.1 that records each notification, then forwards it to warroom unchanged.
async fn relay(target: String) -> (String, Seen) {
    use axum::http::{HeaderMap, StatusCode};
    let seen: Seen = Default::default();
    let state = (seen.clone(), target, reqwest::Client::new());
    let app = axum::Router::new()
        .route(
            "/hooks/alertmanager",
            axum::routing::post(
                |axum::extract::State((seen, target, http)): axum::extract::State<(
                    Seen,
                    String,
                    reqwest::Client,
                )>,
                 headers: HeaderMap,
                 body: String| async move {
                    let at = Instant::now();
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    seen.lock().unwrap().push((at, v));
                    let mut req = http
                        .post(format!("{target}/hooks/alertmanager"))
                        .header("content-type", "application/json")
                        .body(body);
                    if let Some(a) = headers.get("authorization") {
                        req = req.header("authorization", a.to_str().unwrap_or_default());
                    }
                    match req.send().await {
                        Ok(r) => StatusCode::from_u16(r.status().as_u16())
                            .unwrap_or(StatusCode::BAD_GATEWAY),
                        Err(_) => StatusCode::BAD_GATEWAY,
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// When the relay first saw a notification carrying an alert of `status`.
fn first_with(seen: &Seen, status: &str) -> Option<Instant> {
    seen.lock().unwrap().iter().find_map(|(at, v)| {
        v["alerts"]
            .as_array()?
            .iter()
            .any(|a| a["status"] == status)
            .then_some(*at)
    })
}

async fn defaults_in_front_of_defaults(backend: Backend) {
    let Some(bin) = binary() else { return };
    // warroom's defaults (group_wait 30s, group_interval 5m, tick 1s); only the token is set.
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest.alertmanager.token = Some("am-secret".into());
    })
    .await;
    let (relay_url, seen) = relay(app.base.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    // Alertmanager's default group_wait (30s) and repeat_interval; group_interval is its only timing set
    // here (3s instead of 5m), so that the resolution is sent within the test rather than after 5 minutes.
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: warroom\n  group_by: ['alertname', 'service']\n  group_interval: 3s\n\
             receivers:\n  - name: warroom\n    webhook_configs:\n      - url: {relay_url}/hooks/alertmanager\n        \
             send_resolved: true\n        http_config:\n          authorization:\n            credentials: am-secret\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let am = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start alertmanager");
    let http = reqwest::Client::new();
    until("Alertmanager ready", 20, || async {
        http.get(format!("{am}/-/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let started = chrono::Utc::now();
    let alert = |instance: &str, ends: Option<chrono::DateTime<chrono::Utc>>| {
        let mut a = json!({
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical",
                       "instance": instance},
            "annotations": {"summary": "5xx ratio above 5%"},
            "startsAt": started.to_rfc3339()
        });
        if let Some(e) = ends {
            a["endsAt"] = json!(e.to_rfc3339());
        }
        a
    };
    let fire = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([alert("a:8080", None), alert("b:8080", None)]))
        .send()
        .await
        .unwrap();
    assert!(fire.status().is_success());
    // Alertmanager holds the new group for its group_wait (30s), then sends it.
    until("Alertmanager's first notification", 60, || async {
        first_with(&seen, "firing").is_some()
    })
    .await;
    let sent = first_with(&seen, "firing").unwrap();
    until("the incident", 10, || async {
        let (_, b) = app.get_json("/api/v1/incidents").await;
        b["incidents"].as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    let opened = sent.elapsed();
    assert!(
        opened <= Duration::from_secs(2),
        "the incident exists {opened:?} after Alertmanager sent the group (≤ 2 s)"
    );
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let id = list["incidents"][0]["id"].as_i64().unwrap();
    assert_eq!(list["incidents"][0]["status"], "declared");
    until("both alerts in the timeline", 5, || async {
        count(&timeline(&app, id).await, "alert_firing") == 2
    })
    .await;
    // Resolve both: Alertmanager sends the resolution at its next group_interval.
    let resolve = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([
            alert("a:8080", Some(chrono::Utc::now())),
            alert("b:8080", Some(chrono::Utc::now()))
        ]))
        .send()
        .await
        .unwrap();
    assert!(resolve.status().is_success());
    until("Alertmanager's resolution", 30, || async {
        first_with(&seen, "resolved").is_some()
    })
    .await;
    let sent = first_with(&seen, "resolved").unwrap();
    until("the resolutions in the timeline", 10, || async {
        count(&timeline(&app, id).await, "alert_resolved") == 2
    })
    .await;
    let resolved = sent.elapsed();
    assert!(
        resolved <= Duration::from_secs(2),
        "alert_resolved {resolved:?} after Alertmanager sent the resolution (≤ 2 s)"
    );
    // A native P3 alert is grouped by warroom itself: it still waits its group_wait.
    let (s, b) = app
        .post_json(
            "/hooks/alerts",
            json!({"alerts": [{"name": "QueueLag", "service": "search", "severity": "warning"}]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(app.engine().dispatch_due().await.unwrap(), 0, "not due yet");
    let (_, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");
    let (_, groups) = app.get_json("/api/v1/alerts/groups").await;
    let search = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == "search")
        .cloned()
        .unwrap_or_else(|| panic!("the search group: {groups}"));
    let due: chrono::DateTime<chrono::Utc> =
        search["next_flush_at"].as_str().unwrap().parse().unwrap();
    assert!(
        due > chrono::Utc::now() + chrono::TimeDelta::seconds(20),
        "it waits group_wait: {search}"
    );
    eprintln!("Alertmanager → incident {opened:?}, → alert_resolved {resolved:?}");
    let _ = child.kill().await;
}
both_backends!(alertmanager_defaults, defaults_in_front_of_defaults);
