//! Database outages answer 503 with `Retry-After` and the JSON error body, and the service recovers
//! by itself: PostgreSQL restarted under the app (through a TCP proxy that drops every connection and
//! then refuses new ones), SQLite held busy by another writer beyond the busy timeout.

mod common;

use common::{Backend, TestApp, TestDb};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to PostgreSQL that can be "restarted": while down it drops every open connection
/// and closes new ones at once.
struct PgProxy {
    port: u16,
    down: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl PgProxy {
    async fn start(upstream: String) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let (d, g) = (down.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut killed = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = killed.changed() => {}
                    }
                });
            }
        });
        PgProxy {
            port,
            down,
            generation,
        }
    }

    /// Drops every connection and refuses new ones.
    fn stop(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Lets connections through again.
    fn start_again(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

async fn assert_unavailable(app: &TestApp) {
    let resp = app
        .client
        .post(app.url("/api/v1/incidents"))
        .json(&json!({"title": "During the outage", "severity": "P3"}))
        .send()
        .await
        .unwrap();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let (status, body) = common::split(resp).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].is_string());
    assert!(
        retry.is_some_and(|r| r.parse::<u64>().is_ok()),
        "Retry-After in seconds"
    );
}

async fn postgres_restart_is_a_503_then_recovers() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let db = TestDb::new(Backend::Postgres).await;
    let upstream = reqwest::Url::parse(&base).unwrap();
    let proxy = PgProxy::start(format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432)
    ))
    .await;
    let mut config = common::test_config(&db);
    let mut url = reqwest::Url::parse(&db.url).unwrap();
    url.set_port(Some(proxy.port)).unwrap();
    config.database.url = url.to_string();
    let app = TestApp::start(db, config).await;
    common::declare(&app, "Before", "P3").await;

    proxy.stop();
    assert_unavailable(&app).await;
    let (status, body) = app.get_json("/api/v1/incidents").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");

    proxy.start_again();
    app.eventually("writes succeed again", || async {
        app.post_json(
            "/api/v1/incidents",
            json!({"title": "After", "severity": "P3"}),
        )
        .await
        .0 == 201
    })
    .await;
    let (status, list) = app.get_json("/api/v1/incidents").await;
    assert_eq!(status, 200);
    let titles: Vec<&str> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"Before") && titles.contains(&"After"),
        "{titles:?}"
    );
    assert!(
        !titles.contains(&"During the outage"),
        "nothing half-written"
    );
}

async fn sqlite_busy_is_a_503_then_recovers() {
    use sqlx::Connection;
    let app = TestApp::spawn(Backend::Sqlite).await;
    common::declare(&app, "Before", "P3").await;
    let mut blocker = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .unwrap();
    assert_unavailable(&app).await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    drop(blocker);
    common::declare(&app, "After", "P3").await;
}

async fn database_outages(backend: Backend) {
    match backend {
        Backend::Sqlite => sqlite_busy_is_a_503_then_recovers().await,
        Backend::Postgres => postgres_restart_is_a_503_then_recovers().await,
    }
}
both_backends!(outage, database_outages);
