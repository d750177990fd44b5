//! Headless Chromium over WebDriver (chromedriver + fantoccini) for browser tests, and a real OpenID
//! provider (`oidc-provider` from npm, tests/oidc_provider/) on a free loopback port.
//! Locally without the binaries a test skips with a message; in CI (`CI` set) it fails instead.

#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a browser step may take.
pub const WAIT: Duration = Duration::from_secs(15);

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn skip_or_fail(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI");
    }
    eprintln!("browser test skipped: {what} is not installed");
}

/// Chromium and chromedriver, or `None` (a skip) when they are not installed outside CI.
pub fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = first_existing(&["/usr/lib/chromium/chromium", "/usr/bin/chromium"]);
    let driver = first_existing(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ => {
            skip_or_fail("chromium and chromium-driver (apt-get install chromium chromium-driver)");
            None
        }
    }
}

/// A child process this test started; killed when dropped.
pub struct Process {
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound and released; the caller binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running chromedriver.
pub struct Driver {
    _process: Process,
    /// Its WebDriver URL.
    pub url: String,
}

/// Starts chromedriver and waits until it answers.
pub async fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        _process: Process { child },
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{}/status", driver.url)).await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

/// A browser session with its own fresh profile.
pub async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// One browser session on its own chromedriver, with a fresh profile; all ended when dropped.
pub struct Session {
    /// The browser.
    pub client: Client,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

/// Starts chromedriver and a session of `chromium` on it (both as [`browser_binaries`] found them).
pub async fn session(chromium: &Path, driver: &Path) -> Session {
    let driver = start_driver(driver).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, chromium, profile.path()).await;
    Session {
        client,
        _profile: profile,
        _driver: driver,
    }
}

/// Waits until the text of the first element matching `css` satisfies `ok`.
pub async fn wait_text(c: &Client, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if ok(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let source = c.source().await.unwrap_or_default();
    panic!("timed out waiting for {what} in `{css}` at {url}; last text: {last:?}; page: {source}");
}

/// Waits until the element `css` exists, then clicks it.
pub async fn click(c: &Client, css: &str) {
    wait_text(c, css, css, |_| true).await;
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `text` into the field `css`.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    wait_text(c, css, css, |_| true).await;
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// The text of the element `css` (which must exist).
pub async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Gives the current page's person the name `name` through the header's name form, and waits until
/// the header says so.
pub async fn set_name(c: &Client, name: &str) {
    type_into(c, "form[action='/name'] input[name=name]", name).await;
    click(c, "form[action='/name'] button").await;
    wait_text(c, "header", "the name in the header", |t| {
        t.contains(&format!("you are {name}"))
    })
    .await;
}

/// Runs `scenario` for at most `limit`, then closes every session of `sessions` whatever happened,
/// and fails with the scenario's own panic, or as `what` having taken too long.
pub async fn run_then_close(
    sessions: &[&Client],
    limit: Duration,
    what: &str,
    scenario: impl std::future::Future<Output = ()>,
) {
    let outcome = tokio::time::timeout(limit, scenario);
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    for session in sessions {
        let _ = (*session).clone().close().await;
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("{what} took longer than {} s", limit.as_secs()),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The one account of the test provider.
pub struct OidcAccount<'a> {
    /// Its `sub`.
    pub sub: &'a str,
    /// Its (verified) e-mail.
    pub email: &'a str,
    /// Its `name`.
    pub name: &'a str,
}

/// A running `oidc-provider`.
pub struct OidcProvider {
    _process: Process,
    /// Its issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
}

/// Starts tests/oidc_provider/server.js with one client (`client_id`, `secret`, `redirect_uri`) and one
/// account; `None` (a skip) outside CI when Node.js or `npm ci --prefix tests/oidc_provider` is missing.
pub fn start_oidc_provider(
    client_id: &str,
    secret: &str,
    redirect_uri: &str,
    account: &OidcAccount<'_>,
) -> Option<OidcProvider> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc_provider");
    if !dir.join("node_modules/oidc-provider").is_dir() {
        skip_or_fail("tests/oidc_provider/node_modules (npm ci --prefix tests/oidc_provider)");
        return None;
    }
    let spawned = Command::new("node")
        .arg(dir.join("server.js"))
        .env("OIDC_CLIENT_ID", client_id)
        .env("OIDC_CLIENT_SECRET", secret)
        .env("OIDC_REDIRECT_URI", redirect_uri)
        .env("OIDC_SUB", account.sub)
        .env("OIDC_EMAIL", account.email)
        .env("OIDC_NAME", account.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(_) => {
            skip_or_fail("node (Node.js)");
            return None;
        }
    };
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line)
        .expect("the provider prints its issuer");
    // Keep reading, so that the provider never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let process = Process { child };
    let started: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
    Some(OidcProvider {
        _process: process,
        issuer: started["issuer"].as_str().expect("issuer").to_string(),
    })
}
