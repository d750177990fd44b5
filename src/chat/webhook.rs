//! The `webhook` destination: performs an HTTP request from the outbox (rollback hooks, gateways).
//!
//! Every attempt of one entry sends the same `Idempotency-Key` (the outbox id), so a receiver that
//! honours it acts once even when a response was lost and the worker retried.

use super::{Delivered, Deliverer, DeliveryError};
use crate::store::OutboxEntry;
use reqwest::StatusCode;
use std::time::Duration;

/// Delivers `webhook` outbox entries (`action` = `http`, payload `{method, url, headers, body}`).
pub struct WebhookDeliverer {
    client: reqwest::Client,
}

impl WebhookDeliverer {
    /// A deliverer whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> WebhookDeliverer {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        WebhookDeliverer { client }
    }
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

    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        if entry.action != "http" {
            return Err(DeliveryError::Permanent(format!(
                "the webhook destination cannot `{}`",
                entry.action
            )));
        }
        let p = &entry.payload;
        let url = p["url"].as_str().unwrap_or_default();
        let method = p["method"].as_str().unwrap_or("POST");
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| DeliveryError::Permanent(format!("invalid HTTP method `{method}`")))?;
        let mut req = self
            .client
            .request(method, url)
            .header("Idempotency-Key", entry.id.to_string());
        for (k, v) in p["headers"].as_object().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                req = req.header(k.as_str(), v);
            }
        }
        if let Some(body) = p["body"].as_str() {
            let json = serde_json::from_str::<serde_json::Value>(body).is_ok();
            let has_type = p["headers"]
                .as_object()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
            if json && !has_type {
                req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            req = req.body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| DeliveryError::Retry {
            reason: format!("request failed: {}", e.without_url()),
            after: None,
        })?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        if status.is_success() {
            return Ok(Delivered {
                result: Some(serde_json::json!({"status": status.as_u16(), "body": body})),
            });
        }
        let reason = format!("{url} answered {status}: {body}");
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
