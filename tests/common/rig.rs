//! An engine on its own store, with a clock the test sets before each step: for seeding history at
//! chosen instants (incidents opened from alerts, status changes) before the app serves it.

use super::{TestClock, TestDb};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use warroom::config::Config;
use warroom::domain::{Actor, Catalog, EventKind, Incident, NewEvent, NewIncident};
use warroom::engine::{Engine, Hub};
use warroom::store::Store;

/// The engine, the clock it reads and its store.
pub struct Rig {
    /// The engine, with the web room as its only destination.
    pub engine: Engine,
    /// The clock the engine reads.
    pub clock: Arc<TestClock>,
    /// The migrated store.
    pub store: Store,
}

impl Rig {
    /// Connects to `db`, migrates it and builds the engine on `config`, its clock standing at `at`.
    pub async fn new(db: &TestDb, config: &Config, at: DateTime<Utc>) -> Rig {
        let store = Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let clock = TestClock::at(at);
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            Hub::default(),
            vec!["web".into()],
            Arc::new(config.clone()),
            Arc::new(Catalog::default()),
        );
        Rig {
            engine,
            clock,
            store,
        }
    }

    /// The engine, with the clock set to `when`.
    pub fn at(&self, when: DateTime<Utc>) -> &Engine {
        self.clock.set(when);
        &self.engine
    }

    /// Stores `new` as the alert pipeline opens an incident (at its `detected_at`), with a
    /// `detected` event "opened from alerts" carrying `data`; returns its id.
    pub async fn opened_from_alerts(&self, new: NewIncident, data: Value) -> i64 {
        let when = new.detected_at;
        let mut inc = Incident::open(new, when);
        let mut tx = self.store.begin().await.unwrap();
        inc.id = tx.insert_incident(&inc).await.unwrap();
        let event = NewEvent::new(EventKind::Detected, when, None)
            .text("opened from alerts")
            .data(data);
        tx.append(inc.id, &event, when).await.unwrap();
        tx.commit().await.unwrap();
        inc.id
    }

    /// Moves incident `id` to status `to` at `when`, as the incident manager `ic`.
    pub async fn status(&self, id: i64, when: DateTime<Utc>, to: &str) {
        self.at(when)
            .set_status(id, to.parse().unwrap(), &Actor::named("ic", "ic", "api"))
            .await
            .unwrap();
    }
}
