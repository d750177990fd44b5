//! Backstage `catalog-info.yaml`: `Component` and `System` entities become catalog services.

use crate::domain::catalog::Service;
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

/// `component:default/payments` → `payments`; `group:team-a` → `team-a`.
fn ref_name(r: &str) -> String {
    let no_kind = r.split_once(':').map(|(_, rest)| rest).unwrap_or(r);
    no_kind
        .rsplit_once('/')
        .map(|(_, n)| n)
        .unwrap_or(no_kind)
        .to_string()
}

/// Parses every document of a Backstage catalog file; other kinds (API, Resource, Group …) are skipped.
/// Annotations `warroom.io/oncall`, `warroom.io/channel`, `warroom.io/runbook`, `warroom.io/tier`,
/// `warroom.io/slo` fill the fields Backstage has no place for; a link titled or typed `runbook` is the runbook.
pub fn parse_backstage(text: &str) -> Result<Vec<Service>, String> {
    let mut entities = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value = serde_norway::Value::deserialize(doc).map_err(|e| e.to_string())?;
        if value.is_null() {
            continue;
        }
        let entity: Entity = serde_norway::from_value(value).map_err(|e| e.to_string())?;
        entities.push(entity);
    }
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
