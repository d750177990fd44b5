//! Acknowledging an incident (`/inc ack`, the Acknowledge buttons, the web, the API, a gateway's
//! signed callback): in one transaction the status moves on (detected → declared, declared →
//! triaging), every open page of the incident is acknowledged (which stops its escalation: the
//! chain's timer finds it acknowledged) and the first acknowledgement sets the MTTA milestone.

use super::incidents::Applied;
use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::oncall::paging::{self, SignatureError};
use crate::domain::policy::Action;
use crate::domain::{Actor, EventKind, NewEvent, Status};
use serde_json::json;

/// Why a gateway's callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No such page.
    #[error("page {0} not found")]
    NoPage(i64),
    /// The page was not sent through a configured gateway, so nothing can sign for it.
    #[error("page {0} was not sent through an oncall.webhooks gateway")]
    NoGateway(i64),
    /// The signature or its timestamp is wrong.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The acknowledgement itself failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Acknowledges incident `id` as `actor`; answers that there is nothing to acknowledge when the
    /// incident is past triage and no page of it is open.
    pub async fn acknowledge(&self, id: i64, actor: &Actor) -> Result<Applied, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.acknowledge_in(&mut unit, id, actor).await;
        self.finish(unit, Some((actor, Some(id))), result).await
    }

    /// [`Engine::acknowledge`] inside `unit` (a command's own unit, for `/inc ack`).
    pub(super) async fn acknowledge_in(
        &self,
        unit: &mut Unit,
        id: i64,
        actor: &Actor,
    ) -> Result<Applied, EngineError> {
        let now = unit.now();
        let mut inc = unit.lock(id).await?;
        let audit = self.check(Action::Acknowledge, actor, Some(&inc), None)?;
        let to = match inc.status {
            Status::Detected => Some(Status::Declared),
            Status::Declared => Some(Status::Triaging),
            _ => None,
        };
        let pages = if inc.status.is_open() {
            unit.tx().acknowledge_pages(id, &actor.id, now).await?
        } else {
            Vec::new()
        };
        if to.is_none() && pages.is_empty() {
            return Err(EngineError::Conflict(format!(
                "incident #{id} is {}: it was acknowledged already",
                inc.status
            )));
        }
        let mut events = Vec::new();
        if let Some(to) = to {
            let from = inc.transition(to, now)?;
            events.push(
                NewEvent::new(EventKind::StatusChanged, now, Some(&actor.id))
                    .text(format!(
                        "{} changed the status from {from} to {to}",
                        actor.id
                    ))
                    .data(json!({"from": from, "to": to}))
                    .identified(actor.identity()),
            );
        }
        inc.acknowledge(now);
        for p in &pages {
            let mut data = super::paging::page_data(p);
            data["by"] = json!(actor.id);
            events.push(
                NewEvent::new(EventKind::PageAcknowledged, now, Some(&actor.id))
                    .text(format!(
                        "{} acknowledged the page to {} (level {})",
                        actor.id,
                        super::paging::recipient_label(p),
                        p.level
                    ))
                    .data(data)
                    .identified(actor.identity()),
            );
        }
        let stored = unit.append_all(id, &events).await?;
        unit.save(&inc).await?;
        if let Some(entry) = audit {
            unit.tx().audit(&entry).await?;
        }
        unit.announce(&inc, &stored, self.destinations()).await?;
        if !pages.is_empty() {
            metrics::counter!("warroom_pages_acknowledged_total").increment(pages.len() as u64);
            tracing::info!(incident = id, pages = pages.len(), by = %actor.id, "pages acknowledged");
        }
        Ok(Applied {
            incident: inc,
            events: stored,
        })
    }

    /// Acknowledges page `page`'s incident from its gateway's signed callback
    /// (`X-Warroom-Timestamp`, `X-Warroom-Signature` over `"{timestamp}.{body}"`); the actor is the
    /// paged person, or the gateway itself for a page to a gateway target.
    pub async fn acknowledge_by_callback(
        &self,
        page: i64,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Applied, CallbackError> {
        let p = self
            .store()
            .page(page)
            .await
            .map_err(EngineError::from)?
            .ok_or(CallbackError::NoPage(page))?;
        let directory = self.catalog().directory();
        let person = p.person.as_deref().and_then(|id| directory.get(id));
        let gateway = p
            .webhook
            .clone()
            .or_else(|| person.and_then(|x| x.webhook.clone()))
            .ok_or(CallbackError::NoGateway(page))?;
        let hook = self
            .config()
            .oncall
            .webhooks
            .get(&gateway)
            .ok_or(CallbackError::NoGateway(page))?;
        let window = self.config().oncall.callback_window_secs as i64;
        paging::verify(
            &hook.secret,
            timestamp,
            signature,
            body,
            self.now().timestamp(),
            window,
        )?;
        let actor = match person {
            Some(x) => Actor::person(x, super::paging::WEBHOOK, Some(gateway.clone())),
            None => Actor::service(&format!("webhook:{gateway}"), super::paging::WEBHOOK),
        };
        Ok(self.acknowledge(p.incident_id, &actor).await?)
    }
}
