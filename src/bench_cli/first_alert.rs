//! `warroom bench first-alert`: with the default configuration and a local Slack-like server, the time from a
//! critical alert's arrival at warroom (an Alertmanager webhook, one new service each) to the war room's
//! `conversations.create` request reaching that server, and from Alertmanager's notification of the
//! alert's resolution to the `alert_resolved` event on the incident's timeline; and, with a schedule
//! on call for every service (no escalation policy, default `oncall.page_at` P1), from the alert to
//! the first page request (the DM's `chat.postMessage` with its Acknowledge button) at that server.

use super::{FreshDb, bench_config};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use warroom::app::App;
use warroom::domain::EventKind;
use warroom::store::IncidentFilter;

/// Options of `warroom bench first-alert`.
#[derive(Debug, Clone)]
pub struct FirstAlertOptions {
    /// Alerts, one new service (so one new incident and room) each.
    pub count: usize,
    /// Pause between alerts: Slack allows `conversations.create` 20 times a minute (a burst of 20, then one
    /// every 3 s), so the default 2 s keeps 40 alerts inside the limit warroom honours (at 1.5 s the last
    /// ones waited up to 1.3 s for the limiter).
    pub interval: Duration,
    /// A PostgreSQL URL; SQLite when absent.
    pub database_url: Option<String>,
}

/// What the Slack-like server saw: when each channel's first `conversations.create` arrived, in order.
#[derive(Default)]
struct Sink {
    created: Mutex<Vec<(String, Instant)>>,
    /// When each page DM (`chat.postMessage` carrying a `page_ack` button) arrived, in order.
    paged: Mutex<Vec<Instant>>,
    arrived: Notify,
}

/// Answers every Web API method with `ok`, recording `conversations.create` by channel name.
async fn api(
    State(sink): State<Arc<Sink>>,
    Path(method): Path<String>,
    body: String,
) -> axum::Json<Value> {
    let at = Instant::now();
    // Form-encoded calls read as null: only the method matters for them here.
    let args: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match method.as_str() {
        "conversations.create" => {
            let name = args["name"].as_str().unwrap_or_default().to_string();
            let n = match sink.created.lock() {
                Ok(mut c) => {
                    if !c.iter().any(|(n, _)| *n == name) {
                        c.push((name.clone(), at));
                    }
                    c.len()
                }
                Err(_) => 0,
            };
            sink.arrived.notify_waiters();
            axum::Json(json!({"ok": true, "channel": {"id": format!("CBENCH{n}"), "name": name}}))
        }
        "auth.test" => axum::Json(json!({"ok": true, "user_id": "UBENCH", "bot_id": "BBENCH"})),
        "conversations.open" => axum::Json(json!({"ok": true, "channel": {"id": "DBENCH"}})),
        "chat.postMessage" if body.contains("page_ack") => {
            if let Ok(mut p) = sink.paged.lock() {
                p.push(at);
            }
            sink.arrived.notify_waiters();
            axum::Json(json!({"ok": true, "ts": "1700000000.000100", "channel": "DBENCH"}))
        }
        "conversations.list" => axum::Json(
            json!({"ok": true, "channels": [], "response_metadata": {"next_cursor": ""}}),
        ),
        _ => axum::Json(
            json!({"ok": true, "ts": "1700000000.000100", "channel": {"id": "C0"},
            "message": {"ts": "1700000000.000100"}}),
        ),
    }
}

async fn start_sink() -> anyhow::Result<(Arc<Sink>, String)> {
    let sink = Arc::new(Sink::default());
    let app = Router::new()
        .route("/api/{method}", post(api))
        .with_state(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((sink, url))
}

/// An Alertmanager webhook body (version 4) for one critical alert of `service`.
fn webhook(service: &str, resolved: bool, started: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339();
    let (status, ends) = if resolved {
        ("resolved", now.as_str())
    } else {
        ("firing", "0001-01-01T00:00:00Z")
    };
    json!({"version": "4", "status": status, "receiver": "warroom",
        "groupKey": format!("{{}}:{{alertname=\"HighErrorRate\", service=\"{service}\"}}"),
        "groupLabels": {"alertname": "HighErrorRate", "service": service},
        "alerts": [{"status": status, "labels": {"alertname": "HighErrorRate", "service": service,
            "severity": "critical", "instance": "a:8080"},
            "annotations": {"summary": "5xx above 5%"}, "startsAt": started, "endsAt": ends}]})
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |p: f64| {
        samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.99), at(1.0))
}

/// Runs the bench and prints both figures.
pub async fn run(opts: FirstAlertOptions) -> anyhow::Result<()> {
    anyhow::ensure!(opts.count > 0, "--count must be at least 1");
    let db = FreshDb::new(opts.database_url.as_deref()).await?;
    let (sink, slack_url) = start_sink().await?;
    let mut config = bench_config(&db);
    config.slack.bot_token = Some("xoxb-bench".into());
    config.slack.api_url = slack_url;
    let catalog_dir =
        std::env::temp_dir().join(format!("warroom-bench-oncall-{}", std::process::id()));
    std::fs::create_dir_all(&catalog_dir)?;
    let catalog_path = catalog_dir.join("services.toml");
    std::fs::write(&catalog_path, oncall_catalog(opts.count))?;
    config.catalog.path = catalog_path.display().to_string();
    let app = App::start(config).await?;
    let client = reqwest::Client::new();
    let url = format!("http://{}/hooks/alertmanager", app.addr);
    let started = chrono::Utc::now().to_rfc3339();
    let mut to_room = Vec::with_capacity(opts.count);
    let mut to_page = Vec::with_capacity(opts.count);
    let mut incidents = Vec::with_capacity(opts.count);
    let mut hub = app.engine.hub().subscribe();
    for i in 0..opts.count {
        let service = format!("svc{i}");
        let known: usize = sink.created.lock().map(|c| c.len()).unwrap_or(0);
        let known_pages: usize = sink.paged.lock().map(|c| c.len()).unwrap_or(0);
        let t0 = Instant::now();
        let resp = client
            .post(&url)
            .json(&webhook(&service, false, &started))
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "ingest answered {}",
            resp.status()
        );
        let created = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let arrived = sink.arrived.notified();
                // Alerts go one at a time, so the next new room is this alert's.
                let found = sink
                    .created
                    .lock()
                    .ok()
                    .and_then(|c| c.get(known).map(|(_, t)| *t));
                if let Some(t) = found {
                    return t;
                }
                arrived.await;
            }
        })
        .await
        .map_err(|_| anyhow::anyhow!("no conversations.create within 10 s for alert {i}"))?;
        to_room.push(created.duration_since(t0));
        let paged = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let arrived = sink.arrived.notified();
                let found = sink
                    .paged
                    .lock()
                    .ok()
                    .and_then(|p| p.get(known_pages).copied());
                if let Some(t) = found {
                    return t;
                }
                arrived.await;
            }
        })
        .await
        .map_err(|_| anyhow::anyhow!("no page DM within 10 s for alert {i}"))?;
        to_page.push(paged.duration_since(t0));
        let id = app
            .engine
            .store()
            .incidents(&IncidentFilter {
                service: Some(service.clone()),
                limit: 1,
                ..IncidentFilter::default()
            })
            .await?
            .into_iter()
            .next()
            .map(|inc| inc.id)
            .ok_or_else(|| anyhow::anyhow!("no incident for {service}"))?;
        incidents.push((service, id));
        tokio::time::sleep(opts.interval).await;
    }
    // Resolutions: each group was dispatched long before, as Alertmanager's group_interval guarantees.
    let mut to_resolved = Vec::with_capacity(opts.count);
    while hub.try_recv().is_ok() {}
    for (service, id) in &incidents {
        let t0 = Instant::now();
        let resp = client
            .post(&url)
            .json(&webhook(service, true, &started))
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "ingest answered {}",
            resp.status()
        );
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let events = app.engine.store().timeline(*id, 0, 1000).await?;
                if events.iter().any(|e| e.kind == EventKind::AlertResolved) {
                    return Ok::<_, anyhow::Error>(());
                }
                // Woken by the dispatcher's commit of this incident (or look again shortly).
                let _ = tokio::time::timeout(Duration::from_millis(20), hub.recv()).await;
            }
        })
        .await
        .map_err(|_| anyhow::anyhow!("no alert_resolved within 10 s for incident {id}"))??;
        to_resolved.push(t0.elapsed());
    }
    let (p50, p99, max) = percentiles(to_room);
    println!(
        "critical alert (Alertmanager webhook) → conversations.create at the Slack-like server ({}, default \
         configuration, {} alerts, {} ms apart): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        db.backend(),
        opts.count,
        opts.interval.as_millis()
    );
    let (p50, p99, max) = percentiles(to_page);
    println!(
        "critical alert (Alertmanager webhook) → first page request (DM chat.postMessage) at the Slack-like server \
         ({}, default configuration, schedule on call, no policy): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        db.backend()
    );
    let (p50, p99, max) = percentiles(to_resolved);
    println!(
        "resolution (Alertmanager webhook) → alert_resolved on the timeline ({}): p50 {p50:.1} ms, p99 {p99:.1} ms, \
         max {max:.1} ms",
        db.backend()
    );
    app.stop().await?;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(&catalog_dir);
    Ok(())
}

/// A catalog where one person is on call (schedule `primary`, Slack id `UONCALL`) for every bench service.
fn oncall_catalog(count: usize) -> String {
    let mut c = String::from(
        "[[person]]\nid = \"oncall\"\nslack = \"UONCALL\"\n\n[[schedule]]\nname = \"primary\"\n\
         timezone = \"UTC\"\n[[schedule.layer]]\npeople = [\"oncall\"]\nshift = \"1w\"\nstart = \"2026-01-05T09:00\"\n",
    );
    for i in 0..count {
        c.push_str(&format!(
            "\n[[service]]\nname = \"svc{i}\"\noncall = \"primary\"\n"
        ));
    }
    c
}
