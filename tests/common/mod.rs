//! Shared test harness: a fresh database per test (SQLite file or PostgreSQL schema) and the real
//! app spawned on 127.0.0.1:0. PostgreSQL runs when `WARROOM_TEST_POSTGRES_URL` is set; in CI it must be.

#![allow(dead_code)]

pub mod alerts;
pub mod rig;
pub mod web;

use std::sync::atomic::{AtomicU64, Ordering};
use warroom::app::App;
use warroom::config::Config;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh schema in the PostgreSQL of `WARROOM_TEST_POSTGRES_URL`.
    Postgres,
}

/// The PostgreSQL URL for tests, if enabled; panics in CI when it is missing.
pub fn postgres_url() -> Option<String> {
    match std::env::var("WARROOM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "WARROOM_TEST_POSTGRES_URL must be set in CI: PostgreSQL tests may not be skipped"
            )
        }
        _ => {
            eprintln!("PostgreSQL test skipped: set WARROOM_TEST_POSTGRES_URL to run it");
            None
        }
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    /// The URL to give warroom.
    pub url: String,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("t_{}_{}_{}", std::process::id(), n, nanos)
}

impl TestDb {
    /// A fresh, empty database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("warroom.db").display());
                TestDb {
                    url,
                    schema: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let base = postgres_url().expect("PostgreSQL tests need WARROOM_TEST_POSTGRES_URL");
                let schema = unique_name();
                run_pg(&base, &format!("CREATE SCHEMA {schema}")).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options[search_path]={schema}");
                TestDb {
                    url,
                    schema: Some((base, schema)),
                    _dir: None,
                }
            }
        }
    }
}

async fn run_pg(base: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("run SQL");
    let _ = conn.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.schema.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(run_pg(
                    &base,
                    &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                ));
            })
            .join();
        }
    }
}

/// A configuration for tests: port 0 on loopback, the given database, fast outbox polling.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.database.url = db.url.clone();
    config.database.max_connections = 4;
    config.outbox.poll_interval_ms = 20;
    config.outbox.initial_backoff_ms = 20;
    config.outbox.max_backoff_secs = 1;
    // The harness's API caller (no `X-Warroom-User`) runs incidents with full rights, so tests of other
    // features are not about permissions; permission tests act as named people.
    config
        .roles
        .insert("admin".into(), warroom::config::Grants(vec!["api".into()]));
    config
}

/// The real app, running on its own database.
pub struct TestApp {
    /// The running app.
    pub app: Option<App>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// An HTTP client (cookies kept).
    pub client: reqwest::Client,
    /// The app's database (dropped with the app).
    pub db: TestDb,
    /// The config it was started with.
    pub config: Config,
    /// The clock its engine reads, when the test controls time.
    pub clock: Option<std::sync::Arc<TestClock>>,
}

/// A clock the test sets and advances (the engine never reads the wall clock through it).
#[derive(Debug)]
pub struct TestClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl TestClock {
    /// A clock standing at `at`.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> std::sync::Arc<TestClock> {
        std::sync::Arc::new(TestClock(std::sync::Mutex::new(at)))
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        *self.0.lock().unwrap() = at;
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl warroom::engine::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestApp {
    /// Spawns the app with the default test configuration.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns the app after `tweak` adjusts the configuration.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut config = test_config(&db);
        tweak(&mut config);
        Self::start(db, config).await
    }

    /// Starts the app on an existing database and configuration.
    pub async fn start(db: TestDb, config: Config) -> TestApp {
        Self::start_with_clock(db, config, None).await
    }

    /// Starts the app with its engine on `clock` (the wall clock when `None`).
    pub async fn start_with_clock(
        db: TestDb,
        config: Config,
        clock: Option<std::sync::Arc<TestClock>>,
    ) -> TestApp {
        let app = match &clock {
            Some(c) => App::start_with_clock(config.clone(), c.clone())
                .await
                .expect("app starts"),
            None => App::start(config.clone()).await.expect("app starts"),
        };
        let base = format!("http://{}", app.addr);
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        TestApp {
            app: Some(app),
            base,
            client,
            db,
            config,
            clock,
        }
    }

    /// Stops the app gracefully and starts it again on the same database.
    pub async fn restart(mut self) -> TestApp {
        if let Some(app) = self.app.take() {
            app.stop().await.expect("app stops");
        }
        let config = self.config.clone();
        let db = std::mem::replace(
            &mut self.db,
            TestDb {
                url: String::new(),
                schema: None,
                _dir: None,
            },
        );
        TestApp::start_with_clock(db, config, self.clock.clone()).await
    }

    /// The engine, for driving use-cases directly.
    pub fn engine(&self) -> &warroom::engine::Engine {
        &self.app.as_ref().expect("running").engine
    }

    /// A full URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs JSON and returns the status and the JSON body (Null when empty).
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        split(resp).await
    }

    /// Sends JSON as `user` (`X-Warroom-User`) with `method`, and returns the status and JSON body.
    pub async fn json_as(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("x-warroom-user", user);
        if let Some(b) = body {
            req = req.json(&b);
        }
        split(req.send().await.expect("request")).await
    }

    /// POSTs JSON as `user`.
    pub async fn post_as(
        &self,
        path: &str,
        user: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.json_as(reqwest::Method::POST, path, user, Some(body))
            .await
    }

    /// PATCHes JSON.
    pub async fn patch_json(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        split(resp).await
    }

    /// GETs JSON.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        split(resp).await
    }

    /// GETs a page as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body")
    }

    /// Runs a chat command through the engine, as `ctx` says who typed it where.
    pub async fn command(
        &self,
        text: &str,
        ctx: &warroom::engine::CommandContext,
    ) -> warroom::engine::Reply {
        self.engine().run_command(text, ctx).await.expect("command")
    }

    /// An incident's timeline events of one kind (its first 1,000 events).
    pub async fn events_of(&self, id: i64, kind: &str) -> Vec<serde_json::Value> {
        let (_, tl) = self
            .get_json(&format!("/api/v1/incidents/{id}/timeline?limit=1000"))
            .await;
        tl["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter(|e| e["kind"] == kind)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until `check` holds, polling for up to five seconds.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if check().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

/// Who typed a command where: `actor` in the web room of `incident` (or outside any room).
pub fn web_ctx(incident: Option<i64>, actor: &str) -> warroom::engine::CommandContext {
    warroom::engine::CommandContext {
        actor: warroom::domain::Actor::named(actor, actor, "web"),
        incident_id: incident,
    }
}

/// Status and JSON body of a response.
pub async fn split(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, body)
}

/// Declares `title` through the API and returns the incident id.
pub async fn declare(app: &TestApp, title: &str, severity: &str) -> i64 {
    let (status, body) = app
        .post_json(
            "/api/v1/incidents",
            serde_json::json!({"title": title, "severity": severity}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// Runs an async test body once per backend: `both_backends!(name, async_fn);` makes
/// `name::sqlite` and `name::postgres`.
#[macro_export]
#[allow(clippy::crate_in_macro_def)] // `crate::common` is the test crate's harness, on purpose.
macro_rules! both_backends {
    ($name:ident, $func:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$func($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_url().is_some() {
                    super::$func($crate::common::Backend::Postgres).await
                }
            }
        }
    };
}

/// Runs `warroom user ARGS` on the app's database with `password` piped to stdin.
pub fn user_cli(app: &TestApp, args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("user")
        .args(args)
        .env("WARROOM_DATABASE__URL", &app.config.database.url)
        .env("WARROOM_CATALOG__PATH", &app.config.catalog.path)
        .env("WARROOM_AUTH__LOCAL_ACCOUNTS", "true")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("warroom user runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
