//! Slack acknowledgement latency: how fast warroom answers signed Events API callbacks and slash
//! commands (Slack allows 3 s; the target is p99 ≤ 50 ms), measured beside `GET /healthz` on the same
//! app in the same run (the floor: an HTTP round trip with no database work).
//!
//! `cargo bench --bench slack_ack` (PostgreSQL too when `WARROOM_TEST_POSTGRES_URL` is set).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/slack_server/mod.rs"]
mod slack_server;

use common::{Backend, TestApp};
use futures::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 8;

struct Stats {
    n: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    per_sec: f64,
}

async fn measure<F, Fut>(n: usize, f: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let mut lat: Vec<Duration> = futures::stream::iter(0..n)
        .map(|i| {
            let fut = f(i);
            async move {
                let t = Instant::now();
                fut.await;
                t.elapsed()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let total = start.elapsed();
    lat.sort();
    Stats {
        n,
        p50: lat[n / 2],
        p99: lat[(n * 99) / 100],
        max: lat[n - 1],
        per_sec: n as f64 / total.as_secs_f64(),
    }
}

fn row(backend: &str, what: &str, s: &Stats) {
    println!(
        "| {backend} | {what} | {} | {:.1} | {:.1} | {:.1} | {:.0} |",
        s.n,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.max.as_secs_f64() * 1e3,
        s.per_sec
    );
}

async fn run(backend: Backend, label: &str) {
    let fake = slack_server::FakeSlack::start().await;
    let f = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| f.configure(c)).await;
    let id = common::declare(&app, "Bench incident", "P2").await;
    let store = app.engine().store().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let channel = loop {
        if let Some(room) = store.chat_room(id, "slack").await.unwrap() {
            break room.room_id;
        }
        assert!(Instant::now() < deadline, "no Slack room");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (client, base) = (app.client.clone(), app.base.clone());

    let healthz = measure(2000, |_| {
        let (client, url) = (client.clone(), format!("{base}/healthz"));
        async move {
            let r = client.get(url).send().await.unwrap();
            assert!(r.status().is_success());
        }
    })
    .await;
    row(label, "GET /healthz (floor)", &healthz);

    let events = measure(2000, |i| {
        let (client, url, channel) = (
            client.clone(),
            format!("{base}/slack/events"),
            channel.clone(),
        );
        async move {
            let body = json!({"type": "event_callback", "event_id": format!("EvBench{i}"),
                "authorizations": [{"user_id": slack_server::BOT_USER}],
                "event": {"type": "message", "channel": channel, "user": "UBENCH001",
                    "text": format!("message {i}"), "ts": format!("1700001000.{i:06}")}})
            .to_string();
            let r = slack_server::send_signed(&client, &url, &body, "application/json", &[]).await;
            assert!(r.status().is_success(), "{}", r.status());
        }
    })
    .await;
    row(label, "POST /slack/events (message → timeline)", &events);

    let commands = measure(1000, |i| {
        let (client, url, channel) = (
            client.clone(),
            format!("{base}/slack/commands"),
            channel.clone(),
        );
        async move {
            let text = format!("note bench note {i}");
            let body = serde_urlencoded::to_string([
                ("command", "/inc"),
                ("text", text.as_str()),
                ("user_id", "UBENCH001"),
                ("user_name", "bencher"),
                ("channel_id", channel.as_str()),
            ])
            .unwrap();
            let r = slack_server::send_signed(
                &client,
                &url,
                &body,
                "application/x-www-form-urlencoded",
                &[],
            )
            .await;
            assert!(r.status().is_success(), "{}", r.status());
        }
    })
    .await;
    row(label, "POST /slack/commands (/inc note)", &commands);
    if let Some(a) = app.app {
        a.stop().await.unwrap();
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| backend | request | n | p50 ms | p99 ms | max ms | req/s |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    rt.block_on(run(Backend::Sqlite, "SQLite"));
    if std::env::var("WARROOM_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        rt.block_on(run(Backend::Postgres, "PostgreSQL"));
    }
}
