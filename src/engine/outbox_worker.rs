//! Delivers outbox entries through the platform adapters: fenced claims, a heartbeat on long
//! deliveries, capped backoff, and every entry on its own so one that keeps failing blocks no other.
//!
//! - A claim carries a token; starting, renewing, completing, failing or rescheduling an entry
//!   presents it, so a worker whose lease was taken over has its result discarded (and counted).
//! - `attempts` counts deliveries that reported back; a claim or a crash never spends one.
//! - Transient causes ([`DeliveryError::Retry`]) retry for ever with capped backoff; a room that does
//!   not exist yet ([`DeliveryError::WaitFor`]) is waited for without spending attempts while its
//!   creation is pending; only a permanent cause fails an entry for good (timeline + `/metrics`).

use super::unit::Unit;
use super::{Engine, EngineError, outbox_record};
use crate::chat::{Deliverer, DeliveryError, Outcome, Recorded};
use crate::config::OutboxConfig;
use crate::store::{OutboxEntry, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// Entries one destination delivers at once (each from a different channel, so order holds).
const CONCURRENCY: usize = 8;
/// How long a shutdown lets a running delivery finish before it is cut off and its claim returned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs one delivery loop per adapter until `shutdown` turns true.
pub async fn run(
    engine: Engine,
    deliverers: Vec<Arc<dyn Deliverer>>,
    config: OutboxConfig,
    shutdown: watch::Receiver<bool>,
) {
    let mut loops = JoinSet::new();
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
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        wake.borrow_and_update();
        let free = CONCURRENCY.saturating_sub(running.len());
        let mut claimed = 0;
        if free > 0 {
            match claim(&engine, deliverer.as_ref(), &config, free).await {
                Ok(batch) => {
                    claimed = batch.len();
                    for entry in batch {
                        let (engine, deliverer) = (engine.clone(), deliverer.clone());
                        let (config, shutdown) = (config.clone(), shutdown.clone());
                        running.spawn(async move {
                            let span = tracing::info_span!("outbox.deliver", id = entry.id,
                                destination = %entry.destination, action = %entry.action,
                                attempts = entry.attempts);
                            let done =
                                deliver_one(&engine, deliverer.as_ref(), &config, entry, shutdown)
                                    .instrument(span)
                                    .await;
                            if let Err(e) = done {
                                tracing::warn!(error = %e, "could not record an outbox delivery");
                            }
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(destination = deliverer.destination(), error = %e, "outbox claim failed");
                }
            }
        }
        if claimed > 0 && running.len() < CONCURRENCY {
            continue;
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = wake.changed(), if running.len() < CONCURRENCY => {}
            _ = tokio::time::sleep(idle), if running.len() < CONCURRENCY => {}
            _ = shutdown.changed() => {}
        }
    }
    // Running deliveries finish (or are cut off after a grace and give their claims back).
    while running.join_next().await.is_some() {}
}

async fn claim(
    engine: &Engine,
    deliverer: &dyn Deliverer,
    config: &OutboxConfig,
    limit: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    engine
        .store()
        .claim_outbox(
            deliverer.destination(),
            engine.now(),
            lease(config),
            i64::try_from(limit).unwrap_or(1),
        )
        .await
}

/// Claims and delivers one batch in place (tests and tools); returns how many entries it handled.
pub async fn drain_once(
    engine: &Engine,
    deliverer: &dyn Deliverer,
    config: &OutboxConfig,
) -> Result<usize, StoreError> {
    let batch = claim(engine, deliverer, config, 32).await?;
    let n = batch.len();
    let (_keep, shutdown) = watch::channel(false);
    for entry in batch {
        deliver_one(engine, deliverer, config, entry, shutdown.clone()).await?;
    }
    Ok(n)
}

fn lease(config: &OutboxConfig) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(config.lease_secs.max(1)).unwrap_or(30))
}

/// How the delivery of one claimed entry ended.
enum Ran {
    Finished(Outcome),
    /// The claim went to another worker while the delivery ran (heartbeat refused).
    LostClaim,
    /// Shutdown cut the delivery off; its claim was returned.
    CutOff,
}

async fn deliver_one(
    engine: &Engine,
    deliverer: &dyn Deliverer,
    config: &OutboxConfig,
    mut entry: OutboxEntry,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let store = engine.store();
    let token = entry.claim_token.clone().unwrap_or_default();
    if *shutdown.borrow() {
        store.release_outbox_claim(entry.id, &token).await?;
        return Ok(());
    }
    let Some(starts) = store
        .start_outbox_delivery(entry.id, &token, engine.now() + lease(config))
        .await?
    else {
        stale(&entry, "start");
        return Ok(());
    };
    entry.starts = starts;
    let ran = {
        let delivery = deliverer.deliver(&entry);
        tokio::pin!(delivery);
        let beat = Duration::from_millis((config.lease_secs.max(1) * 1000 / 3).max(100));
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        let cut_off = async {
            let _ = shutdown.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::pin!(cut_off);
        loop {
            tokio::select! {
                outcome = &mut delivery => break Ran::Finished(outcome),
                _ = heartbeat.tick() => {
                    let until = engine.now() + lease(config);
                    if !store.renew_outbox_claim(entry.id, &token, until).await? {
                        break Ran::LostClaim;
                    }
                }
                _ = &mut cut_off => break Ran::CutOff,
            }
        }
    };
    match ran {
        Ran::Finished(outcome) => apply(engine, config, &entry, &token, outcome).await,
        Ran::LostClaim => {
            stale(&entry, "renew");
            Ok(())
        }
        Ran::CutOff => {
            tracing::info!("shutdown cut a delivery off; its claim is returned");
            store.release_outbox_claim(entry.id, &token).await?;
            Ok(())
        }
    }
}

/// A worker whose claim was taken over: its result is discarded, never recorded.
fn stale(entry: &OutboxEntry, at: &'static str) {
    tracing::warn!(
        id = entry.id,
        at,
        "outbox claim lost to another worker; this worker's result is discarded"
    );
    metrics::counter!("warroom_outbox_stale_total", "destination" => entry.destination.clone())
        .increment(1);
}

/// How the worker settles an entry once its delivery reported back.
enum Settle {
    Complete(Option<serde_json::Value>),
    Retry {
        next: chrono::DateTime<chrono::Utc>,
        reason: String,
        attempted: bool,
    },
    Fail(String),
}

impl Settle {
    fn at(&self) -> &'static str {
        match self {
            Settle::Complete(_) => "complete",
            Settle::Retry {
                attempted: true, ..
            } => "retry",
            Settle::Retry { .. } => "wait",
            Settle::Fail(_) => "fail",
        }
    }
}

async fn apply(
    engine: &Engine,
    config: &OutboxConfig,
    entry: &OutboxEntry,
    token: &str,
    outcome: Outcome,
) -> Result<(), StoreError> {
    let store = engine.store();
    let destination = entry.destination.clone();
    let settle = match outcome.ended {
        Ok(delivered) => Settle::Complete(delivered.result),
        Err(DeliveryError::Retry { reason, after }) => {
            let attempts = entry.attempts + 1;
            let delay = after.unwrap_or_else(|| backoff(config, attempts));
            if attempts == i64::from(config.max_attempts) {
                tracing::warn!(error = %reason, attempts, "delivery keeps failing; it is retried at the capped backoff");
            } else {
                tracing::info!(error = %reason, retry_in_ms = delay.as_millis() as u64, "delivery will be retried");
            }
            Settle::Retry {
                next: engine.now() + to_chrono(delay),
                reason,
                attempted: true,
            }
        }
        Err(DeliveryError::WaitFor(room)) => {
            let waiting = match entry.incident_id {
                Some(id) => store.room_creation_pending(&destination, id).await?,
                None => false,
            };
            if waiting {
                let delay = backoff(config, 1).max(Duration::from_millis(config.poll_interval_ms));
                tracing::info!(%room, "waiting for the room before delivering");
                Settle::Retry {
                    next: engine.now() + to_chrono(delay),
                    reason: format!("waiting for {room}"),
                    attempted: false,
                }
            } else {
                Settle::Fail(format!("{room} does not exist and is not being created"))
            }
        }
        Err(DeliveryError::Permanent(reason)) => Settle::Fail(reason),
    };
    if let Settle::Fail(reason) = &settle {
        tracing::warn!(error = %reason, "delivery failed for good");
    }
    let at = settle.at();
    let held = if outcome.recorded.is_empty() && !matches!(settle, Settle::Fail(_)) {
        // Nothing to write with it: one fenced statement.
        settle_with_store(engine, entry, token, &settle).await?
    } else {
        settle_in_unit(engine, entry, token, &settle, &outcome.recorded).await?
    };
    if !held {
        stale(entry, at);
        return Ok(());
    }
    match settle {
        Settle::Complete(_) => {
            metrics::counter!("warroom_outbox_delivered_total", "destination" => destination)
                .increment(1);
        }
        Settle::Retry {
            attempted: true, ..
        } => {
            metrics::counter!("warroom_outbox_retries_total", "destination" => destination)
                .increment(1);
        }
        Settle::Retry { .. } => {}
        Settle::Fail(reason) => {
            metrics::counter!("warroom_outbox_failed_total", "destination" => destination,
                "reason" => reason_label(&reason))
            .increment(1);
        }
    }
    Ok(())
}

/// Settles the entry in one fenced statement; false when the claim was lost.
async fn settle_with_store(
    engine: &Engine,
    entry: &OutboxEntry,
    token: &str,
    settle: &Settle,
) -> Result<bool, StoreError> {
    let store = engine.store();
    match settle {
        Settle::Complete(result) => {
            store
                .complete_outbox(entry.id, token, result.as_ref(), engine.now())
                .await
        }
        Settle::Retry {
            next,
            reason,
            attempted,
        } => {
            store
                .retry_outbox(entry.id, token, *next, reason, *attempted)
                .await
        }
        Settle::Fail(reason) => {
            store
                .fail_outbox(entry.id, token, reason, engine.now())
                .await
        }
    }
}

/// Settles the entry with the facts its delivery reported (and, for a failure, its
/// `delivery_failed` event) in one unit; a lost claim rolls all of it back (false).
async fn settle_in_unit(
    engine: &Engine,
    entry: &OutboxEntry,
    token: &str,
    settle: &Settle,
    recorded: &[Recorded],
) -> Result<bool, StoreError> {
    let mut unit = Unit::begin(engine.store(), engine.now()).await?;
    // Facts first: they lock the incident before the entry's row, as every use-case does.
    let after = outbox_record::write_in(engine, &mut unit, entry, recorded).await?;
    if let Settle::Fail(reason) = settle {
        outbox_record::delivery_failed_in(engine, &mut unit, entry, reason).await?;
    }
    let now = unit.now();
    let held = match settle {
        Settle::Complete(result) => {
            unit.tx()
                .complete_outbox(entry.id, token, result.as_ref(), now)
                .await?
        }
        Settle::Retry {
            next,
            reason,
            attempted,
        } => {
            unit.tx()
                .retry_outbox(entry.id, token, *next, reason, *attempted)
                .await?
        }
        Settle::Fail(reason) => unit.tx().fail_outbox(entry.id, token, reason, now).await?,
    };
    if !held {
        // Dropped uncommitted: a stale worker's facts are discarded with its result.
        return Ok(false);
    }
    match engine.commit(unit).await {
        Ok(()) => {}
        Err(EngineError::Store(e)) => return Err(e),
        Err(e) => tracing::warn!(error = %e, "after an outbox settlement"),
    }
    after.run(engine).await;
    Ok(true)
}

/// A bounded metric label for a failure: the platform's error code (`invalid_auth`,
/// `channel_not_found` …) when the reason ends with one, else `other`.
pub fn reason_label(reason: &str) -> String {
    let code = reason.rsplit(": ").next().unwrap_or_default().trim();
    let is_code =
        (1..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if is_code {
        code.to_string()
    } else {
        "other".to_string()
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(1))
}

/// Exponential backoff with jitter: initial × 2^(attempt-1), capped at `max_backoff_secs`.
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

    #[test]
    fn the_default_cap_retries_a_chat_post_within_seconds() {
        let c = OutboxConfig::default();
        assert!(backoff(&c, 50).as_millis() <= 12_501);
    }

    #[test]
    fn failure_reasons_become_bounded_labels() {
        assert_eq!(
            reason_label("conversations.create: invalid_auth"),
            "invalid_auth"
        );
        assert_eq!(
            reason_label("chat.postMessage: channel_not_found"),
            "channel_not_found"
        );
        assert_eq!(reason_label("incident 4 does not exist"), "other");
        assert_eq!(reason_label("HTTP 404 Not Found"), "other");
    }
}
