//! The demo's HTTP side: the API and hooks as a monitoring system or CI would call them, and people in the
//! web war room with their name cookie.

use anyhow::{Context, bail};
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long any one step may take before the demo gives up.
pub const WAIT: Duration = Duration::from_secs(10);

/// A client of one running warroom.
pub struct Api {
    http: reqwest::Client,
    base: String,
}

async fn answer(what: &str, resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await.with_context(|| format!("{what}: read"))?;
    if !status.is_success() {
        bail!("{what} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
}

impl Api {
    /// A client of the warroom at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: String) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder().timeout(WAIT).build()?;
        Ok(Api { http, base })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST path` with a JSON body; the JSON answer, or an error naming the step.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        answer(&format!("POST {path}"), resp).await
    }

    /// `GET path`; the JSON answer.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        answer(&format!("GET {path}"), resp).await
    }

    /// `GET path`; the text answer.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("GET {path} answered {status}: {text}");
        }
        Ok(text)
    }

    /// Every timeline event of incident `id`, oldest first.
    pub async fn timeline(&self, id: i64) -> anyhow::Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .get(&format!(
                    "/api/v1/incidents/{id}/timeline?after={after}&limit=1000"
                ))
                .await?;
            if let Some(list) = page["events"].as_array() {
                events.extend(list.iter().cloned());
            }
            match page["next"].as_i64() {
                Some(next) => after = next,
                None => return Ok(events),
            }
        }
    }
}

/// Polls `check` until it yields a value; fails naming `what` after [`WAIT`].
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {} s waiting for {what}", WAIT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Someone in the web war room of one incident, with their own name cookie.
pub struct Person {
    /// Their name.
    pub name: String,
    http: reqwest::Client,
    url: String,
}

impl Person {
    /// Gives the name (`POST /name`, as the room's form does) and enters the room of `incident`.
    pub async fn join(api: &Api, name: &str, incident: i64) -> anyhow::Result<Person> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WAIT)
            .build()?;
        let back = format!("/incidents/{incident}");
        let resp = http
            .post(format!("{}/name", api.base()))
            .form(&[("name", name), ("back", back.as_str())])
            .send()
            .await
            .context("POST /name")?;
        if !resp.status().is_redirection() {
            bail!("POST /name answered {}", resp.status());
        }
        let room = http
            .get(format!("{}{back}", api.base()))
            .send()
            .await
            .with_context(|| format!("GET {back}"))?;
        if !room.status().is_success() {
            bail!("GET {back} answered {}", room.status());
        }
        Ok(Person {
            name: name.to_string(),
            http,
            url: format!("{}{back}/messages", api.base()),
        })
    }

    /// Types `text` into the room (a message or a `/inc` command); the room's JSON answer.
    pub async fn say(&self, text: &str) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(&self.url)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .with_context(|| format!("{} typing `{text}`", self.name))?;
        answer(&format!("`{text}`"), resp).await
    }
}
