//! Postmortem drafts: built by streaming the timeline, generated and announced on resolve and close
//! (a job the status change enqueues in its own unit of work).

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::postmortem::{Builder, FORMAT_VERSION, Postmortem, Settings};
use crate::domain::{EventKind, NewEvent};
use serde_json::json;

impl Engine {
    /// The draft settings from `[postmortem]`.
    pub fn postmortem_settings(&self) -> Settings {
        let c = &self.config().postmortem;
        Settings {
            time_zone: c.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC),
            silent_gap: chrono::Duration::minutes(c.silent_gap_minutes.max(1)),
            early_alert: chrono::Duration::minutes(c.early_alert_minutes.max(0)),
            max_key_events: c.max_key_events.max(1),
        }
    }

    /// Builds a fresh draft, reading the timeline a page at a time; also returns the last event id read.
    pub async fn build_postmortem(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<(Postmortem, i64), EngineError> {
        let store = self.store();
        let incident = store.incident(id).await?.ok_or(EngineError::NotFound(id))?;
        let page_size = self.config().postmortem.page_size.clamp(100, 10_000);
        let mut builder = Builder::new(&incident, self.postmortem_settings());
        let mut after = 0;
        loop {
            let page = store.timeline(id, after, page_size).await?;
            for event in &page {
                builder.push(event);
            }
            match page.last() {
                Some(last) if page.len() as i64 == page_size => after = last.id,
                _ => break,
            }
        }
        let last = builder.last_event_id();
        let items = store.action_items(id).await?;
        Ok((
            builder.finish(&items, self.catalog(), reason, self.now()),
            last,
        ))
    }

    /// The current draft: the stored one while nothing new happened, else a fresh one.
    pub async fn postmortem(&self, id: i64) -> Result<Postmortem, EngineError> {
        let store = self.store();
        if let Some(stored) = store.postmortem(id).await?
            && stored.postmortem.format_version == FORMAT_VERSION
            && store.last_content_event_id(id).await? <= stored.through_event_id
        {
            return Ok(stored.postmortem);
        }
        Ok(self.build_postmortem(id, "request").await?.0)
    }

    /// [`Engine::generate_postmortem`] as the follow-up job `job` of a move to resolved or closed:
    /// the draft commits with the job's completion.
    pub(super) async fn generate_postmortem_job(
        &self,
        id: i64,
        reason: &str,
        cause: i64,
        job: Option<i64>,
    ) -> Result<Postmortem, EngineError> {
        let (postmortem, through) = self.build_postmortem(id, reason).await?;
        let mut unit = self.unit().await?;
        let result = self
            .store_postmortem(&mut unit, id, reason, cause, &postmortem, through)
            .await;
        if let Some(job) = job {
            unit.complete_job(job).await?;
        }
        self.finish(unit, None, result).await?;
        Ok(postmortem)
    }

    async fn store_postmortem(
        &self,
        unit: &mut Unit,
        id: i64,
        reason: &str,
        cause: i64,
        postmortem: &Postmortem,
        through: i64,
    ) -> Result<(), EngineError> {
        let now = unit.now();
        let incident = unit.lock(id).await?;
        let link = self.postmortem_link(id);
        let event = NewEvent::new(EventKind::Postmortem, now, None)
            .text(format!("Postmortem draft generated on {reason}: {link}"))
            .data(json!({"format_version": FORMAT_VERSION, "generated": reason}))
            .key(format!("postmortem:{id}:{cause}"));
        let Some(stored) = unit.append(id, &event).await? else {
            return Ok(());
        };
        unit.tx().save_postmortem(postmortem, through).await?;
        let text = format!(
            "📝 Postmortem draft for incident #{id} is ready.\n{}\n{link}",
            postmortem.summary
        );
        for d in self.destinations() {
            let key = Some(format!("{d}:postmortem:{}", stored.id));
            unit.enqueue(&outbound::post(&incident, d, &text, key))
                .await?;
        }
        metrics::counter!("warroom_postmortems_generated_total").increment(1);
        tracing::info!(incident = id, reason, "postmortem draft generated");
        Ok(())
    }

    /// The draft's address: `server.public_url` + path when configured, else the path.
    pub(crate) fn postmortem_link(&self, id: i64) -> String {
        let base = self
            .config()
            .server
            .public_url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        format!("{base}/incidents/{id}/postmortem")
    }
}
