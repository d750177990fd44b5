//! `warroom bench …` (a module of the `warroom` binary, not of the library): alert ingest measured over HTTP against a warroom the
//! bench starts on a fresh database, side by side with Prometheus Alertmanager when its binary exists.

mod first_alert;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use warroom::app::App;
use warroom::config::Config;
use warroom::domain::alert::{Labels, labels_fingerprint};

/// Where Debian installs Alertmanager.
pub const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Options of `warroom bench ingest`.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Concurrent connections.
    pub connections: usize,
    /// How long each side is loaded.
    pub duration: Duration,
    /// A PostgreSQL URL (a fresh schema is created in it); SQLite in a temporary folder when absent.
    pub database_url: Option<String>,
    /// Distinct alert fingerprints cycled through.
    pub fingerprints: usize,
    /// Distinct services.
    pub services: usize,
    /// Whether to measure Alertmanager too (when installed).
    pub peer: bool,
}

/// Options of `warroom bench storm`.
#[derive(Debug, Clone)]
pub struct StormOptions {
    /// Alerts sent in total.
    pub alerts: usize,
    /// Distinct fingerprints.
    pub fingerprints: usize,
    /// Distinct services.
    pub services: usize,
    /// Seconds the storm is spread over.
    pub seconds: u64,
    /// Concurrent connections.
    pub connections: usize,
    /// A PostgreSQL URL; SQLite when absent.
    pub database_url: Option<String>,
}

/// A database that exists for one run.
struct FreshDb {
    url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl FreshDb {
    async fn new(base: Option<&str>) -> anyhow::Result<FreshDb> {
        let tag = format!(
            "{}_{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        match base {
            Some(base) => {
                use sqlx::Connection;
                let schema = format!("bench_{tag}");
                let mut conn = sqlx::PgConnection::connect(base)
                    .await
                    .context("connect to PostgreSQL")?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await?;
                let sep = if base.contains('?') { '&' } else { '?' };
                Ok(FreshDb {
                    url: format!("{base}{sep}options[search_path]={schema}"),
                    dir: None,
                    pg: Some((base.to_string(), schema)),
                })
            }
            None => {
                let dir = std::env::temp_dir().join(format!("warroom-bench-{tag}"));
                std::fs::create_dir_all(&dir)?;
                Ok(FreshDb {
                    url: format!("sqlite://{}", dir.join("warroom.db").display()),
                    dir: Some(dir),
                    pg: None,
                })
            }
        }
    }

    fn backend(&self) -> &'static str {
        if self.pg.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    async fn drop_now(self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, schema)) = &self.pg {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut conn)
                .await;
            }
        }
    }
}

/// The labels of alert number `k`.
fn labels(k: usize, services: usize) -> Labels {
    let mut l = Labels::new();
    l.insert("alertname".into(), format!("BenchAlert{}", k % 50));
    l.insert("service".into(), format!("svc-{:02}", k % services));
    l.insert("instance".into(), format!("host-{k}:9100"));
    l.insert("severity".into(), "warning".into());
    l
}

/// A 10-alert Alertmanager webhook (v4) body.
fn webhook_body(alerts: &[(Labels, DateTime<Utc>, bool)]) -> String {
    let items: Vec<Value> = alerts
        .iter()
        .map(|(l, start, firing)| {
            json!({"status": if *firing {"firing"} else {"resolved"}, "labels": l,
                "annotations": {"summary": "bench alert"}, "startsAt": start.to_rfc3339(),
                "endsAt": if *firing {"0001-01-01T00:00:00Z".to_string()} else {Utc::now().to_rfc3339()},
                "generatorURL": "http://prometheus.example.com/graph", "fingerprint": labels_fingerprint(l)})
        })
        .collect();
    json!({"receiver": "warroom", "status": "firing", "alerts": items, "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://bench", "version": "4",
        "groupKey": "{}:{}", "truncatedAlerts": 0})
    .to_string()
}

/// The same alerts as an Alertmanager `POST /api/v2/alerts` body.
fn api_body(alerts: &[(Labels, DateTime<Utc>, bool)]) -> String {
    let items: Vec<Value> = alerts
        .iter()
        .map(|(l, start, firing)| {
            let mut a = json!({"labels": l, "annotations": {"summary": "bench alert"},
                "startsAt": start.to_rfc3339(), "generatorURL": "http://prometheus.example.com/graph"});
            if !firing {
                a["endsAt"] = json!(Utc::now().to_rfc3339());
            }
            a
        })
        .collect();
    Value::Array(items).to_string()
}

/// What one load run achieved.
#[derive(Debug, Default)]
struct Load {
    batches: u64,
    alerts: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    duplicates: u64,
    changed: u64,
    stale: u64,
}

impl Load {
    fn rate(&self) -> f64 {
        self.alerts as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile in milliseconds (latencies are sorted when the load ends).
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// Posts batches from `make(i)` over `connections` connections until `stop(i)` says so or `deadline`.
async fn load(
    url: String,
    connections: usize,
    deadline: Option<Duration>,
    total_batches: Option<u64>,
    pace: Option<Duration>,
    make: Arc<dyn Fn(u64) -> (axum::body::Bytes, u64) + Send + Sync>,
) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("HTTP client");
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, next, make) = (client.clone(), url.clone(), next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Load::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if total_batches.is_some_and(|t| i >= t) {
                    break;
                }
                if let Some(p) = pace {
                    // Spread the batches evenly over time (storm mode).
                    let due = start + p * i as u32;
                    tokio::time::sleep_until(due.into()).await;
                }
                if deadline.is_some_and(|d| start.elapsed() >= d) {
                    break;
                }
                let (body, n) = make(i);
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        out.latencies_us.push(t0.elapsed().as_micros() as u64);
                        out.batches += 1;
                        out.alerts += n;
                        out.duplicates += v["duplicates"].as_u64().unwrap_or(0);
                        out.changed += v["changed"].as_u64().unwrap_or(0);
                        out.stale += v["stale"].as_u64().unwrap_or(0);
                    }
                    _ => out.errors += 1,
                }
            }
            out
        }));
    }
    let mut total = Load::default();
    for t in tasks {
        if let Ok(l) = t.await {
            total.batches += l.batches;
            total.alerts += l.alerts;
            total.errors += l.errors;
            total.duplicates += l.duplicates;
            total.changed += l.changed;
            total.stale += l.stale;
            total.latencies_us.extend(l.latencies_us);
        }
    }
    total.elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    total
}

fn bench_config(db: &FreshDb) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.database.url = db.url.clone();
    config.database.max_connections = 8;
    config.catalog.path = warroom::catalog::DEFAULT_PATH.into();
    config
}

/// A running Alertmanager on a free port with a receiver that sends nowhere.
struct Peer {
    child: tokio::process::Child,
    url: String,
    dir: PathBuf,
}

impl Peer {
    async fn start() -> anyhow::Result<Peer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("warroom-bench-am-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: sink\n  group_by: ['alertname', 'service']\n  group_wait: 30s\n  \
             group_interval: 5m\nreceivers:\n  - name: sink\n",
        )?;
        let child = tokio::process::Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start Alertmanager")?;
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if client
                .get(format!("{url}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "Alertmanager did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Peer { child, url, dir })
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn batch_of(
    i: u64,
    fingerprints: usize,
    services: usize,
    base: DateTime<Utc>,
) -> Vec<(Labels, DateTime<Utc>, bool)> {
    (0..10)
        .map(|j| {
            let k = ((i as usize) * 10 + j) % fingerprints;
            (labels(k, services), base, true)
        })
        .collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `warroom bench ingest`.
pub async fn ingest(opts: IngestOptions) -> anyhow::Result<()> {
    let db = FreshDb::new(opts.database_url.as_deref()).await?;
    let app = App::start(bench_config(&db)).await?;
    let base = Utc::now();
    let (fps, svcs) = (opts.fingerprints.max(1), opts.services.max(1));
    println!(
        "warroom bench ingest: 10-alert batches, {} connections, {:?} per side, {} fingerprints, {} services",
        opts.connections, opts.duration, fps, svcs
    );
    // The bodies are made once, before the clock starts, so the load generator costs both sides the same.
    let period = (fps / gcd(fps, 10)).min(100_000) as u64;
    let ours_bodies: Arc<Vec<axum::body::Bytes>> = Arc::new(
        (0..period)
            .map(|i| axum::body::Bytes::from(webhook_body(&batch_of(i, fps, svcs, base))))
            .collect(),
    );
    let theirs_bodies: Arc<Vec<axum::body::Bytes>> = Arc::new(
        (0..period)
            .map(|i| axum::body::Bytes::from(api_body(&batch_of(i, fps, svcs, base))))
            .collect(),
    );
    let bodies = ours_bodies.clone();
    let make: Arc<dyn Fn(u64) -> (axum::body::Bytes, u64) + Send + Sync> =
        Arc::new(move |i| (bodies[(i % period) as usize].clone(), 10));
    let url = format!("http://{}/hooks/alertmanager", app.addr);
    let ours = load(url, opts.connections, Some(opts.duration), None, None, make).await;
    let (_, reports, _) = app.engine.store().alert_totals().await?;
    let durable = reports as u64 == ours.changed + ours.duplicates;
    println!(
        "warroom ({}, durable before 2xx): {:>9.0} alerts/s  ({} batches, {} errors, p50 {:.1} ms, p99 {:.1} ms); \
         stored reports {} = acknowledged {}: {}",
        db.backend(),
        ours.rate(),
        ours.batches,
        ours.errors,
        ours.pct(0.5),
        ours.pct(0.99),
        reports,
        ours.changed + ours.duplicates,
        if durable { "nothing lost" } else { "MISMATCH" }
    );
    app.stop().await?;
    db.drop_now().await;
    if !opts.peer {
        return Ok(());
    }
    if !std::path::Path::new(ALERTMANAGER).exists() {
        println!("alertmanager: not installed ({ALERTMANAGER}); no ratio");
        return Ok(());
    }
    let peer = Peer::start().await?;
    let bodies = theirs_bodies.clone();
    let make: Arc<dyn Fn(u64) -> (axum::body::Bytes, u64) + Send + Sync> =
        Arc::new(move |i| (bodies[(i % period) as usize].clone(), 10));
    let url = format!("{}/api/v2/alerts", peer.url);
    let theirs = load(url, opts.connections, Some(opts.duration), None, None, make).await;
    println!(
        "alertmanager 0.25 (in memory):      {:>9.0} alerts/s  ({} batches, {} errors, p50 {:.1} ms, p99 {:.1} ms)",
        theirs.rate(),
        theirs.batches,
        theirs.errors,
        theirs.pct(0.5),
        theirs.pct(0.99)
    );
    peer.stop().await;
    println!(
        "ratio warroom/alertmanager: {:.2}x",
        ours.rate() / theirs.rate().max(1e-9)
    );
    Ok(())
}

/// `warroom bench storm`: a paced alert storm; counts incidents, checks nothing was lost, times the drain.
pub async fn storm(opts: StormOptions) -> anyhow::Result<()> {
    let db = FreshDb::new(opts.database_url.as_deref()).await?;
    let mut config = bench_config(&db);
    config.alerts.group_wait = "0s".into();
    config.alerts.group_interval = "500ms".into();
    config.alerts.tick_ms = 100;
    let app = App::start(config).await?;
    let idle_rss = proc_status_kib("VmRSS:").unwrap_or(0);
    let (fps, svcs) = (opts.fingerprints.max(1), opts.services.max(1));
    let batches = (opts.alerts / 10).max(1) as u64;
    let pace = Duration::from_secs(opts.seconds) / batches as u32;
    let rounds_per_fp = (opts.alerts / fps).max(1);
    let base = Utc::now() - chrono::TimeDelta::hours(1);
    println!(
        "warroom bench storm ({}): {} alerts, {} fingerprints, {} services, over {} s, {} connections",
        db.backend(),
        opts.alerts,
        fps,
        svcs,
        opts.seconds,
        opts.connections
    );
    // Each fingerprint flaps: every 25th round it resolves, and the next round fires with a new start.
    let make: Arc<dyn Fn(u64) -> (axum::body::Bytes, u64) + Send + Sync> = Arc::new(move |i| {
        let alerts: Vec<_> = (0..10)
            .map(|j| {
                let n = i as usize * 10 + j;
                let k = n % fps;
                let round = n / fps;
                let episode = round / 25;
                let firing = round % 25 != 24 || round + 1 >= rounds_per_fp;
                let start = base + chrono::TimeDelta::seconds(episode as i64 * 60);
                (labels(k, svcs), start, firing)
            })
            .collect();
        (axum::body::Bytes::from(webhook_body(&alerts)), 10)
    });
    let url = format!("http://{}/hooks/alertmanager", app.addr);
    let sent = load(url, opts.connections, None, Some(batches), Some(pace), make).await;
    let storm_end = Instant::now();
    let store = app.engine.store().clone();
    let drained_after = loop {
        let (_, _, pending) = store.alert_totals().await?;
        let outbox = store.outbox_depth().await?;
        if pending == 0 && outbox == 0 {
            break storm_end.elapsed();
        }
        if storm_end.elapsed() > Duration::from_secs(60) {
            break storm_end.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (alerts, reports, _) = store.alert_totals().await?;
    let incidents = store
        .incidents(&warroom::store::IncidentFilter {
            limit: 500,
            ..Default::default()
        })
        .await?
        .len();
    let acknowledged = sent.changed + sent.duplicates;
    println!(
        "sent {} alerts in {:.1} s ({} errors, p50 {:.1} ms, p99 {:.1} ms)",
        sent.alerts,
        sent.elapsed.as_secs_f64(),
        sent.errors,
        sent.pct(0.5),
        sent.pct(0.99)
    );
    println!(
        "incidents: {incidents}; alerts stored: {alerts}; reports stored {reports} = acknowledged {acknowledged} \
         (+{} stale retries ignored): {}; drained {:.0} ms after the storm",
        sent.stale,
        if reports as u64 == acknowledged {
            "nothing lost"
        } else {
            "MISMATCH"
        },
        drained_after.as_secs_f64() * 1000.0
    );
    println!(
        "memory of the bench process (warroom + load generator): {} MiB resident before the storm, \
         peak {} MiB",
        idle_rss / 1024,
        proc_status_kib("VmHWM:").unwrap_or(0) / 1024
    );
    app.stop().await?;
    db.drop_now().await;
    Ok(())
}

/// A `kB` field of `/proc/self/status` (Linux), e.g. `VmRSS:` or `VmHWM:`.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `warroom bench first-alert`: see [`first_alert::run`].
pub use first_alert::{FirstAlertOptions, run as first_alert};
