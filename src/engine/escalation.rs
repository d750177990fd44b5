//! The paging timers (rows of `jobs`, claimed once across replicas): an escalation step whose wait
//! ran out unacknowledged pages the next level (or is exhausted), and a delayed personal
//! notification is delivered only while its page is still unacknowledged. A timer that was due
//! during downtime fires once; the next level then waits its whole wait from that moment.

use super::paging::{ESCALATE, NOTIFY, page_data, recipient_label};
use super::{Engine, EngineError, outbound};
use crate::domain::oncall::paging::{PageStatus, Plan};
use crate::domain::{EventKind, NewEvent};
use crate::store::{Job, NewOutbox};

impl Engine {
    /// Whether `kind` is a paging timer this module runs.
    pub fn is_paging_job(kind: &str) -> bool {
        kind == ESCALATE || kind == NOTIFY
    }

    /// Runs one claimed paging job in one transaction.
    pub async fn run_paging_job(&self, job: &Job) -> Result<(), EngineError> {
        let p = &job.payload;
        let id = p["incident"].as_i64().unwrap_or_default();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let inc = match super::locked_incident(&mut tx, id).await {
            Ok(inc) => inc,
            Err(EngineError::NotFound(_)) => {
                tx.complete_job(job.id, now).await?;
                tx.commit().await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if !tx.take_job(job.id, now).await? {
            // Another replica finished it after this one's lease ran out: nothing to do twice.
            return Ok(());
        }
        let mut events = Vec::new();
        if job.kind == NOTIFY {
            let page = tx
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
                    incident_id: Some(id),
                    channel_key: e["channel_key"].as_str().unwrap_or_default().to_string(),
                    payload: e["payload"].clone(),
                    idempotency_key: e["idempotency_key"].as_str().map(str::to_string),
                };
                tx.enqueue(&entry, now).await?;
                tracing::info!(page = page.id, destination = %entry.destination, "delayed page notification sent");
            }
        } else {
            let chain = p["chain"].as_str().unwrap_or_default().to_string();
            let step = p["step"].as_u64().unwrap_or_default() as usize;
            let plan: Option<Plan> = serde_json::from_value(p["plan"].clone()).ok();
            let acknowledged = tx.chain_acknowledged(id, &chain).await?;
            if let Some(plan) = plan.filter(|_| !acknowledged && inc.status.is_open()) {
                let open = tx.open_pages_at(id, &chain, step as i64).await?;
                let ids: Vec<i64> = open.iter().map(|p| p.id).collect();
                let next = plan.at(step + 1).is_some();
                let (status, kind) = if next {
                    (PageStatus::Escalated, EventKind::PageEscalated)
                } else {
                    (PageStatus::Exhausted, EventKind::PageExhausted)
                };
                for page in tx.close_pages(&ids, status, now).await? {
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
                    events.extend(tx.append(id, &event, now).await?);
                }
                if next {
                    let sent = self
                        .send_step(&mut tx, &inc, &chain, &plan, step + 1, "warroom", now)
                        .await?;
                    metrics::counter!("warroom_pages_sent_total", "by" => "escalation")
                        .increment(sent.pages.len() as u64);
                    events.extend(sent.events);
                } else {
                    metrics::counter!("warroom_page_chains_exhausted_total").increment(1);
                }
            }
        }
        for entry in outbound::for_events(&inc, &events, self.destinations()) {
            tx.enqueue(&entry, now).await?;
        }
        tx.commit().await?;
        self.hub().notify(id);
        Ok(())
    }
}
