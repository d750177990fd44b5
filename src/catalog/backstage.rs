//! Backstage `catalog-info.yaml`: `Component` and `System` entities become catalog services,
//! `User` entities people and `Group` entities teams.

use crate::domain::catalog::Service;
use crate::domain::people::{Person, Team};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity {
    kind: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Spec,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    r#type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
}

/// The `spec` of a `User` or `Group`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeopleSpec {
    #[serde(default)]
    profile: Profile,
    /// A user's groups.
    #[serde(default)]
    member_of: Vec<String>,
    /// A group's users.
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// What one Backstage file holds that warroom uses.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Imported {
    /// `Component` and `System` entities.
    pub services: Vec<Service>,
    /// `User` entities (the first of a name wins; the same name in another namespace is skipped).
    pub people: Vec<Person>,
    /// `Group` entities, with members from `spec.members` and every user's `spec.memberOf`.
    pub teams: Vec<Team>,
}

/// `component:default/payments` → `payments`; `group:team-a` → `team-a`.
fn ref_name(r: &str) -> String {
    let no_kind = r.split_once(':').map(|(_, rest)| rest).unwrap_or(r);
    no_kind
        .rsplit_once('/')
        .map(|(_, n)| n)
        .unwrap_or(no_kind)
        .to_string()
}

/// Parses every document of a Backstage catalog file into services only (see [`parse_entities`]).
pub fn parse_backstage(text: &str) -> Result<Vec<Service>, String> {
    Ok(parse_entities(text)?.services)
}

/// Parses every document of a Backstage catalog file; other kinds (API, Resource …) are skipped.
/// Annotations `warroom.io/oncall`, `warroom.io/channel`, `warroom.io/runbook`, `warroom.io/tier`,
/// `warroom.io/slo` fill the fields Backstage has no place for; a link titled or typed `runbook` is the runbook.
/// A `User` may carry `slack.com/user-id` (or `warroom.io/slack`), `warroom.io/discord` and `warroom.io/timezone`.
pub fn parse_entities(text: &str) -> Result<Imported, String> {
    let mut entities = Vec::new();
    let mut people_specs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value = serde_norway::Value::deserialize(doc).map_err(|e| e.to_string())?;
        if value.is_null() {
            continue;
        }
        let entity: Entity = serde_norway::from_value(value.clone()).map_err(|e| e.to_string())?;
        let spec = match entity.kind.as_str() {
            "User" | "Group" => {
                let spec = value.get("spec").cloned().unwrap_or_default();
                if spec.is_null() {
                    PeopleSpec::default()
                } else {
                    serde_norway::from_value(spec)
                        .map_err(|e| format!("{}: {e}", entity.metadata.name))?
                }
            }
            _ => PeopleSpec::default(),
        };
        entities.push(entity);
        people_specs.push(spec);
    }
    let (people, teams) = people_and_teams(&entities, &people_specs);
    Ok(Imported {
        services: services(&entities)?,
        people,
        teams,
    })
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `User` → person, `Group` → team; a name seen twice (another namespace) keeps its first entity.
fn people_and_teams(entities: &[Entity], specs: &[PeopleSpec]) -> (Vec<Person>, Vec<Team>) {
    let mut people: Vec<Person> = Vec::new();
    let mut member_of: Vec<(String, String)> = Vec::new();
    let mut teams: Vec<Team> = Vec::new();
    for (e, spec) in entities.iter().zip(specs) {
        let name = &e.metadata.name;
        let ann = |k: &str| {
            e.metadata
                .annotations
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match e.kind.as_str() {
            "User" if !people.iter().any(|p| &p.id == name) => {
                people.push(Person {
                    id: name.clone(),
                    name: trimmed(&spec.profile.display_name),
                    email: trimmed(&spec.profile.email),
                    timezone: ann("warroom.io/timezone"),
                    slack: ann("slack.com/user-id").or_else(|| ann("warroom.io/slack")),
                    discord: ann("warroom.io/discord"),
                    ..Person::default()
                });
                for g in &spec.member_of {
                    member_of.push((ref_name(g), name.clone()));
                }
            }
            "Group" if !teams.iter().any(|t| &t.id == name) => teams.push(Team {
                id: name.clone(),
                name: trimmed(&spec.profile.display_name),
                members: spec.members.iter().map(|m| ref_name(m)).collect(),
                channel: ann("warroom.io/channel").or_else(|| ann("slack.com/channel")),
                email: trimmed(&spec.profile.email),
            }),
            _ => {}
        }
    }
    for (group, user) in member_of {
        if let Some(t) = teams.iter_mut().find(|t| t.id == group)
            && !t.members.contains(&user)
        {
            t.members.push(user);
        }
    }
    (people, teams)
}

fn services(entities: &[Entity]) -> Result<Vec<Service>, String> {
    let mut services = Vec::new();
    for e in entities
        .iter()
        .filter(|e| e.kind == "Component" || e.kind == "System")
    {
        let ann = |k: &str| e.metadata.annotations.get(k).cloned();
        let runbook = ann("warroom.io/runbook").or_else(|| {
            e.metadata
                .links
                .iter()
                .find(|l| {
                    let is = |s: &Option<String>| {
                        s.as_deref()
                            .is_some_and(|t| t.to_ascii_lowercase().contains("runbook"))
                    };
                    is(&l.title) || is(&l.r#type)
                })
                .map(|l| l.url.clone())
        });
        let mut depends_on: Vec<String> = e.spec.depends_on.iter().map(|d| ref_name(d)).collect();
        if e.kind == "System" {
            // A system depends on the components that belong to it.
            for c in entities.iter().filter(|c| c.kind == "Component") {
                if c.spec.system.as_deref().map(ref_name).as_deref() == Some(&e.metadata.name) {
                    depends_on.push(c.metadata.name.clone());
                }
            }
        }
        let tier = match ann("warroom.io/tier") {
            Some(t) => Some(t.parse::<u8>().map_err(|_| {
                format!("{}: warroom.io/tier `{t}` is not a number", e.metadata.name)
            })?),
            None => None,
        };
        let slo = match ann("warroom.io/slo") {
            Some(t) => Some(t.trim_end_matches('%').parse::<f64>().map_err(|_| {
                format!(
                    "{}: warroom.io/slo `{t}` is not a percentage",
                    e.metadata.name
                )
            })?),
            None => None,
        };
        services.push(Service {
            name: e.metadata.name.clone(),
            owner: e.spec.owner.as_deref().map(ref_name),
            oncall: ann("warroom.io/oncall").or_else(|| ann("pagerduty.com/service-id")),
            escalation: ann("warroom.io/escalation"),
            channel: ann("warroom.io/channel").or_else(|| ann("slack.com/channel")),
            depends_on,
            runbook,
            tier,
            slo,
            description: e.metadata.description.clone(),
        });
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: group:default/commerce
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  description: Takes the money
  annotations:
    warroom.io/oncall: payments-primary
    warroom.io/tier: "1"
    warroom.io/slo: "99.9"
  links:
    - url: https://runbooks.example.com/checkout
      title: Checkout runbook
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: shop
  dependsOn:
    - component:default/payments-db
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: checkout-api
spec:
  type: openapi
"#;

    #[test]
    fn components_and_systems_become_services() {
        let s = parse_backstage(CATALOG).unwrap();
        assert_eq!(s.len(), 2);
        let shop = &s[0];
        assert_eq!(shop.name, "shop");
        assert_eq!(shop.depends_on, ["checkout"]);
        let c = &s[1];
        assert_eq!(c.owner.as_deref(), Some("payments"));
        assert_eq!(c.depends_on, ["payments-db"]);
        assert_eq!(c.oncall.as_deref(), Some("payments-primary"));
        assert_eq!(c.tier, Some(1));
        assert_eq!(c.slo, Some(99.9));
        assert_eq!(
            c.runbook.as_deref(),
            Some("https://runbooks.example.com/checkout")
        );
    }

    #[test]
    fn broken_yaml_is_refused() {
        assert!(parse_backstage("kind: [").is_err());
        assert!(parse_backstage("kind: Component\n").is_err());
    }
}
