//! A unit of work: state, timeline and outbox commit together or not at all.

use super::{Backend, NewOutbox, StoreResult, incidents, outbox, people, rooms, timeline};
use crate::domain::{ActionItem, Incident, NewEvent, TimelineEvent};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Transaction;
use sqlx::any::Any;

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl Tx {
    pub(super) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Tx {
        Tx { tx, backend }
    }

    /// The connection, for the store's own modules.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Commits everything written in this transaction.
    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Marks a point this transaction can roll back to without ending ([`Tx::rollback_to`]).
    pub async fn savepoint(&mut self, name: &str) -> StoreResult<()> {
        self.run(&format!("SAVEPOINT {}", savepoint_name(name)))
            .await
    }

    /// Undoes everything written since savepoint `name`, which stays open until released.
    pub async fn rollback_to(&mut self, name: &str) -> StoreResult<()> {
        self.run(&format!("ROLLBACK TO SAVEPOINT {}", savepoint_name(name)))
            .await
    }

    /// Forgets savepoint `name`, keeping what was written since.
    pub async fn release(&mut self, name: &str) -> StoreResult<()> {
        self.run(&format!("RELEASE SAVEPOINT {}", savepoint_name(name)))
            .await
    }

    async fn run(&mut self, sql: &str) -> StoreResult<()> {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Inserts a new incident and returns its id.
    pub async fn insert_incident(&mut self, incident: &Incident) -> StoreResult<i64> {
        incidents::insert(self.conn(), incident).await
    }

    /// Reads an incident and locks it until commit (on PostgreSQL; SQLite has one writer).
    pub async fn incident_for_update(&mut self, id: i64) -> StoreResult<Option<Incident>> {
        let lock = self.backend == Backend::Postgres;
        incidents::get(self.conn(), id, lock).await
    }

    /// Writes an incident's state back.
    pub async fn save_incident(&mut self, incident: &Incident) -> StoreResult<()> {
        incidents::update(self.conn(), incident).await
    }

    /// Appends an event; `None` if its source key was recorded before. An event whose
    /// `data.identity` marks a guest (`Actor::identity()`) records that guest in the same transaction.
    pub async fn append(
        &mut self,
        incident_id: i64,
        event: &NewEvent,
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<Option<TimelineEvent>> {
        let stored = timeline::append(self.conn(), incident_id, event, recorded_at).await?;
        let who = &event.data["identity"];
        if stored.is_some()
            && who["guest"] == true
            && let (Some(platform), Some(id)) =
                (who["platform"].as_str(), who["platform_id"].as_str())
        {
            people::see_guest(self.conn(), platform, id, who["name"].as_str(), recorded_at).await?;
        }
        Ok(stored)
    }

    /// Records (or refreshes) a guest person in this transaction.
    pub async fn see_guest(
        &mut self,
        platform: &str,
        platform_id: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        people::see_guest(self.conn(), platform, platform_id, name, now).await
    }

    /// Writes an outbox entry; `None` if its idempotency key exists.
    pub async fn enqueue(
        &mut self,
        entry: &NewOutbox,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        outbox::enqueue(self.conn(), entry, now).await
    }

    /// Records an inbound natural key; false when seen before.
    pub async fn claim_key(
        &mut self,
        scope: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        rooms::claim_key(self.conn(), scope, key, now).await
    }

    /// Adds an action item and returns its id.
    pub async fn add_action_item(&mut self, item: &ActionItem) -> StoreResult<i64> {
        timeline::add_action_item(self.conn(), item).await
    }
}

/// A savepoint's SQL name: letters, digits and `_` only, so it is safe to splice.
fn savepoint_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("warroom_{clean}")
}
