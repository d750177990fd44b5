//! Delivers outbox entries through the platform adapters, with retries and backoff.

use super::Engine;
use crate::chat::{Deliverer, DeliveryError};
use crate::config::OutboxConfig;
use crate::domain::{EventKind, NewEvent};
use crate::store::OutboxEntry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// Runs one delivery loop per adapter until `shutdown` turns true.
pub async fn run(
    engine: Engine,
    deliverers: Vec<Arc<dyn Deliverer>>,
    config: OutboxConfig,
    shutdown: watch::Receiver<bool>,
) {
    let mut loops = tokio::task::JoinSet::new();
    for deliverer in deliverers {
        let (engine, config, shutdown) = (engine.clone(), config.clone(), shutdown.clone());
        loops.spawn(deliver_loop(engine, deliverer, config, shutdown));
    }
    while loops.join_next().await.is_some() {}
}

async fn deliver_loop(
    engine: Engine,
    deliverer: Arc<dyn Deliverer>,
    config: OutboxConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wake = engine.hub().outbox_wakeup();
    let idle = Duration::from_millis(config.poll_interval_ms);
    loop {
        if *shutdown.borrow() {
            return;
        }
        wake.borrow_and_update();
        let worked = match drain_once(&engine, deliverer.as_ref(), &config).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(destination = deliverer.destination(), error = %e, "outbox claim failed");
                false
            }
        };
        if !worked {
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Claims and delivers one batch; returns how many entries it handled.
pub async fn drain_once(
    engine: &Engine,
    deliverer: &dyn Deliverer,
    config: &OutboxConfig,
) -> Result<usize, crate::store::StoreError> {
    let store = engine.store();
    let lease = i64::try_from(config.lease_secs).unwrap_or(30);
    let batch = store
        .claim_outbox(
            deliverer.destination(),
            engine.now(),
            chrono::Duration::seconds(lease),
            32,
        )
        .await?;
    let n = batch.len();
    for entry in batch {
        let span = tracing::info_span!("outbox.deliver", id = entry.id, destination = %entry.destination,
            action = %entry.action, attempt = entry.attempts);
        deliver_one(engine, deliverer, config, entry)
            .instrument(span)
            .await?;
    }
    Ok(n)
}

async fn deliver_one(
    engine: &Engine,
    deliverer: &dyn Deliverer,
    config: &OutboxConfig,
    entry: OutboxEntry,
) -> Result<(), crate::store::StoreError> {
    let store = engine.store();
    match deliverer.deliver(&entry).await {
        Ok(delivered) => {
            if let Some(result) = &delivered.result {
                store.record_outbox_result(entry.id, result).await?;
            }
            store.complete_outbox(entry.id, engine.now()).await?;
            metrics::counter!("warroom_outbox_delivered_total", "destination" => entry.destination.clone())
                .increment(1);
        }
        Err(DeliveryError::Retry { reason, after })
            if entry.attempts < i64::from(config.max_attempts) =>
        {
            let delay = after.unwrap_or_else(|| backoff(config, entry.attempts));
            tracing::info!(error = %reason, retry_in_ms = delay.as_millis() as u64, "delivery will be retried");
            let next = engine.now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(1));
            store.retry_outbox(entry.id, next, &reason).await?;
            metrics::counter!("warroom_outbox_retries_total", "destination" => entry.destination.clone()).increment(1);
        }
        Err(e) => {
            let reason = e.to_string();
            tracing::warn!(error = %reason, "delivery failed for good");
            store.fail_outbox(entry.id, &reason, engine.now()).await?;
            metrics::counter!("warroom_outbox_failed_total", "destination" => entry.destination.clone()).increment(1);
            if let Some(incident) = entry.incident_id {
                let text = format!(
                    "could not {} on {}: {reason}",
                    entry.action, entry.destination
                );
                let key = format!("delivery_failed:{}", entry.id);
                let result = engine
                    .apply(incident, |_, now| {
                        Ok(vec![
                            NewEvent::new(EventKind::DeliveryFailed, now, Some("warroom"))
                                .text(text)
                                .data(serde_json::json!({"outbox": entry.id, "destination": entry.destination,
                                    "action": entry.action}))
                                .key(key),
                        ])
                    })
                    .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "could not record the failed delivery on the timeline");
                }
            }
        }
    }
    Ok(())
}

/// Exponential backoff with jitter: initial × 2^(attempt-1), capped.
fn backoff(config: &OutboxConfig, attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32 - 1;
    let base = config
        .initial_backoff_ms
        .saturating_mul(1u64 << exp.min(16));
    let capped = base.min(config.max_backoff_secs * 1000);
    let jitter = rand::random_range(0..=capped / 4 + 1);
    Duration::from_millis(capped - capped / 8 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = OutboxConfig {
            initial_backoff_ms: 100,
            max_backoff_secs: 2,
            ..OutboxConfig::default()
        };
        let first = backoff(&c, 1).as_millis();
        assert!((87..=126).contains(&first), "{first}");
        let fourth = backoff(&c, 4).as_millis();
        assert!((700..=1001).contains(&fourth), "{fourth}");
        assert!(backoff(&c, 30).as_millis() <= 2_501);
    }
}
