//! People and teams: who may act, how to reach them, and which platform identities are theirs.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// One person of the directory (`[[person]]` in the catalog file, or a Backstage `User`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Person {
    /// The actor id on timelines (`alice`).
    pub id: String,
    /// Display name (`Alice Ng`).
    pub name: Option<String>,
    /// E-mail address (links Slack users by `users.lookupByEmail`, matches sign-in e-mails).
    pub email: Option<String>,
    /// IANA time zone (`Europe/Berlin`).
    pub timezone: Option<String>,
    /// Slack user id (`U0123ABCD`).
    #[serde(deserialize_with = "id_string")]
    pub slack: Option<String>,
    /// Discord user id (a snowflake, given as a number or a string).
    #[serde(deserialize_with = "id_string")]
    pub discord: Option<String>,
    /// The OpenID Connect subject (`sub`) this person signs in as.
    #[serde(deserialize_with = "id_string")]
    pub subject: Option<String>,
    /// The `oncall.webhooks.<name>` gateway (SMS/phone) that reaches this person.
    pub webhook: Option<String>,
    /// The phone number or address the webhook gateway is given.
    pub phone: Option<String>,
    /// Personal notification rules: how and when a page reaches this person.
    pub notify: Vec<NotifyRule>,
}

/// One personal notification rule: `{ via = "dm", after = "0m" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyRule {
    /// `dm` (chat direct message), `webhook` (SMS/phone gateway), `web` (board notification) or `email`.
    pub via: String,
    /// How long after the page this rule fires while unacknowledged (humantime, `2m`).
    pub after: String,
}

/// One team (`[[team]]`, or a Backstage `Group`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Team {
    /// The team id (`payments`), as services name it in `owner`.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Member person ids.
    pub members: Vec<String>,
    /// The team's chat channel.
    pub channel: Option<String>,
    /// The team's e-mail address.
    pub email: Option<String>,
}

/// A directory entry that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    /// A person or team without an id.
    #[error("a {0} has no id")]
    Unnamed(&'static str),
    /// An id with characters that cannot stand in a command or a URL.
    #[error("{kind} id `{id}`: use letters, digits, `.`, `_` or `-`")]
    BadId {
        /// `person` or `team`.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// Two entries share an id.
    #[error("{kind} `{id}` is defined twice")]
    Duplicate {
        /// `person` or `team`.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A team lists somebody the directory does not know.
    #[error("team `{team}`: member `{member}` is not a [[person]]")]
    UnknownMember {
        /// The team.
        team: String,
        /// The unknown member.
        member: String,
    },
    /// Two people claim the same platform identity.
    #[error("{platform} id `{id}` belongs to both `{first}` and `{second}`")]
    SharedIdentity {
        /// `slack`, `discord`, `subject` or `email`.
        platform: &'static str,
        /// The identity.
        id: String,
        /// One person.
        first: String,
        /// The other.
        second: String,
    },
}

/// Every known person and team.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Directory {
    people: BTreeMap<String, Person>,
    teams: BTreeMap<String, Team>,
}

/// Whether `id` can be a person or team id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Directory {
    /// Builds a directory, refusing nameless or duplicate entries, unknown members and shared identities.
    pub fn new(people: Vec<Person>, teams: Vec<Team>) -> Result<Directory, PeopleError> {
        let mut by_id = BTreeMap::new();
        for p in people {
            check_id("person", &p.id)?;
            if by_id.contains_key(&p.id) {
                return Err(PeopleError::Duplicate {
                    kind: "person",
                    id: p.id,
                });
            }
            by_id.insert(p.id.clone(), p);
        }
        let mut team_map = BTreeMap::new();
        for t in teams {
            check_id("team", &t.id)?;
            if team_map.contains_key(&t.id) {
                return Err(PeopleError::Duplicate {
                    kind: "team",
                    id: t.id,
                });
            }
            if let Some(m) = t.members.iter().find(|m| !by_id.contains_key(*m)) {
                return Err(PeopleError::UnknownMember {
                    team: t.id.clone(),
                    member: m.clone(),
                });
            }
            team_map.insert(t.id.clone(), t);
        }
        let dir = Directory {
            people: by_id,
            teams: team_map,
        };
        dir.check_identities()?;
        Ok(dir)
    }

    fn check_identities(&self) -> Result<(), PeopleError> {
        type Field = fn(&Person) -> Option<String>;
        let fields: [(&'static str, Field); 4] = [
            ("slack", |p| p.slack.clone()),
            ("discord", |p| p.discord.clone()),
            ("subject", |p| p.subject.clone()),
            ("email", |p| {
                p.email.as_ref().map(|e| e.to_ascii_lowercase())
            }),
        ];
        for (platform, field) in fields {
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            for p in self.people.values() {
                let Some(id) = field(p) else { continue };
                if let Some(first) = seen.insert(id.clone(), &p.id) {
                    return Err(PeopleError::SharedIdentity {
                        platform,
                        id,
                        first: first.to_string(),
                        second: p.id.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// One person by id.
    pub fn get(&self, id: &str) -> Option<&Person> {
        self.people.get(id)
    }

    /// One team by id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.get(id)
    }

    /// Every person, by id.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    /// Every team, by id.
    pub fn teams(&self) -> impl Iterator<Item = &Team> {
        self.teams.values()
    }

    /// The ids of the teams `person` is a member of.
    pub fn teams_of(&self, person: &str) -> Vec<String> {
        self.teams
            .values()
            .filter(|t| t.members.iter().any(|m| m == person))
            .map(|t| t.id.clone())
            .collect()
    }

    /// The person with Slack user id `user`.
    pub fn by_slack(&self, user: &str) -> Option<&Person> {
        self.people
            .values()
            .find(|p| p.slack.as_deref() == Some(user))
    }

    /// The person with Discord user id `user`.
    pub fn by_discord(&self, user: &str) -> Option<&Person> {
        self.people
            .values()
            .find(|p| p.discord.as_deref() == Some(user))
    }

    /// The person who signs in as OpenID subject `subject`.
    pub fn by_subject(&self, subject: &str) -> Option<&Person> {
        self.people
            .values()
            .find(|p| p.subject.as_deref() == Some(subject))
    }

    /// The person with e-mail `email` (case-insensitive).
    pub fn by_email(&self, email: &str) -> Option<&Person> {
        self.people.values().find(|p| {
            p.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    /// How many people there are.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    /// Whether no person is known.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }
}

fn check_id(kind: &'static str, id: &str) -> Result<(), PeopleError> {
    if id.trim().is_empty() {
        return Err(PeopleError::Unnamed(kind));
    }
    if !valid_id(id) {
        return Err(PeopleError::BadId {
            kind,
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Accepts an id given as a string or a number (TOML or environment): `112233445566778899` → `"112233445566778899"`.
pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrNum {
        Str(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Option::<StrOrNum>::deserialize(d)? {
        None => None,
        Some(StrOrNum::Str(s)) => Some(s),
        Some(StrOrNum::Unsigned(n)) => Some(n.to_string()),
        Some(StrOrNum::Signed(n)) => Some(n.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str) -> Person {
        Person {
            id: id.into(),
            ..Person::default()
        }
    }

    #[test]
    fn lookups_by_every_identity() {
        let alice = Person {
            slack: Some("U1".into()),
            discord: Some("112233445566778899".into()),
            subject: Some("sub-1".into()),
            email: Some("Alice@Example.com".into()),
            ..person("alice")
        };
        let team = Team {
            id: "payments".into(),
            members: vec!["alice".into(), "bob".into()],
            ..Team::default()
        };
        let d = Directory::new(vec![alice, person("bob")], vec![team]).unwrap();
        assert_eq!(d.by_slack("U1").unwrap().id, "alice");
        assert_eq!(d.by_discord("112233445566778899").unwrap().id, "alice");
        assert_eq!(d.by_subject("sub-1").unwrap().id, "alice");
        assert_eq!(d.by_email("alice@example.COM").unwrap().id, "alice");
        assert_eq!(d.teams_of("bob"), vec!["payments".to_string()]);
        assert!(d.by_slack("U2").is_none());
    }

    #[test]
    fn refuses_what_does_not_hold_together() {
        let dup = Directory::new(vec![person("a"), person("a")], vec![]).unwrap_err();
        assert_eq!(dup.to_string(), "person `a` is defined twice");
        let team = Team {
            id: "t".into(),
            members: vec!["ghost".into()],
            ..Team::default()
        };
        let unknown = Directory::new(vec![person("a")], vec![team]).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "team `t`: member `ghost` is not a [[person]]"
        );
        let bad = Directory::new(vec![person("a b")], vec![]).unwrap_err();
        assert!(matches!(bad, PeopleError::BadId { .. }));
        let shared = Directory::new(
            vec![
                Person {
                    slack: Some("U1".into()),
                    ..person("a")
                },
                Person {
                    slack: Some("U1".into()),
                    ..person("b")
                },
            ],
            vec![],
        )
        .unwrap_err();
        assert_eq!(
            shared.to_string(),
            "slack id `U1` belongs to both `a` and `b`"
        );
    }

    #[test]
    fn numeric_ids_are_strings() {
        let p: Person =
            toml::from_str("id = \"alice\"\ndiscord = 112233445566778899\nslack = \"U1\"\n")
                .unwrap();
        assert_eq!(p.discord.as_deref(), Some("112233445566778899"));
    }
}
