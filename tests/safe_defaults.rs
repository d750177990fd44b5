//! The binary as an operator runs it: `warroom token create|list|revoke`, `serve` refusing an off-host
//! address without sign-in, and `check-config` naming the keys.

mod common;

use common::{Backend, TestApp, TestDb, split, test_config};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
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

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_open_address_without_signin() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let out = warroom()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("WARROOM_DATABASE__URL", &db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    for key in [
        "server.listen",
        "auth.local_accounts",
        "auth.oidc.issuer",
        "server.insecure_open",
    ] {
        assert!(stderr.contains(key), "the refusal names {key}: {stderr}");
    }

    let mut child = warroom()
        .args(["--log-format", "json", "serve", "--listen", "0.0.0.0:0"])
        .env("WARROOM_DATABASE__URL", &db)
        .env("WARROOM_SERVER__INSECURE_OPEN", "true")
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(addr) = v["fields"]["addr"].as_str()
            {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr: std::net::SocketAddr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("insecure_open lets it listen")
        .parse()
        .unwrap();
    assert!(addr.ip().is_unspecified(), "{addr}");
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", addr.port())).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health.expect("healthz answers").status(), 200);
}

#[test]
fn check_config_names_the_open_listen_and_bad_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("warroom.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"0.0.0.0:8080\"\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.lan\"]\n",
    )
    .unwrap();
    let out = warroom().arg("check-config").arg(&file).output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("server.listen: `0.0.0.0:8080` is reachable from other hosts"),
        "{stdout}"
    );
    assert!(
        stdout.contains("server.trusted_proxies[1]: `proxy.lan` is not an IP address or CIDR"),
        "{stdout}"
    );
    std::fs::write(
        &file,
        "[server]\nlisten = \"0.0.0.0:8080\"\ninsecure_open = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let out = warroom().arg("check-config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

/// `warroom token …` against the test database, with a catalog that knows alice.
fn token_cli(db: &TestDb, catalog: &std::path::Path, args: &[&str]) -> Output {
    warroom()
        .arg("token")
        .args(args)
        .env("WARROOM_DATABASE__URL", &db.url)
        .env("WARROOM_CATALOG__PATH", catalog)
        .output()
        .unwrap()
}

async fn tokens_are_created_listed_and_revoked_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(
        &catalog,
        "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\n",
    )
    .unwrap();
    let db = TestDb::new(backend).await;

    let out = token_cli(
        &db,
        &catalog,
        &[
            "create",
            "--person",
            "alice",
            "--scope",
            "incidents:write,changes:write",
        ],
    );
    let (alice, note) = text(&out);
    assert!(out.status.success(), "{note}");
    let alice = alice.trim().to_string();
    assert!(
        alice.starts_with("wr_"),
        "only the token on stdout: {alice}"
    );
    assert!(note.contains("shown only this once"), "{note}");

    let out = token_cli(
        &db,
        &catalog,
        &[
            "create",
            "--service-account",
            "ci",
            "--scope",
            "changes:write",
            "--name",
            "deploy pipeline",
            "--expires",
            "90d",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));

    let out = token_cli(
        &db,
        &catalog,
        &["create", "--person", "nobody", "--scope", "admin"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("`nobody` is not a person"),
        "{:?}",
        text(&out)
    );
    let out = token_cli(
        &db,
        &catalog,
        &["create", "--person", "alice", "--scope", "root"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("`root` is not a scope"),
        "{:?}",
        text(&out)
    );

    let out = token_cli(&db, &catalog, &["list"]);
    let (list, _) = text(&out);
    assert!(out.status.success());
    let secret = alice.rsplit('_').next().unwrap();
    assert!(!list.contains(secret), "list never shows a secret: {list}");
    let prefix = alice.split('_').nth(1).unwrap();
    assert!(list.contains(prefix), "{list}");
    assert!(
        list.contains("person:alice") && list.contains("service:ci"),
        "{list}"
    );
    assert!(list.contains("deploy pipeline"), "{list}");
    assert_eq!(list.matches("active").count(), 2, "{list}");

    let mut config = test_config(&db);
    config.catalog.path = catalog.display().to_string();
    let app = TestApp::start(db, config).await;
    let post = |token: String| {
        app.client
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(token)
            .json(&json!({"title": "From the CLI token", "severity": "P3"}))
            .send()
    };
    let (s, inc) = split(post(alice.clone()).await.unwrap()).await;
    assert_eq!(s, 201, "{inc}");

    let out = token_cli(&app.db, &catalog, &["revoke", prefix]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        text(&out).0.starts_with("revoked token"),
        "{:?}",
        text(&out)
    );
    let (s, b) = split(post(alice.clone()).await.unwrap()).await;
    assert_eq!(s, 401, "{b}");
    let out = token_cli(&app.db, &catalog, &["list"]);
    assert!(text(&out).0.contains("revoked"), "{:?}", text(&out));
    let out = token_cli(&app.db, &catalog, &["revoke", "999"]);
    assert_eq!(out.status.code(), Some(2));
}
both_backends!(
    token_cli_round_trip,
    tokens_are_created_listed_and_revoked_from_the_command_line
);
