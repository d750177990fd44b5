//! The paging timers (rows of `jobs`, claimed once across replicas): an escalation step whose wait
//! ran out unacknowledged pages the next level (or is exhausted), and a delayed personal
//! notification is delivered only while its page is still unacknowledged. A timer that was due
//! during downtime fires once; the next level then waits its whole wait from that moment.

use super::paging::{ESCALATE, NOTIFY, page_data, recipient_label};
use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::oncall::paging::{PageStatus, Plan};
use crate::domain::{EventKind, Incident, NewEvent, TimelineEvent};
use crate::store::{Job, NewOutbox};

impl Engine {
    /// Whether `kind` is a paging timer this module runs.
    pub(crate) fn is_paging_job(kind: &str) -> bool {
        kind == ESCALATE || kind == NOTIFY
    }

    /// Runs one claimed paging job in one unit of work.
    pub(crate) async fn run_paging_job(&self, job: &Job) -> Result<(), EngineError> {
        let id = job.payload["incident"].as_i64().unwrap_or_default();
        let mut unit = self.unit().await?;
        let inc = match unit.lock(id).await {
            Ok(inc) => inc,
            Err(EngineError::NotFound(_)) => {
                unit.complete_job(job.id).await?;
                return self.commit(unit).await;
            }
            Err(e) => return Err(e),
        };
        let now = unit.now();
        if !unit.tx().take_job(job.id, now).await? {
            // Another replica finished it after this one's lease ran out, or the incident ended and
            // cancelled it: nothing to do.
            return Ok(());
        }
        let events = if job.kind == NOTIFY {
            self.notify_step(&mut unit, &inc, job).await?;
            Vec::new()
        } else {
            self.escalate_step(&mut unit, &inc, job).await?
        };
        unit.announce(&inc, &events, self.destinations()).await?;
        self.commit(unit).await
    }

    /// A delayed personal notification: delivered while its page is open and its incident too.
    async fn notify_step(
        &self,
        unit: &mut Unit,
        inc: &Incident,
        job: &Job,
    ) -> Result<(), EngineError> {
        let p = &job.payload;
        let page = unit
            .tx()
            .page_in_tx(p["page"].as_i64().unwrap_or_default())
            .await?;
        let e = &p["entry"];
        if let Some(page) = page
            && page.status == PageStatus::Sent
            && inc.status.is_open()
        {
            let entry = NewOutbox {
                destination: e["destination"].as_str().unwrap_or_default().to_string(),
                action: super::paging::PAGE_DM.into(),
                incident_id: Some(inc.id),
                channel_key: e["channel_key"].as_str().unwrap_or_default().to_string(),
                payload: e["payload"].clone(),
                idempotency_key: e["idempotency_key"].as_str().map(str::to_string),
            };
            unit.enqueue(&entry).await?;
            tracing::info!(page = page.id, destination = %entry.destination, "delayed page notification sent");
        }
        Ok(())
    }

    /// An escalation timer that ran out: the step's open pages escalate (or are exhausted) and the
    /// next step is paged, unless the chain was acknowledged or the incident is over.
    async fn escalate_step(
        &self,
        unit: &mut Unit,
        inc: &Incident,
        job: &Job,
    ) -> Result<Vec<TimelineEvent>, EngineError> {
        let p = &job.payload;
        let (id, now) = (inc.id, unit.now());
        let chain = p["chain"].as_str().unwrap_or_default().to_string();
        let step = p["step"].as_u64().unwrap_or_default() as usize;
        let plan: Option<Plan> = serde_json::from_value(p["plan"].clone()).ok();
        let acknowledged = unit.tx().chain_acknowledged(id, &chain).await?;
        let Some(plan) = plan.filter(|_| !acknowledged && inc.status.is_open()) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        let open = unit.tx().open_pages_at(id, &chain, step as i64).await?;
        let ids: Vec<i64> = open.iter().map(|p| p.id).collect();
        let next = plan.at(step + 1).is_some();
        let (status, kind) = if next {
            (PageStatus::Escalated, EventKind::PageEscalated)
        } else {
            (PageStatus::Exhausted, EventKind::PageExhausted)
        };
        for page in unit.tx().close_pages(&ids, status, now).await? {
            let text = if next {
                format!(
                    "Page to {} was not acknowledged within the wait of level {}: escalating",
                    recipient_label(&page),
                    page.level
                )
            } else {
                format!(
                    "Page to {} was not acknowledged: the escalation is exhausted",
                    recipient_label(&page)
                )
            };
            let event = NewEvent::new(kind, now, Some("warroom"))
                .text(text)
                .data(page_data(&page));
            events.extend(unit.append(id, &event).await?);
        }
        if next {
            let sent = self
                .send_step(unit, inc, &chain, &plan, step + 1, "warroom")
                .await?;
            metrics::counter!("warroom_pages_sent_total", "by" => "escalation")
                .increment(sent.pages.len() as u64);
            events.extend(sent.events);
        } else {
            metrics::counter!("warroom_page_chains_exhausted_total").increment(1);
        }
        Ok(events)
    }
}
