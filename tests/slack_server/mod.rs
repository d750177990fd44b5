//! A local Slack Web API for tests: bearer-token check, Slack's JSON shapes (`{"ok":true,…}` /
//! `{"ok":false,"error":…}` with HTTP 200), ids it assigns (`C…`, ts `1700000000.000100`), state that
//! `conversations.list` / `conversations.history` reflect, and injected faults: `429` + `Retry-After`
//! before any effect, and `500` after the effect took place (the reply is lost, the post is not).

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub mod helpers;

/// The bot token the fake accepts.
pub const TOKEN: &str = "xoxb-test-token";
/// The bot's user id.
pub const BOT_USER: &str = "UBOT00001";
/// The signing secret tests sign with.
pub const SIGNING_SECRET: &str = "test-signing-secret";

/// A channel as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub creator: String,
    pub topic: String,
    pub members: Vec<String>,
    pub messages: Vec<Value>,
    pub pins: Vec<String>,
}

/// Injected faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fraction of calls answered `429` with `Retry-After` (no effect).
    pub rate_limited: f64,
    /// Fraction of write calls that take effect and then answer `500`.
    pub fail_after_effect: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Methods that always fail after their effect (deterministic crash simulation).
    pub always_fail_after_effect: Vec<String>,
    /// Fraction of read calls answered `500` (no effect: a read has none).
    pub fail_reads: f64,
}

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct SlackState {
    pub channels: Vec<Channel>,
    pub ephemerals: Vec<Value>,
    pub views: Vec<Value>,
    pub calls: Vec<String>,
    pub faults: Faults,
    pub users: Vec<(String, String)>,
    /// Workspace users' e-mail addresses (address, user id), for `users.lookupByEmail`.
    pub emails: Vec<(String, String)>,
    /// 429s sent.
    pub rate_limited_sent: usize,
    /// 500s sent after the effect.
    pub failed_after_effect_sent: usize,
    /// Methods that take this long before they act and answer: a slow platform.
    pub slow_replies: std::collections::HashMap<String, std::time::Duration>,
    /// Slow calls that arrived at or after this moment act and answer at once (see
    /// [`SlackState::release_slow_since`]); those that arrived before keep their whole delay.
    pub slow_released_since: Option<std::time::Instant>,
    /// Slow calls per method that have arrived (counted on arrival, before any delay).
    pub slow_arrived: std::collections::HashMap<String, usize>,
    /// Methods that act at once and hold their reply this long: the effect is there, the answer late.
    pub held_replies: std::collections::HashMap<String, std::time::Duration>,
    /// 500s sent for reads.
    pub failed_reads_sent: usize,
    /// The next n calls of a method are answered `429` (no effect).
    pub rate_limit_next: std::collections::HashMap<String, usize>,
    /// Channels whose `chat.postMessage` always answers `500` (no effect): a poisoned channel.
    pub failing_channels: Vec<String>,
    /// Slack's tier enforced for one method: (method, per minute, burst); a call over it is
    /// answered `429` with `Retry-After: 1` and counted in `tier_exceeded`.
    pub tier: Option<(String, u32, u32)>,
    /// Calls the `tier` refused: a limit the callers together went over.
    pub tier_exceeded: usize,
    /// Calls the `tier` let through.
    pub tier_passed: usize,
    tier_bucket: Option<(f64, std::time::Instant)>,
    next_id: u64,
    next_ts: u64,
}

/// A running fake Slack.
#[derive(Clone)]
pub struct FakeSlack {
    pub url: String,
    pub state: Arc<Mutex<SlackState>>,
}

fn ok(extra: Value) -> Response {
    let mut body = json!({"ok": true});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    axum::Json(body).into_response()
}

fn err(error: &str) -> Response {
    axum::Json(json!({"ok": false, "error": error})).into_response()
}

fn args(headers: &HeaderMap, body: &[u8]) -> Value {
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if json_body {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    }
}

const WRITES: [&str; 8] = [
    "conversations.create",
    "chat.postMessage",
    "chat.update",
    "pins.add",
    "conversations.invite",
    "conversations.setTopic",
    "chat.postEphemeral",
    "conversations.join",
];

async fn api(
    State(fake): State<Arc<Mutex<SlackState>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth.is_empty() {
        return err("not_authed");
    }
    if auth != format!("Bearer {TOKEN}") {
        return err("invalid_auth");
    }
    let a = args(&headers, &body);
    let arrived = std::time::Instant::now();
    let slow = {
        let mut s = fake.lock().unwrap();
        let slow = s.slow_replies.get(&method).copied();
        if slow.is_some() {
            *s.slow_arrived.entry(method.clone()).or_insert(0) += 1;
        }
        slow
    };
    if let Some(delay) = slow {
        // Held until the delay is over, or until the test releases the calls that arrived from a given
        // moment on (a process started then), whichever comes first.
        while arrived.elapsed() < delay {
            let released = fake
                .lock()
                .unwrap()
                .slow_released_since
                .is_some_and(|since| arrived >= since);
            if released {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let (response, held) = {
        let mut s = fake.lock().unwrap();
        let held = s.held_replies.get(&method).copied();
        (respond(&mut s, &method, &a), held)
    };
    if let Some(delay) = held {
        tokio::time::sleep(delay).await;
    }
    response
}

impl SlackState {
    /// The platform is slow no more: new calls are answered at once, and so are the slow calls held now
    /// that arrived at or after `since`; earlier ones (from processes that are gone) keep their delay.
    pub fn release_slow_since(&mut self, since: std::time::Instant) {
        self.slow_replies.clear();
        self.slow_released_since = Some(since);
    }

    /// Draws one call of `method` from the enforced tier's token bucket; false when it is spent.
    fn within_tier(&mut self, method: &str) -> bool {
        let Some((limited, per_minute, burst)) = self.tier.clone() else {
            return true;
        };
        if limited != method {
            return true;
        }
        let now = std::time::Instant::now();
        let (tokens, at) = self.tier_bucket.unwrap_or((f64::from(burst), now));
        let refilled = (tokens
            + now.duration_since(at).as_secs_f64() * f64::from(per_minute) / 60.0)
            .min(f64::from(burst));
        if refilled < 1.0 {
            self.tier_bucket = Some((refilled, now));
            self.tier_exceeded += 1;
            return false;
        }
        self.tier_bucket = Some((refilled - 1.0, now));
        self.tier_passed += 1;
        true
    }
}

fn respond(s: &mut SlackState, method: &str, a: &Value) -> Response {
    let method = method.to_string();
    s.calls.push(method.clone());
    let faults = s.faults.clone();
    if !s.within_tier(&method) {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
    }
    if let Some(n) = s.rate_limit_next.get_mut(&method).filter(|n| **n > 0) {
        *n -= 1;
        s.rate_limited_sent += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", faults.retry_after_secs.to_string())],
            "",
        )
            .into_response();
    }
    if method == "chat.postMessage"
        && s.failing_channels
            .iter()
            .any(|c| a["channel"].as_str() == Some(c))
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream timeout").into_response();
    }
    if faults.rate_limited > 0.0 && rand::random::<f64>() < faults.rate_limited {
        s.rate_limited_sent += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", faults.retry_after_secs.to_string())],
            "",
        )
            .into_response();
    }
    if !WRITES.contains(&method.as_str())
        && faults.fail_reads > 0.0
        && rand::random::<f64>() < faults.fail_reads
    {
        s.failed_reads_sent += 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream timeout").into_response();
    }
    let response = s.perform(&method, a);
    let effect_only = faults.always_fail_after_effect.contains(&method)
        || (WRITES.contains(&method.as_str())
            && faults.fail_after_effect > 0.0
            && rand::random::<f64>() < faults.fail_after_effect);
    if effect_only {
        s.failed_after_effect_sent += 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream timeout").into_response();
    }
    response
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl SlackState {
    fn ts(&mut self) -> String {
        self.next_ts += 1;
        format!("1700000000.{:06}", 100 * self.next_ts)
    }

    fn channel_json(c: &Channel) -> Value {
        json!({"id": c.id, "name": c.name, "is_private": c.is_private, "creator": c.creator,
            "is_archived": false, "topic": {"value": c.topic}, "num_members": c.members.len()})
    }

    fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    /// Adds a channel created by someone else (to provoke `name_taken`).
    pub fn add_foreign_channel(&mut self, name: &str) -> String {
        self.next_id += 1;
        let id = format!("C{:08}", 90000000 + self.next_id);
        self.channels.push(Channel {
            id: id.clone(),
            name: name.into(),
            is_private: false,
            creator: "UHUMAN001".into(),
            topic: String::new(),
            members: vec!["UHUMAN001".into()],
            messages: vec![],
            pins: vec![],
        });
        id
    }

    fn perform(&mut self, method: &str, a: &Value) -> Response {
        match method {
            "auth.test" => ok(json!({"user_id": BOT_USER, "team_id": "T0001", "bot_id": "B0001"})),
            "conversations.create" => {
                let name = s(&a["name"]);
                if name.is_empty()
                    || name.len() > 80
                    || name.chars().any(|c| c.is_uppercase() || c == ' ')
                {
                    return err("invalid_name");
                }
                if self.channels.iter().any(|c| c.name == name) {
                    return err("name_taken");
                }
                self.next_id += 1;
                let id = format!("C{:08}", self.next_id);
                let c = Channel {
                    id,
                    name,
                    is_private: a["is_private"] == true || a["is_private"] == "true",
                    creator: BOT_USER.into(),
                    topic: String::new(),
                    members: vec![BOT_USER.into()],
                    messages: vec![],
                    pins: vec![],
                };
                let body = Self::channel_json(&c);
                self.channels.push(c);
                ok(json!({"channel": body}))
            }
            "conversations.list" => {
                let limit: usize = s(&a["limit"]).parse().unwrap_or(100);
                let start: usize = s(&a["cursor"])
                    .strip_prefix("next:")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let page: Vec<Value> = self
                    .channels
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(Self::channel_json)
                    .collect();
                let next = if start + limit < self.channels.len() {
                    format!("next:{}", start + limit)
                } else {
                    String::new()
                };
                ok(json!({"channels": page, "response_metadata": {"next_cursor": next}}))
            }
            "conversations.setTopic" => {
                let topic = s(&a["topic"]);
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                if !c.members.iter().any(|m| m == BOT_USER) {
                    return err("not_in_channel");
                }
                c.topic = topic;
                ok(json!({}))
            }
            "conversations.invite" => {
                let users = s(&a["users"]);
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                for u in users.split(',') {
                    if c.members.iter().any(|m| m == u) {
                        return err("already_in_channel");
                    }
                    c.members.push(u.to_string());
                }
                ok(json!({"channel": {"id": c.id}}))
            }
            "conversations.join" => {
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                if !c.members.iter().any(|m| m == BOT_USER) {
                    c.members.push(BOT_USER.into())
                }
                ok(json!({"channel": {"id": c.id}}))
            }
            "conversations.history" => {
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                let with_meta = s(&a["include_all_metadata"]) == "true";
                let msgs: Vec<Value> = c
                    .messages
                    .iter()
                    .rev()
                    .map(|m| {
                        let mut m = m.clone();
                        if !with_meta && let Some(o) = m.as_object_mut() {
                            o.remove("metadata");
                        }
                        m
                    })
                    .collect();
                ok(json!({"messages": msgs, "has_more": false}))
            }
            "conversations.open" => {
                let user = s(&a["users"]);
                let id = format!("D{user}");
                if self.channel_mut(&id).is_none() {
                    self.channels.push(Channel {
                        id: id.clone(),
                        name: String::new(),
                        is_private: true,
                        creator: BOT_USER.into(),
                        topic: String::new(),
                        members: vec![BOT_USER.into(), user],
                        messages: vec![],
                        pins: vec![],
                    });
                }
                ok(json!({"channel": {"id": id}}))
            }
            "chat.postMessage" => {
                let text = s(&a["text"]);
                if text.is_empty() && a["blocks"].is_null() {
                    return err("no_text");
                }
                let ts = self.ts();
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                if !c.members.iter().any(|m| m == BOT_USER) {
                    return err("not_in_channel");
                }
                let msg = json!({"type": "message", "ts": ts, "text": text, "bot_id": "B0001", "user": BOT_USER,
                    "blocks": a["blocks"], "metadata": a["metadata"]});
                c.messages.push(msg.clone());
                let channel = c.id.clone();
                ok(json!({"channel": channel, "ts": ts, "message": msg}))
            }
            "chat.update" => {
                let ts = s(&a["ts"]);
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                let Some(m) = c.messages.iter_mut().find(|m| m["ts"] == ts.as_str()) else {
                    return err("message_not_found");
                };
                m["text"] = a["text"].clone();
                m["blocks"] = a["blocks"].clone();
                m["edited"] = json!({"user": BOT_USER});
                let channel = c.id.clone();
                ok(json!({"channel": channel, "ts": ts}))
            }
            "pins.add" => {
                let ts = s(&a["timestamp"]);
                let Some(c) = self.channel_mut(&s(&a["channel"])) else {
                    return err("channel_not_found");
                };
                if c.pins.contains(&ts) {
                    return err("already_pinned");
                }
                c.pins.push(ts);
                ok(json!({}))
            }
            "chat.postEphemeral" => {
                self.ephemerals.push(a.clone());
                ok(json!({"message_ts": "1700000000.999999"}))
            }
            "users.info" => {
                let id = s(&a["user"]);
                match self.users.iter().find(|(u, _)| *u == id) {
                    Some((_, name)) => ok(json!({"user": {"id": id, "name": name.to_lowercase(),
                        "profile": {"display_name": name, "real_name": name}}})),
                    None => err("user_not_found"),
                }
            }
            "users.lookupByEmail" => {
                let email = s(&a["email"]);
                if email.is_empty() {
                    return err("invalid_arguments");
                }
                let found = self
                    .emails
                    .iter()
                    .find(|(e, _)| e.eq_ignore_ascii_case(&email))
                    .map(|(e, id)| (e.clone(), id.clone()));
                match found {
                    Some((e, id)) => {
                        let name = self
                            .users
                            .iter()
                            .find(|(u, _)| *u == id)
                            .map(|(_, n)| n.clone())
                            .unwrap_or_else(|| id.clone());
                        ok(
                            json!({"user": {"id": id, "team_id": "T0001", "name": name.to_lowercase(),
                            "deleted": false, "is_bot": false, "real_name": name,
                            "profile": {"email": e, "display_name": name, "real_name": name}}}),
                        )
                    }
                    None => err("users_not_found"),
                }
            }
            "views.open" => {
                if s(&a["trigger_id"]).is_empty() {
                    return err("invalid_trigger_id");
                }
                self.views.push(a["view"].clone());
                ok(json!({"view": {"id": "V0001"}}))
            }
            _ => err("unknown_method"),
        }
    }
}

impl FakeSlack {
    /// Starts the fake on 127.0.0.1:0.
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(SlackState::default()));
        let app = Router::new()
            .route("/api/{method}", post(api))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSlack {
            url: format!("http://{addr}/api/"),
            state,
        }
    }

    /// Points a warroom configuration at this fake.
    pub fn configure(&self, config: &mut warroom::config::Config) {
        config.slack.bot_token = Some(TOKEN.into());
        config.slack.signing_secret = Some(SIGNING_SECRET.into());
        config.slack.api_url = self.url.clone();
    }

    /// Sets the injected faults.
    pub fn faults(&self, faults: Faults) {
        self.state.lock().unwrap().faults = faults;
    }

    /// A copy of the channels.
    pub fn channels(&self) -> Vec<Channel> {
        self.state.lock().unwrap().channels.clone()
    }

    /// The texts posted to the channel `id`, oldest first (panics when there is no such channel).
    pub fn texts(&self, id: &str) -> Vec<String> {
        self.channels()
            .into_iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no channel {id}"))
            .messages
            .iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The channel whose name starts with `prefix`.
    pub fn channels_named(&self, prefix: &str) -> Vec<Channel> {
        self.channels()
            .into_iter()
            .filter(|c| c.name.starts_with(prefix))
            .collect()
    }

    /// How many times `method` was called.
    pub fn calls(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == method)
            .count()
    }

    /// Registers a workspace user with an e-mail address (`users.info` and `users.lookupByEmail`).
    pub fn add_user_with_email(&self, id: &str, name: &str, email: &str) {
        let mut s = self.state.lock().unwrap();
        s.users.push((id.into(), name.into()));
        s.emails.push((email.into(), id.into()));
    }

    /// Registers a workspace user for `users.info`.
    pub fn add_user(&self, id: &str, name: &str) {
        self.state
            .lock()
            .unwrap()
            .users
            .push((id.into(), name.into()));
    }
}

/// Signs a request body as Slack does, at `timestamp` (epoch seconds).
pub fn sign(body: &str, timestamp: i64) -> String {
    warroom::chat::slack::verify::sign(SIGNING_SECRET, &timestamp.to_string(), body.as_bytes())
}

/// Sends a signed request to warroom (`content_type` form or JSON).
pub async fn send_signed(
    client: &reqwest::Client,
    url: &str,
    body: &str,
    content_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let now = chrono::Utc::now().timestamp();
    let mut req = client
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", now.to_string())
        .header("x-slack-signature", sign(body, now))
        .body(body.to_string());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}
