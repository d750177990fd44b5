//! The `warroom` binary as an operator runs it: check-config, migrate, serve, SIGTERM, and kill -9.

mod common;

use common::{Backend, TestDb};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn warroom() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WARROOM_") && key != "WARROOM_TEST_POSTGRES_URL" {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn check_config_lists_every_problem_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"nowhere\"\n[database]\nurl = \"mysql://x\"\n[slack]\nbot_tokn = \"xoxb\"\nsigning_secret = \"s\"\n",
    )
    .unwrap();
    let out = warroom().arg("check-config").arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("slack.bot_tokn: unknown key"), "{stdout}");
    assert!(
        stdout.contains("server.listen: `nowhere` is not an address like 127.0.0.1:8080"),
        "{stdout}"
    );
    assert!(
        stdout.contains("database.url: `mysql://x` must start with sqlite:// or postgres://"),
        "{stdout}"
    );
    assert!(
        stdout.contains("slack.bot_token: Slack needs both"),
        "{stdout}"
    );

    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let out = warroom().arg("check-config").arg(&file).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = warroom()
        .arg("check-config")
        .arg(&file)
        .env("WARROOM_SERVER__LISTEN", "bad")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("server.listen: `bad`"),
        "environment overrides the file"
    );

    std::fs::write(&file, "[server]\nmax_body_bytes = \"lots\"\n").unwrap();
    let out = warroom().arg("check-config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("server.max_body_bytes"),
        "type errors name the key"
    );

    let out = warroom()
        .arg("check-config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not exist"));
}

/// A `warroom serve` child process and the address it listens on.
struct Server {
    child: Child,
    base: String,
}

fn serve(db_url: &str, dir: &std::path::Path) -> Server {
    let mut child = warroom()
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .env("WARROOM_DATABASE__URL", db_url)
        .env("WARROOM_OUTBOX__LEASE_SECS", "2")
        .current_dir(dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(addr) = v["fields"]["addr"].as_str()
            {
                let _ = tx.send(addr.to_string());
                sent = true;
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("server reports its address");
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

async fn declare_count(client: &reqwest::Client, base: &str) -> usize {
    let v: serde_json::Value = client
        .get(format!("{base}/api/v1/incidents?limit=500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["incidents"].as_array().unwrap().len()
}

async fn kill_9_loses_nothing_that_was_acknowledged(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(&db.url, dir.path());
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base) = (client.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..10_000 {
                let body = json!({"title": format!("writer {w} incident {i}"), "severity": "P2"});
                match client
                    .post(format!("{base}/api/v1/incidents"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        let v: serde_json::Value = r.json().await.unwrap();
                        acknowledged.push(v["id"].as_i64().unwrap());
                    }
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        acknowledged.len() > 5,
        "the writers got some acknowledgements before the kill"
    );

    let mut server = serve(&db.url, dir.path());
    for id in &acknowledged {
        let r = client
            .get(format!("{}/api/v1/incidents/{id}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "acknowledged incident {id} survived the crash"
        );
        let tl: serde_json::Value = client
            .get(format!("{}/api/v1/incidents/{id}/timeline", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            tl["events"][0]["kind"], "declared",
            "incident {id} has its first event"
        );
    }
    assert!(declare_count(&client, &server.base).await >= acknowledged.len().min(500));
    // The outbox drains after the restart: every room post is delivered.
    let mut drained = false;
    for _ in 0..100 {
        let metrics = client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.lines().any(|l| l == "warroom_outbox_pending 0") {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(drained, "the outbox drains after restart");

    // SIGTERM shuts down gracefully with exit code 0.
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown on SIGTERM: {status}");
}
both_backends!(kill_9, kill_9_loses_nothing_that_was_acknowledged);

#[test]
fn migrate_creates_the_embedded_database_without_any_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = warroom()
        .arg("migrate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("data/warroom.db").exists(),
        "default sqlite://data/warroom.db created"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("migrations applied to sqlite://data/warroom.db")
    );
}
