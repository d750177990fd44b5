//! Narrow read use-cases for the adapters: `http/` and `chat/` read through these, never the store.

use super::{Engine, EngineError};
use crate::domain::change::Change;
use crate::domain::gate::Freeze;
use crate::domain::{ActionItem, Incident, Status, TimelineEvent};
use crate::store::{
    AlertFilter, AlertGroup, AlertRecord, ChangeEvent, ChangeFilter, IncidentFilter,
    SlackMessageRef,
};

impl Engine {
    /// Incidents matching `filter`, newest first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, EngineError> {
        Ok(self.store.incidents(filter).await?)
    }

    /// Incident `id`, or `NotFound`.
    pub async fn incident(&self, id: i64) -> Result<Incident, EngineError> {
        self.store
            .incident(id)
            .await?
            .ok_or(EngineError::NotFound(id))
    }

    /// Incident `id`'s action items.
    pub async fn action_items(&self, id: i64) -> Result<Vec<ActionItem>, EngineError> {
        Ok(self.store.action_items(id).await?)
    }

    /// A page of incident `id`'s timeline after event `after` (`NotFound` if there is no such incident).
    pub async fn timeline_page(
        &self,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TimelineEvent>, EngineError> {
        self.incident(id).await?;
        Ok(self.store.timeline(id, after, limit).await?)
    }

    /// Changes matching `filter`.
    pub async fn changes(&self, filter: &ChangeFilter) -> Result<Vec<Change>, EngineError> {
        Ok(self.store.changes(filter).await?)
    }

    /// Change `id` with its history, if it exists.
    pub async fn change_with_history(
        &self,
        id: i64,
    ) -> Result<Option<(Change, Vec<ChangeEvent>)>, EngineError> {
        let Some(change) = self.store.change(id).await? else {
            return Ok(None);
        };
        Ok(Some((change, self.store.change_events(id).await?)))
    }

    /// The freezes in force now.
    pub async fn active_freezes(&self) -> Result<Vec<Freeze>, EngineError> {
        Ok(self.store.active_freezes(self.now()).await?)
    }

    /// Alerts matching `filter`.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>, EngineError> {
        Ok(self.store.alerts(filter).await?)
    }

    /// Alert groups with their incident and timers, at most `limit`.
    pub async fn alert_groups(&self, limit: i64) -> Result<Vec<AlertGroup>, EngineError> {
        Ok(self.store.alert_groups(limit).await?)
    }

    /// Open incidents by service: `(service, incident id)`.
    pub async fn open_incidents_by_service(&self) -> Result<Vec<(String, i64)>, EngineError> {
        Ok(self.store.open_incidents_by_service().await?)
    }

    /// Incidents per status (for `/metrics`).
    pub async fn incident_counts(&self) -> Result<Vec<(Status, i64)>, EngineError> {
        Ok(self.store.incident_counts_by_status().await?)
    }

    /// Whether the database answers (`Err`) and every migration is applied (`Ok(false)` if not).
    pub async fn readiness(&self) -> Result<bool, crate::store::StoreError> {
        self.store.ping().await?;
        self.store.migrations_applied().await
    }

    /// The incident whose war room is `room` on `platform`.
    pub async fn incident_of_room(
        &self,
        platform: &str,
        room: &str,
    ) -> Result<Option<i64>, EngineError> {
        Ok(self.store.incident_of_room(platform, room).await?)
    }

    /// The timeline event that recorded Slack message `ts` in `channel`, if it was recorded.
    pub async fn slack_message_event(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        match self.store.slack_message(channel, ts).await? {
            Some(SlackMessageRef { event_id, .. }) => {
                Ok(self.store.timeline_event(event_id).await?)
            }
            None => Ok(None),
        }
    }

    /// The id of the timeline event that recorded Slack message `ts` in `channel`.
    pub async fn slack_message_id(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<i64>, EngineError> {
        Ok(self
            .store
            .slack_message(channel, ts)
            .await?
            .map(|r| r.event_id))
    }

    /// The cached display name of a Slack user.
    pub async fn slack_user_name(&self, user_id: &str) -> Result<Option<String>, EngineError> {
        Ok(self.store.slack_user_name(user_id).await?)
    }

    /// The Slack user id of a cached display name.
    pub async fn slack_user_id(&self, name: &str) -> Result<Option<String>, EngineError> {
        Ok(self.store.slack_user_id(name).await?)
    }

    /// Remembers (or refreshes) the display name of a Slack user.
    pub async fn save_slack_user(
        &self,
        user_id: &str,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), EngineError> {
        Ok(self.store.save_slack_user(user_id, name, now).await?)
    }
}
