//! Wakes live views (the web war room's stream) when an incident's timeline or room changes.

use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// In-process notifications: "incident N changed". Views re-read the store, so a missed
/// notification only delays an update, and replicas on one PostgreSQL still converge by polling.
#[derive(Clone, Debug)]
pub struct Hub {
    tx: broadcast::Sender<i64>,
    outbox: Arc<watch::Sender<u64>>,
    jobs: Arc<watch::Sender<u64>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(1024).0,
            outbox: Arc::new(watch::channel(0).0),
            jobs: Arc::new(watch::channel(0).0),
        }
    }
}

impl Hub {
    /// Announces that incident `id` has something new.
    pub fn notify(&self, id: i64) {
        let _ = self.tx.send(id);
        self.outbox.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes outbox workers at once when new entries were committed.
    pub(crate) fn outbox_wakeup(&self) -> watch::Receiver<u64> {
        self.outbox.subscribe()
    }

    /// Wakes the jobs worker at once when follow-up jobs were committed.
    pub(crate) fn jobs_wakeup(&self) {
        self.jobs.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What the jobs worker waits on between ticks.
    pub(crate) fn jobs_woken(&self) -> watch::Receiver<u64> {
        self.jobs.subscribe()
    }

    /// Listens for changes.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.tx.subscribe()
    }
}
