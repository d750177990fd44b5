//! The `webhook` destination: performs an HTTP request from the outbox (rollback hooks) and posts
//! pages to the `oncall.webhooks` SMS/phone gateways.
//!
//! Every attempt of one entry sends the same `Idempotency-Key` (the outbox id), so a receiver that
//! honours it acts once even when a response was lost and the worker retried.

use super::{Delivered, Deliverer, DeliveryError, Outcome};
use crate::config::{PageWebhook, RollbackHook};
use crate::engine::{HookRequest, check_header_value, public_url, render_headers, render_request};
use crate::store::OutboxEntry;
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;

/// Delivers `webhook` outbox entries (`action` = `http`, payload `{method, hook, context,
/// header_names, shown_url}`): the URL, headers and body are rendered from the hook's configuration
/// at send time. Entries written by older builds (`{method, url, headers, header_names, body}`) still
/// deliver as they were stored.
pub struct WebhookDeliverer {
    client: reqwest::Client,
    hooks: BTreeMap<String, RollbackHook>,
    gateways: BTreeMap<String, PageWebhook>,
}

impl WebhookDeliverer {
    /// A deliverer whose requests time out after `timeout`, with the configured hooks' literal headers.
    pub fn new(timeout: Duration, hooks: BTreeMap<String, RollbackHook>) -> WebhookDeliverer {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        WebhookDeliverer {
            client,
            hooks,
            gateways: BTreeMap::new(),
        }
    }

    /// The same deliverer, also posting pages (`page_dm`) to the `oncall.webhooks` gateways.
    pub fn with_gateways(mut self, gateways: BTreeMap<String, PageWebhook>) -> WebhookDeliverer {
        self.gateways = gateways;
        self
    }

    /// Posts a page to its gateway: JSON, signed (`X-Warroom-Signature: sha256=…` over
    /// `"{X-Warroom-Timestamp}.{body}"`), with an `Idempotency-Key` that every retry repeats.
    async fn page(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let p = &entry.payload;
        let name = p["webhook"].as_str().unwrap_or_default();
        let gw = self.gateways.get(name).ok_or_else(|| {
            DeliveryError::Permanent(format!("oncall.webhooks.{name} is not configured"))
        })?;
        let body =
            serde_json::json!({"event": "page", "page": p["page"], "incident": p["incident"],
            "person": p["person"], "phone": p["phone"], "text": p["text"], "title": p["title"],
            "severity": p["severity"], "url": p["url"], "ack_url": p["ack_url"]})
            .to_string();
        let ts = chrono::Utc::now().timestamp().to_string();
        let signature = crate::domain::oncall::paging::signature(&gw.secret, &ts, body.as_bytes());
        let key = format!("page:{}:{}", p["page"], entry.id);
        let shown = public_url(&gw.url);
        let resp = self
            .client
            .post(&gw.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .header("X-Warroom-Timestamp", &ts)
            .header("X-Warroom-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(outbox = entry.id, url = %shown, error = %e.without_url(), "page gateway request failed");
                DeliveryError::Retry {
                    reason: format!("the page request to {shown} failed"),
                    after: None,
                }
            })?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        if status.is_success() {
            return Ok(Delivered {
                result: Some(serde_json::json!({"status": status.as_u16(), "gateway": name})),
            });
        }
        let reason = format!("{shown} answered {status}");
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            Err(DeliveryError::Retry { reason, after })
        } else {
            Err(DeliveryError::Permanent(reason))
        }
    }

    /// The request of a hook entry: rendered now from the hook's configuration and the stored
    /// context, or, for an entry an older build wrote with its URL, as stored.
    fn request(&self, p: &serde_json::Value) -> Result<HookRequest, DeliveryError> {
        let method = p["method"].as_str().unwrap_or("POST").to_string();
        if let Some(url) = p["url"].as_str() {
            return Ok(HookRequest {
                method,
                url: url.to_string(),
                headers: self.legacy_headers(p)?,
                body: p["body"].as_str().map(str::to_string),
            });
        }
        let hook = p["hook"].as_str().unwrap_or_default();
        let configured = self.hooks.get(hook).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "the rollback hook of {hook} is no longer configured"
            ))
        })?;
        render_request(configured, &p["context"]).map_err(DeliveryError::Permanent)
    }

    /// An older entry's headers: rendered now from the hook's configured templates and the stored
    /// context, plus any rendered headers an even older entry carries.
    fn legacy_headers(
        &self,
        p: &serde_json::Value,
    ) -> Result<Vec<(String, String)>, DeliveryError> {
        let mut headers = Vec::new();
        for (k, v) in p["headers"].as_object().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                check_header_value(k, v).map_err(DeliveryError::Permanent)?;
                headers.push((k.clone(), v.to_string()));
            }
        }
        if p["header_names"]
            .as_array()
            .is_none_or(|names| names.is_empty())
        {
            return Ok(headers);
        }
        let hook = p["hook"].as_str().unwrap_or_default();
        let configured = self.hooks.get(hook).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "the rollback hook of {hook} is no longer configured"
            ))
        })?;
        headers
            .extend(render_headers(configured, &p["context"]).map_err(DeliveryError::Permanent)?);
        Ok(headers)
    }
}

/// `text` with every secret value replaced by `***`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        for part in std::iter::once(secret.as_str()).chain(secret.split_whitespace()) {
            if part.len() >= 4 {
                out = out.replace(part, "***");
            }
        }
    }
    out
}

/// `Retry-After` in seconds (the HTTP-date form is treated as "soon").
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(Duration::from_secs(
        v.trim().parse::<u64>().unwrap_or(1).min(3600),
    ))
}

#[async_trait::async_trait]
impl Deliverer for WebhookDeliverer {
    fn destination(&self) -> &str {
        crate::engine::rollback::WEBHOOK
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Outcome {
        self.perform(entry).await.into()
    }
}

impl WebhookDeliverer {
    /// Performs one entry (a webhook records nothing but its result).
    async fn perform(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        if entry.action == crate::engine::paging::PAGE_DM {
            return self.page(entry).await;
        }
        if entry.action != "http" {
            return Err(DeliveryError::Permanent(format!(
                "the webhook destination cannot `{}`",
                entry.action
            )));
        }
        let request = self.request(&entry.payload)?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            DeliveryError::Permanent(format!("invalid HTTP method `{}`", request.method))
        })?;
        let secrets = request.secrets();
        let mut req = self
            .client
            .request(method, &request.url)
            .header("Idempotency-Key", entry.id.to_string());
        for (k, v) in &request.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &request.body {
            let json = serde_json::from_str::<serde_json::Value>(body).is_ok();
            let has_type = request
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            if json && !has_type {
                req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            req = req.body(body.clone());
        }
        let shown = public_url(&request.url);
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else if e.is_builder() {
                "could not be built"
            } else {
                "failed"
            };
            tracing::warn!(outbox = entry.id, url = %shown, error = %redact(&e.without_url().to_string(), &secrets),
                "rollback hook request {kind}");
            DeliveryError::Retry {
                reason: format!("the request to {shown} {kind}"),
                after: None,
            }
        })?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        let text = redact(&resp.text().await.unwrap_or_default(), &secrets);
        let body: String = text.chars().take(500).collect();
        if status.is_success() {
            return Ok(Delivered {
                result: Some(serde_json::json!({"status": status.as_u16(), "body": body})),
            });
        }
        tracing::warn!(outbox = entry.id, url = %shown, %status, %body,
            "rollback hook refused the request");
        let reason = format!("{shown} answered {status}");
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            Err(DeliveryError::Retry { reason, after })
        } else {
            Err(DeliveryError::Permanent(reason))
        }
    }
}
