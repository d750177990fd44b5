//! Use-cases: everything that changes an incident goes through here, through the store, in one transaction.

pub mod alert_dispatch;
mod alerts;
mod change_commands;
mod change_report;
mod changes;
mod chat;
mod clock;
mod commands;
mod correlate;
mod errors;
mod hub;
mod incidents;
pub mod jobs;
pub mod oncall;
mod oncall_chat;
pub mod outbound;
pub mod outbox_worker;
mod postmortem;
mod replies;
mod reports;
pub mod rollback;

pub use alerts::{AlertsRuntime, Ingested};
pub use changes::{GateAnswer, GateOverride, Recorded};
pub use chat::{InboundMessage, MessageChange};
pub use clock::{Clock, SystemClock};
pub use commands::{CommandContext, Reply, Visibility};
pub use errors::EngineError;
pub use hub::Hub;
pub use incidents::{Declare, Patch};

use crate::config::Config;
use crate::domain::Catalog;
use crate::store::Store;
use std::sync::Arc;

/// The application's use-cases over one store.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    hub: Hub,
    destinations: Arc<Vec<String>>,
    config: Arc<Config>,
    catalog: Arc<Catalog>,
    alerts: AlertsRuntime,
}

impl Engine {
    /// An engine that writes to `store` and delivers to `destinations` (`web` always among them).
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        hub: Hub,
        destinations: Vec<String>,
        config: Arc<Config>,
        catalog: Arc<Catalog>,
    ) -> Engine {
        let alerts = AlertsRuntime::new(&config);
        Engine {
            alerts,
            store,
            clock,
            hub,
            destinations: Arc::new(destinations),
            config,
            catalog,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The service catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The platforms outbound messages go to.
    pub fn destinations(&self) -> &[String] {
        &self.destinations
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The live-update hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// Locks incident `id` in `tx` until commit, or answers that it does not exist.
pub(crate) async fn locked_incident(
    tx: &mut crate::store::Tx,
    id: i64,
) -> Result<crate::domain::Incident, EngineError> {
    tx.incident_for_update(id)
        .await?
        .ok_or(EngineError::NotFound(id))
}
