//! Use-cases: everything that changes an incident goes through here, through the store, in one transaction.

pub mod alert_dispatch;
mod alerts;
mod authorize;
mod change_commands;
mod change_report;
mod changes;
mod chat;
mod clock;
mod commands;
pub mod console;
mod correlate;
mod deferred;
mod delivery_context;
pub mod discord_gateway;
pub mod discord_rooms;
mod errors;
mod escalation;
pub mod heartbeats;
mod hook_request;
mod hub;
mod incidents;
mod insights;
pub mod jobs;
pub mod oncall;
mod oncall_chat;
pub mod outbound;
pub mod outbox_ops;
mod outbox_record;
pub mod outbox_worker;
mod page_ack;
pub mod paging;
pub mod people;
mod postmortem;
mod postmortem_review;
pub use postmortem_review::{ActionEdit, MAX_SECTION_LEN};
pub mod rate_limit;
mod reads;
mod reminders;
mod replies;
mod reports;
pub mod rollback;
mod signin;
mod status_page;
pub mod tokens;
mod unit;

pub use alerts::{AlertsRuntime, Ingested};
pub use changes::{GateAnswer, GateOverride, Recorded, Unfreeze};
pub use chat::{InboundMessage, MessageChange};
pub use clock::{Clock, SystemClock};
pub use commands::{CommandContext, Reply, Visibility};
pub use deferred::{AnswerFacts, Deferral, FollowUp, Render};
pub use errors::EngineError;
pub use hook_request::{
    HookRequest, check_header_value, public_url, render_headers, render_request,
};
pub use hub::Hub;
pub use incidents::{Applied, Declare, Patch};
pub use page_ack::CallbackError;
pub use people::{People, PersonView, TeamView};
pub use signin::{AccountSaved, SignIn, SignInError, Started, WebSession, local_path};

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
    policy: Arc<crate::domain::policy::Policy>,
    inline_follow_ups: bool,
    oidc_discovery: Arc<crate::signin::discovery::Discovery>,
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
        let policy = Arc::new(config.permission_policy());
        let ttl = config.auth.oidc.discovery_ttl_secs.map_or(
            crate::signin::discovery::DEFAULT_TTL,
            std::time::Duration::from_secs,
        );
        let oidc_discovery = Arc::new(crate::signin::discovery::Discovery::new(
            ttl,
            crate::signin::discovery::KEY_REFRESH_MIN,
        ));
        Engine {
            oidc_discovery,
            policy,
            alerts,
            store,
            clock,
            hub,
            destinations: Arc::new(destinations),
            config,
            catalog,
            inline_follow_ups: true,
        }
    }

    /// This engine, leaving the follow-up jobs its use-cases enqueue (correlation, postmortem drafts)
    /// to the jobs worker instead of running them right after the commit: requests answer sooner, and
    /// a process that stops after a commit shows that the follow-ups are durable.
    pub fn with_follow_ups_in_worker(mut self) -> Engine {
        self.inline_follow_ups = false;
        self
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
