//! Alertmanager-style rules: label matchers, group keys and inhibition (plus catalog-aware inhibition).

use super::alert::Labels;
use super::catalog::Catalog;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// How a matcher compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (anchored regex)
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher in Alertmanager's syntax: `name="value"`, `name!=v`, `name=~"re"`, `name!~re`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or pattern as written.
    pub value: String,
    regex: Option<Regex>,
}

/// A matcher that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid matcher `{text}`: {reason}")]
pub struct MatcherError {
    /// The matcher as written.
    pub text: String,
    /// Why it is refused.
    pub reason: String,
}

impl Matcher {
    /// Parses one matcher.
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let err = |reason: &str| MatcherError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        let pos = t
            .find(['=', '!'])
            .ok_or_else(|| err("expected name=value, name!=value, name=~re or name!~re"))?;
        let name = t[..pos].trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(err("the label name must be letters, digits or `_`"));
        }
        let rest = &t[pos..];
        let (op, raw) = if let Some(r) = rest.strip_prefix("=~") {
            (MatchOp::Regex, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (MatchOp::NotRegex, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (MatchOp::Equal, r)
        } else {
            return Err(err("expected =, !=, =~ or !~ after the label name"));
        };
        let raw = raw.trim();
        let value = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
            raw[1..raw.len() - 1].replace("\\\"", "\"")
        } else {
            raw.to_string()
        };
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$")).map_err(|e| err(&format!("regex: {e}")))?,
            ),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value,
            regex,
        })
    }

    /// Whether the labels satisfy this matcher (a missing label is the empty string, as in Alertmanager).
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            _ => false,
        }
    }
}

/// An inhibition rule as configured (`[[alerts.inhibit_rules]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InhibitRuleSpec {
    /// Matchers a firing alert must satisfy to inhibit.
    pub source_matchers: Vec<String>,
    /// Matchers an alert must satisfy to be inhibited.
    pub target_matchers: Vec<String>,
    /// Labels whose values must be equal in source and target.
    pub equal: Vec<String>,
}

/// A compiled inhibition rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
}

impl InhibitRule {
    /// Compiles a configured rule.
    pub fn compile(spec: &InhibitRuleSpec) -> Result<InhibitRule, MatcherError> {
        let parse = |v: &[String]| -> Result<Vec<Matcher>, MatcherError> {
            v.iter().map(|m| Matcher::parse(m)).collect()
        };
        Ok(InhibitRule {
            source: parse(&spec.source_matchers)?,
            target: parse(&spec.target_matchers)?,
            equal: spec.equal.clone(),
        })
    }

    /// Whether a firing `source` alert inhibits `target` under this rule.
    pub fn inhibits(&self, source: &Labels, target: &Labels) -> bool {
        self.target.iter().all(|m| m.matches(target))
            && self.source.iter().all(|m| m.matches(source))
            && self.equal.iter().all(|l| source.get(l) == target.get(l))
            // An alert that matches both sides cannot inhibit itself (as in Alertmanager).
            && source != target
    }
}

/// A firing alert that may inhibit others.
#[derive(Debug, Clone, PartialEq)]
pub struct FiringRef {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its labels.
    pub labels: Labels,
    /// Its service.
    pub service: Option<String>,
}

/// Why an alert is inhibited: the fingerprint of the alert that inhibits it and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inhibition {
    /// The inhibiting alert.
    pub by: String,
    /// `rule` or `catalog`.
    pub reason: &'static str,
}

/// Whether `target` is inhibited by a firing alert: by a rule, or (when `by_catalog`) because a service it
/// depends on has a firing alert (and the dependency is not mutual).
pub fn inhibition(
    fingerprint: &str,
    labels: &Labels,
    service: Option<&str>,
    firing: &[FiringRef],
    rules: &[InhibitRule],
    catalog: &Catalog,
    by_catalog: bool,
) -> Option<Inhibition> {
    for s in firing.iter().filter(|s| s.fingerprint != fingerprint) {
        if rules.iter().any(|r| r.inhibits(&s.labels, labels)) {
            return Some(Inhibition {
                by: s.fingerprint.clone(),
                reason: "rule",
            });
        }
    }
    let svc = service.filter(|_| by_catalog)?;
    let deps = catalog.dependencies(svc);
    if deps.is_empty() {
        return None;
    }
    firing
        .iter()
        .filter(|s| s.fingerprint != fingerprint)
        .find(|s| {
            s.service.as_deref().is_some_and(|other| {
                other != svc && deps.contains(other) && !catalog.dependencies(other).contains(svc)
            })
        })
        .map(|s| Inhibition {
            by: s.fingerprint.clone(),
            reason: "catalog",
        })
}

/// The group an alert belongs to: the values of the `group_by` labels, rendered like Alertmanager
/// (`{alertname="X", service="Y"}`); `...` groups by every label.
pub fn group_key(labels: &Labels, group_by: &[String]) -> String {
    let all = group_by.iter().any(|g| g == "...");
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| all || group_by.iter().any(|g| g == *k))
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_parse_alertmanager_syntax() {
        let l = labels(&[("severity", "critical"), ("alertname", "DiskFull")]);
        assert!(Matcher::parse("severity=\"critical\"").unwrap().matches(&l));
        assert!(Matcher::parse("severity = critical").unwrap().matches(&l));
        assert!(Matcher::parse("alertname=~\"Disk.*\"").unwrap().matches(&l));
        assert!(!Matcher::parse("alertname=~\"Disk\"").unwrap().matches(&l));
        assert!(Matcher::parse("team!=\"db\"").unwrap().matches(&l));
        assert!(Matcher::parse("severity!~\"warn.*\"").unwrap().matches(&l));
        assert!(Matcher::parse("nonsense").is_err());
        assert!(Matcher::parse("a=~\"(\"").is_err());
    }

    #[test]
    fn rules_inhibit_targets_with_equal_labels() {
        let rule = InhibitRule::compile(&InhibitRuleSpec {
            source_matchers: vec!["severity=\"critical\"".into()],
            target_matchers: vec!["severity=\"warning\"".into()],
            equal: vec!["cluster".into()],
        })
        .unwrap();
        let src = labels(&[("severity", "critical"), ("cluster", "eu")]);
        assert!(rule.inhibits(&src, &labels(&[("severity", "warning"), ("cluster", "eu")])));
        assert!(!rule.inhibits(&src, &labels(&[("severity", "warning"), ("cluster", "us")])));
        let firing = vec![FiringRef {
            fingerprint: "s".into(),
            labels: src,
            service: None,
        }];
        let t = labels(&[("severity", "warning"), ("cluster", "eu")]);
        let got = inhibition("t", &t, None, &firing, &[rule], &Catalog::default(), true);
        assert_eq!(got.unwrap().by, "s");
    }

    #[test]
    fn a_firing_dependency_inhibits_its_dependents_but_not_the_reverse() {
        let svc = |n: &str, d: &[&str]| Service {
            name: n.into(),
            depends_on: d.iter().map(|s| s.to_string()).collect(),
            ..Service::default()
        };
        let catalog = Catalog::new(vec![svc("api", &["db"]), svc("db", &[])]).unwrap();
        let firing = vec![
            FiringRef {
                fingerprint: "db1".into(),
                labels: Labels::new(),
                service: Some("db".into()),
            },
            FiringRef {
                fingerprint: "api1".into(),
                labels: Labels::new(),
                service: Some("api".into()),
            },
        ];
        let l = Labels::new();
        let api = inhibition("api1", &l, Some("api"), &firing, &[], &catalog, true);
        assert_eq!(
            api,
            Some(Inhibition {
                by: "db1".into(),
                reason: "catalog"
            })
        );
        assert_eq!(
            inhibition("db1", &l, Some("db"), &firing, &[], &catalog, true),
            None
        );
        assert_eq!(
            inhibition("api1", &l, Some("api"), &firing, &[], &catalog, false),
            None
        );
    }

    #[test]
    fn group_keys_follow_group_by() {
        let l = labels(&[("alertname", "X"), ("service", "api"), ("pod", "p1")]);
        let by = vec!["alertname".to_string(), "service".to_string()];
        assert_eq!(group_key(&l, &by), "{alertname=\"X\", service=\"api\"}");
        assert_eq!(group_key(&l, &[]), "{}");
        assert!(group_key(&l, &["...".to_string()]).contains("pod=\"p1\""));
    }
}
