//! Platform rate limits shared by replicas: the Chat port's [`SharedRateLimit`] over the database
//! (token buckets for the limits known in advance, blocks for the ones a platform announces).

use super::clock::Clock;
use crate::chat::SharedRateLimit;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Token buckets in the database (one row per platform method, or per channel for posts).
pub struct StoreRateLimit {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl StoreRateLimit {
    /// A limiter drawing on `store`'s buckets, at `clock`'s time.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> StoreRateLimit {
        StoreRateLimit { store, clock }
    }
}

#[async_trait::async_trait]
impl SharedRateLimit for StoreRateLimit {
    async fn reserve(&self, bucket: &str, per_minute: u32, burst: u32) -> Duration {
        match self
            .store
            .reserve_rate_token(bucket, per_minute, burst, self.clock.now())
            .await
        {
            Ok(wait) => wait,
            Err(e) => {
                // The per-process limiter still applies; a database hiccup must not stop delivery.
                tracing::warn!(bucket, error = %e, "shared rate limit unavailable; using the local one");
                Duration::ZERO
            }
        }
    }

    async fn block(&self, bucket: &str, wait: Duration) {
        let until = self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
        if let Err(e) = self.store.block_rate_bucket(bucket, until).await {
            tracing::warn!(bucket, error = %e, "could not share a platform rate limit");
        }
    }

    async fn blocked(&self, bucket: &str, other: &str) -> Duration {
        match self.store.rate_block(bucket, other, self.clock.now()).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(bucket, error = %e, "shared rate limit unavailable; using the local one");
                Duration::ZERO
            }
        }
    }
}
