//! Paging use-cases: an opening incident pages by its service's escalation policy; `/inc page` and
//! the API page a target on demand. Each step of a chain writes its pages, their `page_sent` events,
//! their outbox deliveries (the shared `page_dm` contract) and the escalation timer (a `jobs` row) in
//! the unit of work of the change that caused it. A level that reaches nobody (nobody on call, an
//! empty team) says so on the timeline and the chain goes on to the next level at once.

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::escape::defuse_broadcasts;
use crate::domain::oncall::escalation::Target;
use crate::domain::oncall::paging::{self, Plan, Recipient, StepAt, Via};
use crate::domain::people::Person;
use crate::domain::policy::Action;
use crate::domain::{Actor, EventKind, Incident, NewEvent, TimelineEvent};
use crate::store::{NewOutbox, NewPage, Page};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The job kind of an escalation timer: when it fires unacknowledged, the next level is paged.
pub const ESCALATE: &str = "page_escalate";
/// The job kind of a delayed personal notification (`notify = [{ via, after }]`).
pub const NOTIFY: &str = "page_notify";
/// The outbox action every platform delivers a page with.
pub const PAGE_DM: &str = "page_dm";
/// The webhook (SMS/phone gateway) destination.
pub const WEBHOOK: &str = "webhook";
/// Who pages by policy.
const SYSTEM: &str = "warroom";

/// What one step of a chain wrote.
#[derive(Debug, Default)]
pub(crate) struct StepSent {
    /// The pages it sent.
    pub pages: Vec<Page>,
    /// Their `page_sent` events.
    pub events: Vec<TimelineEvent>,
}

/// The name a page's recipient is shown by (`alice`, `#ops`, `webhook:sms`).
pub fn recipient_label(p: &Page) -> String {
    p.person
        .clone()
        .or_else(|| p.channel.clone())
        .or_else(|| p.webhook.as_ref().map(|w| format!("webhook:{w}")))
        .unwrap_or_else(|| p.target.clone())
}

/// The event data every page event carries (the postmortem reads `user`, `target` and `level`).
pub(crate) fn page_data(p: &Page) -> Value {
    json!({"page": p.id, "user": recipient_label(p), "person": p.person, "target": p.target,
        "level": p.level, "round": p.round, "step": p.step, "policy": p.policy, "chain": p.chain})
}

/// The `reason` of a page event whose level reached nobody.
pub const NOBODY_REACHED: &str = "nobody_reached";

/// The event of a step that reached nobody: `page_escalated` when the chain goes on (`next`),
/// `page_exhausted` when it was the last step.
fn nobody_reached(
    chain: &str,
    plan: &Plan,
    step: usize,
    at: StepAt,
    next: bool,
    (by, now): (&str, DateTime<Utc>),
) -> NewEvent {
    let targets = &plan.levels[at.level].targets;
    let level = at.level + 1;
    let of = plan
        .policy
        .as_deref()
        .map(|p| format!(" of {p}"))
        .unwrap_or_default();
    let (kind, then) = if next {
        (
            EventKind::PageEscalated,
            "escalating to the next level now".to_string(),
        )
    } else {
        (
            EventKind::PageExhausted,
            "the escalation is exhausted".to_string(),
        )
    };
    let text = format!(
        "Level {level}{of} reached nobody ({}: nobody on call, no members, or nobody warroom can reach): {then}",
        targets.join(", ")
    );
    NewEvent::new(kind, now, Some(by)).text(text).data(json!({
        "page": null, "user": null, "person": null, "target": targets.join(", "), "targets": targets,
        "level": level, "round": at.round, "step": step, "policy": plan.policy, "chain": chain,
        "reason": NOBODY_REACHED,
    }))
}

fn store_err(e: super::oncall::OncallError) -> EngineError {
    match e {
        super::oncall::OncallError::Store(s) => EngineError::Store(s),
        other => EngineError::Conflict(other.to_string()),
    }
}

impl Engine {
    /// The chain an opening incident pages by, if it is severe enough and its service names a
    /// policy (or, without one, a schedule).
    pub(crate) fn opening_plan(&self, inc: &Incident) -> Option<(String, Plan)> {
        if !inc.severity.at_least(self.config().oncall.page_at) {
            return None;
        }
        let svc = self.catalog().get(inc.service.as_deref()?)?;
        if let Some(p) = svc
            .escalation
            .as_deref()
            .and_then(|n| self.catalog().escalation(n))
        {
            return Some((format!("policy:{}", p.name), Plan::of_policy(p)));
        }
        let schedule = svc
            .oncall
            .as_deref()
            .filter(|s| self.catalog().schedule(s).is_some())?;
        let target = Target::Schedule(schedule.to_string());
        Some((
            format!("{target}"),
            Plan::single(&target, self.config().oncall.page_wait()),
        ))
    }

    /// Pages by policy for an incident that has just opened, as a step of the unit that opened it.
    pub(crate) async fn page_on_open(
        &self,
        unit: &mut Unit,
        inc: &Incident,
    ) -> Result<Vec<TimelineEvent>, EngineError> {
        let Some((chain, plan)) = self.opening_plan(inc) else {
            return Ok(Vec::new());
        };
        let sent = self.send_step(unit, inc, &chain, &plan, 0, SYSTEM).await?;
        metrics::counter!("warroom_pages_sent_total", "by" => "policy")
            .increment(sent.pages.len() as u64);
        Ok(sent.events)
    }

    /// Who each schedule among `targets` has on call at `now` (overrides applied).
    async fn on_call_of(
        &self,
        targets: &[String],
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
        let mut by = BTreeMap::new();
        for t in targets {
            if let Ok(Target::Schedule(name)) = t.parse::<Target>()
                && self.catalog().schedule(&name).is_some()
            {
                let status = self
                    .oncall_status(Some(&name), now)
                    .await
                    .map_err(store_err)?;
                let people = status.into_iter().flat_map(|s| s.on_call).collect();
                by.insert(name, people);
            }
        }
        Ok(by)
    }

    /// Sends step `step` of a chain: its pages, their events and deliveries, and its escalation timer.
    /// A step that reaches nobody records so (`page_escalated`, or `page_exhausted` after the last
    /// step, with `reason = "nobody_reached"`) and the next step is sent at once.
    pub(crate) async fn send_step(
        &self,
        unit: &mut Unit,
        inc: &Incident,
        chain: &str,
        plan: &Plan,
        step: usize,
        by: &str,
    ) -> Result<StepSent, EngineError> {
        let now = unit.now();
        let mut sent = StepSent::default();
        let mut step = step;
        while let Some(at) = plan.at(step) {
            let level = &plan.levels[at.level];
            let oncall = self.on_call_of(&level.targets, now).await?;
            let directory = self.catalog().directory();
            let recipients = paging::recipients(&level.targets, directory, &|s| {
                oncall.get(s).cloned().unwrap_or_default()
            });
            if recipients.is_empty() {
                let next = plan.at(step + 1).is_some();
                tracing::warn!(
                    incident = inc.id,
                    chain,
                    step,
                    next,
                    "nobody to page at this level"
                );
                let event = nobody_reached(chain, plan, step, at, next, (by, now));
                sent.events.extend(unit.append(inc.id, &event).await?);
                if !next {
                    metrics::counter!("warroom_page_chains_exhausted_total").increment(1);
                    break;
                }
                step += 1;
                continue;
            }
            for (target, r) in &recipients {
                let (person, channel, webhook) = match r {
                    Recipient::Person(p) => (Some(p.as_str()), None, None),
                    Recipient::Channel(c) => (None, Some(c.as_str()), None),
                    Recipient::Webhook(w) => (None, None, Some(w.as_str())),
                };
                let page = unit
                    .tx()
                    .insert_page(
                        &NewPage {
                            incident_id: inc.id,
                            chain,
                            policy: plan.policy.as_deref(),
                            step: step as i64,
                            level: at.level as i64 + 1,
                            round: at.round as i64,
                            target,
                            person,
                            channel,
                            webhook,
                            created_by: by,
                        },
                        now,
                    )
                    .await?;
                let of = plan
                    .policy
                    .as_deref()
                    .map(|p| format!(" of {p}"))
                    .unwrap_or_default();
                let text = format!(
                    "Paged {} ({target}, level {}{of})",
                    recipient_label(&page),
                    page.level
                );
                let event = NewEvent::new(EventKind::PageSent, now, Some(by))
                    .text(text)
                    .data(page_data(&page));
                sent.events.extend(unit.append(inc.id, &event).await?);
                self.deliver_page(unit, inc, &page).await?;
                sent.pages.push(page);
            }
            let wait = Duration::seconds(level.wait_secs.max(0));
            let payload = json!({"incident": inc.id, "chain": chain, "step": step, "plan": plan});
            unit.schedule(
                ESCALATE,
                &format!("{ESCALATE}:{}:{chain}:{step}", inc.id),
                &payload,
                now + wait,
            )
            .await?;
            break;
        }
        Ok(sent)
    }

    /// The link to an incident's web war room, when warroom knows its public URL.
    fn incident_url(&self, id: i64) -> Option<String> {
        self.config()
            .server
            .public_url
            .as_deref()
            .map(|u| format!("{}/incidents/{id}", u.trim_end_matches('/')))
    }

    /// The `page_dm` outbox entry for one destination, as the shared contract words it.
    fn page_entry(
        &self,
        inc: &Incident,
        page: &Page,
        destination: &str,
        user: Option<&str>,
        rule: usize,
        extra: Value,
    ) -> NewOutbox {
        let of = page
            .policy
            .as_deref()
            .map(|p| format!(", level {} of {p}", page.level))
            .unwrap_or_default();
        let service = inc
            .service
            .as_deref()
            .map(|s| format!(" on {s}"))
            .unwrap_or_default();
        let text = defuse_broadcasts(&format!(
            "📟 You are paged for incident #{} ({}){service}: {}{of}. Acknowledge to stop the escalation.",
            inc.id, inc.severity, inc.title
        ));
        let mut payload = json!({"page": page.id, "incident": inc.id, "person": page.person,
            "user": user, "text": text, "title": defuse_broadcasts(&inc.title), "severity": inc.severity,
            "url": self.incident_url(inc.id)});
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        NewOutbox {
            destination: destination.to_string(),
            action: PAGE_DM.into(),
            incident_id: Some(inc.id),
            channel_key: format!("page:{}:{destination}", page.id),
            payload,
            idempotency_key: Some(format!("{destination}:{PAGE_DM}:{}:{rule}", page.id)),
        }
    }

    /// The webhook entry's extra fields: the gateway, the callback and the person's number.
    fn webhook_extra(&self, page: &Page, gateway: &str, phone: Option<&str>) -> Value {
        let ack = self
            .config()
            .server
            .public_url
            .as_deref()
            .map(|u| format!("{}/hooks/pages/{}/ack", u.trim_end_matches('/'), page.id));
        json!({"webhook": gateway, "phone": phone, "ack_url": ack})
    }

    /// The deliveries of one person's page: their notify rules over the platforms they are on.
    fn person_entries(
        &self,
        inc: &Incident,
        page: &Page,
        person: &Person,
    ) -> Vec<(Duration, NewOutbox)> {
        let has = |d: &str| self.destinations().iter().any(|x| x == d);
        let mut out = Vec::new();
        for d in paging::deliveries(person) {
            match d.via {
                Via::Dm => {
                    for (dest, id) in [
                        (outbound::SLACK, person.slack.as_deref()),
                        ("discord", person.discord.as_deref()),
                    ] {
                        if let Some(id) = id
                            && has(dest)
                        {
                            out.push((
                                d.after,
                                self.page_entry(inc, page, dest, Some(id), d.rule, json!({})),
                            ));
                        }
                    }
                }
                Via::Webhook => {
                    if let Some(gw) = person
                        .webhook
                        .as_deref()
                        .filter(|g| self.config().oncall.webhooks.contains_key(*g))
                    {
                        let extra = self.webhook_extra(page, gw, person.phone.as_deref());
                        out.push((
                            d.after,
                            self.page_entry(inc, page, WEBHOOK, None, d.rule, extra),
                        ));
                    }
                }
                Via::Web => out.push((
                    d.after,
                    self.page_entry(inc, page, outbound::WEB, None, d.rule, json!({})),
                )),
            }
        }
        out
    }

    /// Enqueues a page's deliveries now, or schedules the delayed ones as `page_notify` jobs.
    async fn deliver_page(
        &self,
        unit: &mut Unit,
        inc: &Incident,
        page: &Page,
    ) -> Result<(), EngineError> {
        let now = unit.now();
        let directory = self.catalog().directory();
        let entries: Vec<(Duration, NewOutbox)> = if let Some(p) = &page.person {
            match directory.get(p) {
                Some(person) => self.person_entries(inc, page, person),
                None => Vec::new(),
            }
        } else if let Some(c) = &page.channel {
            if self.destinations().iter().any(|d| d == outbound::SLACK) {
                let extra = json!({"channel": c});
                vec![(
                    Duration::zero(),
                    self.page_entry(inc, page, outbound::SLACK, None, 0, extra),
                )]
            } else {
                Vec::new()
            }
        } else if let Some(w) = &page.webhook {
            let extra = self.webhook_extra(page, w, None);
            vec![(
                Duration::zero(),
                self.page_entry(inc, page, WEBHOOK, None, 0, extra),
            )]
        } else {
            Vec::new()
        };
        for (after, entry) in entries {
            if after <= Duration::zero() {
                unit.enqueue(&entry).await?;
                continue;
            }
            let key = entry.idempotency_key.clone().unwrap_or_default();
            let payload = json!({"incident": inc.id, "page": page.id, "entry": {
                "destination": entry.destination, "channel_key": entry.channel_key,
                "payload": entry.payload, "idempotency_key": entry.idempotency_key}});
            unit.schedule(
                NOTIFY,
                &format!("{NOTIFY}:{}:{key}", inc.id),
                &payload,
                now + after,
            )
            .await?;
        }
        Ok(())
    }

    /// The chain an on-demand page follows for `target`: `@user`, `person:ID`, `team:ID`,
    /// `schedule:NAME`, `service:NAME` (its policy, else its schedule, else its owner team),
    /// `channel:NAME`, `webhook:NAME`, or a bare name (a team, service, schedule or person).
    pub(crate) fn plan_for_target(&self, raw: &str) -> Result<(String, Plan), EngineError> {
        let t = raw.trim();
        let bad = |m: String| EngineError::invalid("target", m);
        if t.is_empty() {
            return Err(bad(
                "name whom to page: @user, team:ID, service:NAME or schedule:NAME".into(),
            ));
        }
        let wait = self.config().oncall.page_wait();
        let single = |target: Target| (target.to_string(), Plan::single(&target, wait));
        let catalog = self.catalog();
        let directory = catalog.directory();
        let person_named = |u: &str| {
            let u = u.trim_start_matches('@');
            directory
                .get(u)
                .or_else(|| directory.by_slack(u))
                .or_else(|| directory.by_discord(u))
                .map(|p| p.id.clone())
        };
        if let Some(u) = t.strip_prefix('@') {
            return person_named(u)
                .map(|p| single(Target::Person(p)))
                .ok_or_else(|| bad(format!("`{t}` is not a person of the directory")));
        }
        let service_plan = |name: &str| -> Result<(String, Plan), EngineError> {
            let svc = catalog
                .get(name)
                .ok_or_else(|| bad(format!("no service `{name}` in the catalog")))?;
            if let Some(p) = svc
                .escalation
                .as_deref()
                .and_then(|n| catalog.escalation(n))
            {
                return Ok((format!("policy:{}", p.name), Plan::of_policy(p)));
            }
            if let Some(s) = svc
                .oncall
                .as_deref()
                .filter(|s| catalog.schedule(s).is_some())
            {
                return Ok(single(Target::Schedule(s.to_string())));
            }
            if let Some(team) = svc.owner.as_deref().filter(|o| directory.team(o).is_some()) {
                return Ok(single(Target::Team(team.to_string())));
            }
            Err(bad(format!(
                "service `{name}` has no escalation policy, on-call schedule or owner team to page"
            )))
        };
        if let Some(name) = t.strip_prefix("service:") {
            return service_plan(name.trim());
        }
        if t.contains(':') {
            let target: Target = t.parse().map_err(bad)?;
            let known = match &target {
                Target::Person(id) => directory.get(id).is_some(),
                Target::Team(id) => directory.team(id).is_some(),
                Target::Schedule(n) => catalog.schedule(n).is_some(),
                Target::Channel(_) => true,
                Target::Webhook(n) => self.config().oncall.webhooks.contains_key(n),
            };
            if !known {
                return Err(bad(format!("`{t}` names nothing warroom knows")));
            }
            return Ok(single(target));
        }
        if directory.team(t).is_some() {
            return Ok(single(Target::Team(t.to_string())));
        }
        if catalog.get(t).is_some() {
            return service_plan(t);
        }
        if catalog.schedule(t).is_some() {
            return Ok(single(Target::Schedule(t.to_string())));
        }
        if let Some(p) = person_named(t) {
            return Ok(single(Target::Person(p)));
        }
        Err(bad(format!(
            "`{t}` is not a person, team, service or schedule"
        )))
    }

    /// Pages `target` for incident `id` on demand (`/inc page`, `POST …/pages`); returns the pages.
    pub async fn page(&self, id: i64, target: &str, who: &Actor) -> Result<Vec<Page>, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.page_in(&mut unit, id, target, who).await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::page`] inside `unit` (a command's own unit, for `/inc page`; reminders, heartbeats).
    pub(crate) async fn page_in(
        &self,
        unit: &mut Unit,
        id: i64,
        target: &str,
        who: &Actor,
    ) -> Result<Vec<Page>, EngineError> {
        let (base, plan) = self.plan_for_target(target)?;
        let now = unit.now();
        let chain = format!("{base}@{}", now.timestamp_millis());
        let inc = unit.lock(id).await?;
        let audit = self.check(Action::Respond, who, Some(&inc), Some(base.clone()))?;
        if !inc.status.is_open() {
            return Err(EngineError::Conflict(format!(
                "incident #{id} is {}: nobody is paged for it any more",
                inc.status
            )));
        }
        let sent = self
            .send_step(unit, &inc, &chain, &plan, 0, &who.id)
            .await?;
        if sent.pages.is_empty() {
            return Err(EngineError::Conflict(format!(
                "nobody to page for `{}`: no one is on call or a member",
                target.trim()
            )));
        }
        if let Some(entry) = audit {
            unit.tx().audit(&entry).await?;
        }
        unit.announce(&inc, &sent.events, self.destinations())
            .await?;
        metrics::counter!("warroom_pages_sent_total", "by" => "demand")
            .increment(sent.pages.len() as u64);
        tracing::info!(incident = id, target = %base, pages = sent.pages.len(), "paged on demand");
        Ok(sent.pages)
    }

    /// Every page of incident `id`, oldest first.
    pub async fn pages(&self, id: i64) -> Result<Vec<Page>, EngineError> {
        if self.store().incident(id).await?.is_none() {
            return Err(EngineError::NotFound(id));
        }
        Ok(self.store().pages(id).await?)
    }

    /// The open pages of a person (the web's `/pages`).
    pub async fn open_pages_of(&self, person: &str) -> Result<Vec<Page>, EngineError> {
        Ok(self.store().open_pages_of(person).await?)
    }

    /// One page.
    pub async fn page_by_id(&self, id: i64) -> Result<Option<Page>, EngineError> {
        Ok(self.store().page(id).await?)
    }
}
