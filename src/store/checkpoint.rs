//! The SQLite WAL checkpointer: copies committed pages from the write-ahead log into the database file
//! in the background, so that the one write connection does not stop to do it (and `fsync`) itself.

use super::{Backend, Store, StoreResult};
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How often the checkpointer runs.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// What one passive checkpoint found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalCheckpoint {
    /// Pages in the write-ahead log.
    pub log_pages: i64,
    /// Of those, pages now copied into the database file.
    pub checkpointed_pages: i64,
}

impl Store {
    /// Runs a passive checkpoint on a read connection (it never waits for the writer or readers and
    /// copies what it can); `None` on PostgreSQL, which checkpoints itself.
    pub async fn checkpoint(&self) -> StoreResult<Option<WalCheckpoint>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let (_busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.read)
            .await?;
        Ok(Some(WalCheckpoint {
            log_pages: log,
            checkpointed_pages: done,
        }))
    }
}

/// Checkpoints every `every` until shutdown (SQLite only; returns at once on PostgreSQL).
pub async fn run(store: Store, every: Duration, mut shutdown: watch::Receiver<bool>) {
    if store.backend() != Backend::Sqlite {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let checkpoint = store
            .checkpoint()
            .instrument(tracing::debug_span!("wal_checkpoint"));
        match checkpoint.await {
            Ok(Some(c)) if c.log_pages > 0 => {
                tracing::trace!(
                    log_pages = c.log_pages,
                    checkpointed = c.checkpointed_pages,
                    "checkpointed"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "WAL checkpoint failed; the writer checkpoints itself at 16,384 pages")
            }
        }
    }
}
