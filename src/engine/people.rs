//! People use-cases: the directory with its guests, platform users resolved to people, and the
//! Slack users linked to people by e-mail (`users.lookupByEmail`, asked only by the outbox worker).

use super::{Clock, Engine, EngineError, Hub, outbound};
use crate::domain::people::{Directory, NotifyRule};
use crate::domain::{Actor, Catalog};
use crate::store::{NewOutbox, Store};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How long a `users.lookupByEmail` answer is trusted before Slack is asked again.
pub const LINK_TTL_HOURS: i64 = 24;

/// The outbox action that links directory people to Slack users by e-mail.
pub const LINK_PEOPLE: &str = "link_people";

/// One person as `GET /api/v1/people` lists them (a directory person or a guest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonView {
    /// The actor id on timelines (`alice`, or `slack:U…` for a guest).
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Platform identities: `slack`, `discord`, `subject`.
    pub identities: BTreeMap<String, String>,
    /// How an identity was found when the catalog does not give it (`{"slack": "email"}`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub linked: BTreeMap<String, String>,
    /// Team ids.
    pub teams: Vec<String>,
    /// Personal notification rules.
    pub notify: Vec<NotifyRule>,
    /// Whether this is a platform user the directory does not know.
    pub guest: bool,
    /// When a guest was first seen acting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// When a guest was last seen acting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// One team as `GET /api/v1/teams` lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamView {
    /// The team id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// The team's e-mail address.
    pub email: Option<String>,
    /// The team's chat channel.
    pub channel: Option<String>,
    /// Member person ids.
    pub members: Vec<String>,
}

/// The people use-cases over the store and the catalog's directory.
pub struct People {
    store: Store,
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    hub: Hub,
    slack: bool,
}

impl Engine {
    /// The people use-cases.
    pub fn people(&self) -> People {
        People {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            hub: self.hub.clone(),
            slack: self.destinations.iter().any(|d| d == outbound::SLACK),
        }
    }
}

impl People {
    /// The directory of the catalog.
    pub fn directory(&self) -> &Directory {
        self.catalog.directory()
    }

    /// Every directory person (with Slack ids linked by e-mail), then every guest.
    pub async fn list(&self) -> Result<Vec<PersonView>, EngineError> {
        let links: BTreeMap<String, String> = self
            .store
            .slack_links()
            .await?
            .into_iter()
            .filter_map(|l| l.user_id.map(|u| (l.email, u)))
            .collect();
        let dir = self.directory();
        let mut out = Vec::with_capacity(dir.len());
        for p in dir.people() {
            let mut identities = BTreeMap::new();
            let mut linked = BTreeMap::new();
            for (k, v) in [
                ("slack", &p.slack),
                ("discord", &p.discord),
                ("subject", &p.subject),
            ] {
                if let Some(v) = v {
                    identities.insert(k.to_string(), v.clone());
                }
            }
            if p.slack.is_none()
                && let Some(u) = p
                    .email
                    .as_deref()
                    .and_then(|e| links.get(&e.to_ascii_lowercase()))
            {
                identities.insert("slack".into(), u.clone());
                linked.insert("slack".into(), "email".into());
            }
            out.push(PersonView {
                id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                timezone: p.timezone.clone(),
                identities,
                linked,
                teams: dir.teams_of(&p.id),
                notify: p.notify.clone(),
                guest: false,
                first_seen: None,
                last_seen: None,
            });
        }
        for g in self.store.guests().await? {
            let actor = self
                .resolve(&g.platform, &g.platform_id, g.name.as_deref())
                .await?;
            if !actor.is_guest() {
                // Since listed in the catalog, or linked by e-mail: a person now.
                continue;
            }
            out.push(PersonView {
                id: actor.id,
                name: g.name,
                email: None,
                timezone: None,
                identities: BTreeMap::from([(g.platform, g.platform_id)]),
                linked: BTreeMap::new(),
                teams: vec![],
                notify: vec![],
                guest: true,
                first_seen: Some(g.first_seen),
                last_seen: Some(g.last_seen),
            });
        }
        Ok(out)
    }

    /// Every team with its members.
    pub fn teams(&self) -> Vec<TeamView> {
        self.directory()
            .teams()
            .map(|t| TeamView {
                id: t.id.clone(),
                name: t.name.clone(),
                email: t.email.clone(),
                channel: t.channel.clone(),
                members: t.members.clone(),
            })
            .collect()
    }

    /// Who a platform user is: the directory person (for Slack also one linked by e-mail), else a guest.
    pub async fn resolve(
        &self,
        platform: &str,
        platform_id: &str,
        name: Option<&str>,
    ) -> Result<Actor, EngineError> {
        let actor = Actor::from_platform(self.directory(), platform, platform_id, name);
        if actor.is_guest()
            && platform == outbound::SLACK
            && let Some(p) = self.linked_slack_person(platform_id).await?
        {
            return Ok(Actor::person(p, platform, Some(platform_id.into())));
        }
        Ok(actor)
    }

    async fn linked_slack_person(
        &self,
        user_id: &str,
    ) -> Result<Option<&crate::domain::people::Person>, EngineError> {
        let Some(email) = self.store.slack_link_email(user_id).await? else {
            return Ok(None);
        };
        Ok(self
            .directory()
            .by_email(&email)
            .filter(|p| p.slack.is_none()))
    }

    /// Records a guest actor as seen now (its own transaction); anyone else is already known.
    /// Use-cases that record an event with `actor.identity()` need not call it: the event records the guest.
    pub async fn seen(&self, actor: &Actor) -> Result<(), EngineError> {
        let (true, Some(id)) = (actor.is_guest(), actor.platform_id.as_deref()) else {
            return Ok(());
        };
        let name = Some(actor.name.as_str()).filter(|n| *n != id);
        self.store
            .see_guest(&actor.platform, id, name, self.clock.now())
            .await?;
        Ok(())
    }

    /// The person id of a Slack user (catalog `slack` id, else linked by e-mail).
    pub async fn slack_person(&self, user_id: &str) -> Result<Option<String>, EngineError> {
        if let Some(p) = self.directory().by_slack(user_id) {
            return Ok(Some(p.id.clone()));
        }
        Ok(self
            .linked_slack_person(user_id)
            .await?
            .map(|p| p.id.clone()))
    }

    /// The Slack user id of a directory person (catalog `slack` id, else linked by e-mail).
    pub async fn person_slack_id(&self, person: &str) -> Result<Option<String>, EngineError> {
        let Some(p) = self.directory().get(person) else {
            return Ok(None);
        };
        if let Some(s) = &p.slack {
            return Ok(Some(s.clone()));
        }
        match &p.email {
            Some(e) => Ok(self.store.slack_link_user(e).await?),
            None => Ok(None),
        }
    }

    /// The e-mail addresses of people without a Slack id whose link is missing or older than a day.
    pub async fn emails_to_link(&self) -> Result<Vec<String>, EngineError> {
        let fresh_after = self.clock.now() - Duration::hours(LINK_TTL_HOURS);
        let checked: BTreeMap<String, DateTime<Utc>> = self
            .store
            .slack_links()
            .await?
            .into_iter()
            .map(|l| (l.email, l.checked_at))
            .collect();
        let mut due: Vec<String> = self
            .directory()
            .people()
            .filter(|p| p.slack.is_none())
            .filter_map(|p| p.email.as_deref().map(str::to_ascii_lowercase))
            .filter(|e| checked.get(e).is_none_or(|t| *t <= fresh_after))
            .collect();
        due.sort();
        due.dedup();
        Ok(due)
    }

    /// Caches one `users.lookupByEmail` answer (`None`: Slack knows no such address).
    pub async fn save_slack_link(
        &self,
        email: &str,
        user_id: Option<&str>,
    ) -> Result<(), EngineError> {
        self.store
            .save_slack_link(email, user_id, self.clock.now())
            .await?;
        Ok(())
    }

    /// Queues a `link_people` entry for the Slack deliverer when people wait to be linked (at start-up);
    /// the idempotency key (day and addresses) keeps restarts from asking Slack twice a day.
    pub async fn schedule_slack_links(&self) -> Result<bool, EngineError> {
        if !self.slack {
            return Ok(false);
        }
        let due = self.emails_to_link().await?;
        if due.is_empty() {
            return Ok(false);
        }
        let now = self.clock.now();
        let digest = Sha256::digest(due.join("\n").as_bytes());
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let entry = NewOutbox {
            destination: outbound::SLACK.into(),
            action: LINK_PEOPLE.into(),
            incident_id: None,
            channel_key: format!("{}:users", outbound::SLACK),
            payload: json!({"people": due.len()}),
            idempotency_key: Some(format!(
                "{}:{LINK_PEOPLE}:{}:{hash}",
                outbound::SLACK,
                now.format("%Y-%m-%d")
            )),
        };
        let mut unit = super::unit::Unit::begin(&self.store, now).await?;
        let queued = unit.enqueue(&entry).await?.is_some();
        unit.commit(Some(&self.hub)).await?;
        Ok(queued)
    }
}
