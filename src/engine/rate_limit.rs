//! Platform rate limits shared by replicas: the Chat port's [`SharedRateLimit`] over the database.

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
}
