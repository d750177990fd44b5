//! Who is acting: always a person id, with the platform identity it came through.

use super::people::{Directory, Person};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What kind of actor this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person of the directory (or a local account).
    Person,
    /// A platform user the directory does not know: recorded, marked, and granted only the guest defaults.
    Guest,
    /// A service account (an API token that belongs to no person).
    Service,
    /// warroom itself (alert dispatch, schedulers, auto-resolve).
    System,
}

/// The actor of a use-case: permission checks and timelines use `id`, never a name the caller typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The person id (`alice`), a guest id (`slack:U0123`), a service account or `warroom`.
    pub id: String,
    /// The name to show.
    pub name: String,
    /// Person, guest, service or system.
    pub kind: ActorKind,
    /// Where the action came from (`web`, `slack`, `discord`, `api`, `cli`, `system`).
    pub platform: String,
    /// The platform's own user id (Slack `U…`, Discord snowflake, OIDC subject), kept in event data.
    pub platform_id: Option<String>,
}

/// The actor id warroom itself acts as.
pub const SYSTEM_ID: &str = "warroom";

impl Actor {
    /// warroom itself.
    pub fn system() -> Actor {
        Actor {
            id: SYSTEM_ID.into(),
            name: SYSTEM_ID.into(),
            kind: ActorKind::System,
            platform: "system".into(),
            platform_id: None,
        }
    }

    /// A directory person acting through `platform`.
    pub fn person(p: &Person, platform: &str, platform_id: Option<String>) -> Actor {
        Actor {
            id: p.id.clone(),
            name: p.name.clone().unwrap_or_else(|| p.id.clone()),
            kind: ActorKind::Person,
            platform: platform.into(),
            platform_id,
        }
    }

    /// A person id with no directory entry (a local account, a token owner) acting through `platform`.
    pub fn named(id: &str, name: &str, platform: &str) -> Actor {
        Actor {
            id: id.into(),
            name: name.into(),
            kind: ActorKind::Person,
            platform: platform.into(),
            platform_id: None,
        }
    }

    /// An unknown platform user: id `<platform>:<platform id>`, marked as a guest.
    pub fn guest(platform: &str, platform_id: &str, name: Option<&str>) -> Actor {
        Actor {
            id: format!("{platform}:{platform_id}"),
            name: name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(platform_id)
                .to_string(),
            kind: ActorKind::Guest,
            platform: platform.into(),
            platform_id: Some(platform_id.into()),
        }
    }

    /// A service account (a token that belongs to no person).
    pub fn service(id: &str, platform: &str) -> Actor {
        Actor {
            id: id.into(),
            name: id.into(),
            kind: ActorKind::Service,
            platform: platform.into(),
            platform_id: None,
        }
    }

    /// Resolves a platform user through the directory: the person when known, else a guest.
    pub fn from_platform(
        directory: &Directory,
        platform: &str,
        platform_id: &str,
        name: Option<&str>,
    ) -> Actor {
        let found = match platform {
            "slack" => directory.by_slack(platform_id),
            "discord" => directory.by_discord(platform_id),
            "oidc" => directory.by_subject(platform_id),
            _ => None,
        };
        match found {
            Some(p) => Actor::person(p, platform, Some(platform_id.into())),
            None => Actor::guest(platform, platform_id, name),
        }
    }

    /// Whether this is a guest.
    pub fn is_guest(&self) -> bool {
        self.kind == ActorKind::Guest
    }

    /// The identity kept in a timeline event's data: `{"platform", "platform_id"?, "guest"?}`.
    pub fn identity(&self) -> Value {
        let mut v = json!({ "platform": self.platform });
        if let Some(id) = &self.platform_id {
            v["platform_id"] = json!(id);
        }
        if self.is_guest() {
            v["guest"] = json!(true);
        }
        if self.name != self.id {
            v["name"] = json!(self.name);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_users_resolve_to_people_or_guests() {
        let alice = Person {
            id: "alice".into(),
            name: Some("Alice Ng".into()),
            slack: Some("U1".into()),
            ..Person::default()
        };
        let dir = Directory::new(vec![alice], vec![]).unwrap();
        let known = Actor::from_platform(&dir, "slack", "U1", Some("ally"));
        assert_eq!(known.id, "alice");
        assert_eq!(known.kind, ActorKind::Person);
        assert_eq!(known.identity()["platform_id"], "U1");
        let guest = Actor::from_platform(&dir, "slack", "U9", Some("mallory"));
        assert_eq!(guest.id, "slack:U9");
        assert!(guest.is_guest());
        assert_eq!(guest.identity()["guest"], true);
    }
}
