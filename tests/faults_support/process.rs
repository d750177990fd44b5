//! The real `warroom` binary as a child process: a configuration file with a fixed port (so load
//! generators keep one address across restarts), start and wait until ready, SIGKILL, SIGSTOP/SIGCONT,
//! SIGTERM. Its log goes to a file in the round's folder, appended across restarts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound and released: the process binds it again with `SO_REUSEADDR`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How to start one warroom: its configuration file and address.
pub struct Launch {
    /// The configuration file.
    pub config: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
}

/// What differs between the suite's warroom configurations.
pub struct Settings<'a> {
    /// The database URL.
    pub database: &'a str,
    /// The local Slack server's API URL, if Slack is on.
    pub slack_api: Option<&'a str>,
    /// `outbox.lease_secs`.
    pub lease_secs: u64,
}

impl Launch {
    /// Writes a configuration for `settings` into `dir` (a fresh port, an empty catalog).
    pub fn new(dir: &Path, name: &str, settings: &Settings<'_>) -> Launch {
        let port = free_port();
        let catalog = dir.join("services.toml");
        if !catalog.exists() {
            std::fs::write(&catalog, "").unwrap();
        }
        let slack = settings.slack_api.map_or(String::new(), |api| {
            format!(
                "[slack]\nbot_token = \"{}\"\nsigning_secret = \"{}\"\napi_url = \"{api}\"\n",
                crate::slack_server::TOKEN,
                crate::slack_server::SIGNING_SECRET
            )
        });
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n\
             [database]\nurl = \"{db}\"\nmax_connections = 8\n\
             [catalog]\npath = \"{catalog}\"\n\
             [outbox]\npoll_interval_ms = 100\ninitial_backoff_ms = 200\nmax_backoff_secs = 5\nlease_secs = {lease}\n\
             [alerts]\ngroup_by = [\"alertname\", \"service\"]\n{slack}",
            db = settings.database,
            catalog = catalog.display(),
            lease = settings.lease_secs,
        );
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, text).unwrap();
        Launch {
            config,
            base: format!("http://127.0.0.1:{port}"),
            log: dir.join(format!("{name}.log")),
        }
    }

    /// Starts warroom and waits until `/readyz` answers 200.
    pub async fn start(&self) -> Warroom {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
        for (key, _) in std::env::vars() {
            if key.starts_with("WARROOM_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .arg("--config")
            .arg(&self.config)
            .args(["--log-format", "json", "serve"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("warroom starts");
        let started = Instant::now();
        let mut warroom = Warroom {
            child: Some(child),
            base: self.base.clone(),
            log: self.log.clone(),
        };
        let client = reqwest::Client::new();
        loop {
            let ready = client
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return warroom;
            }
            if let Some(status) = warroom.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "warroom exited at start ({status}); log: {}",
                    self.log.display()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "warroom did not become ready; log: {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A running warroom process.
pub struct Warroom {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
}

impl Warroom {
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {signal} {pid}");
    }

    /// SIGKILL: the process dies at once, wherever it is.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGSTOP: the process freezes (its leases run out while it holds them).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: the frozen process goes on where it stopped.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGTERM and wait: a graceful shutdown, which must exit 0.
    pub fn stop(mut self) {
        self.signal("-TERM");
        let status = self.child.take().unwrap().wait().unwrap();
        assert!(
            status.success(),
            "graceful shutdown on SIGTERM: {status}; log: {}",
            self.log.display()
        );
    }

    /// The process's `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Drop for Warroom {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
