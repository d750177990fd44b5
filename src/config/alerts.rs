//! `[alerts]`: grouping, merge, inhibition, severity mapping and the declare policy.

use super::load::Problem;
use crate::domain::Severity;
use crate::domain::alert::AlertSource;
use crate::domain::alert_policy::{
    AlertPolicy, DeclareAction, DeclareRule, Grade, default_severity_map,
};
use crate::domain::alert_rules::{InhibitRule, InhibitRuleSpec};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One `[[alerts.declare]]` rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclareRuleConfig {
    /// Severities (`P0`…`P3`) it applies to; empty: any.
    pub severity: Vec<String>,
    /// Services it applies to; empty: any.
    pub service: Vec<String>,
    /// `declare`, `detect` or `record`.
    pub action: String,
}

/// `[alerts]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertsConfig {
    /// Labels alerts are grouped by (`...` = every label).
    pub group_by: Vec<String>,
    /// Wait before a new group's first notification (`30s`).
    pub group_wait: String,
    /// Wait between notifications of a group's changes (`5m`).
    pub group_interval: String,
    /// Window joins and resolutions are coalesced in for groups that are not held: grouped by their sender
    /// (Alertmanager, Grafana), declared at once, or with an incident (`500ms`).
    pub coalesce: String,
    /// A re-firing alert is announced again only after this long (`4h`).
    pub repeat_interval: String,
    /// Groups starting within this window of an open related incident join it; `0s` disables merging.
    pub merge_window: String,
    /// Whether services linked by `depends_on` merge (else only the same service).
    pub merge_dependencies: bool,
    /// Whether a firing alert on a service inhibits its dependents' alerts.
    pub catalog_inhibition: bool,
    /// Alertmanager-style inhibition rules.
    pub inhibit_rules: Vec<InhibitRuleSpec>,
    /// Per source (`alertmanager`, `grafana`, `pagerduty`, `native`): severity word → `P0`…`P3` or `record`.
    pub severity: BTreeMap<String, BTreeMap<String, String>>,
    /// Grade of an alert with no or an unknown severity word.
    pub default_severity: String,
    /// Declare-policy rules, first match wins.
    pub declare: Vec<DeclareRuleConfig>,
    /// Action when no declare rule matches.
    pub default_action: String,
    /// Whether an incident resolves itself when all of its alerts resolve (default: a human decides).
    pub auto_resolve: bool,
    /// The label that names the service.
    pub service_label: String,
    /// Most alerts accepted in one request.
    pub max_batch: usize,
    /// How often the dispatcher looks for due groups, in milliseconds.
    pub tick_ms: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            group_by: vec!["alertname".into(), "service".into()],
            group_wait: "30s".into(),
            group_interval: "5m".into(),
            coalesce: "500ms".into(),
            repeat_interval: "4h".into(),
            merge_window: "15m".into(),
            merge_dependencies: true,
            catalog_inhibition: true,
            inhibit_rules: Vec::new(),
            severity: BTreeMap::new(),
            default_severity: "P3".into(),
            declare: vec![DeclareRuleConfig {
                severity: vec!["P0".into(), "P1".into()],
                service: Vec::new(),
                action: "declare".into(),
            }],
            default_action: "detect".into(),
            auto_resolve: false,
            service_label: "service".into(),
            max_batch: 1000,
            tick_ms: 1000,
        }
    }
}

fn duration(key: &str, raw: &str, problems: &mut Vec<Problem>) -> TimeDelta {
    match humantime::parse_duration(raw.trim()) {
        Ok(d) => TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX),
        Err(e) => {
            problems.push(Problem {
                key: key.into(),
                message: format!("`{raw}` is not a duration like 30s or 5m: {e}"),
            });
            TimeDelta::zero()
        }
    }
}

impl AlertsConfig {
    /// The policy this section describes, or every problem in it by key.
    pub fn policy(&self) -> Result<AlertPolicy, Vec<Problem>> {
        let mut p = Vec::new();
        let bad =
            |p: &mut Vec<Problem>, key: String, message: String| p.push(Problem { key, message });
        let group_wait = duration("alerts.group_wait", &self.group_wait, &mut p);
        let group_interval = duration("alerts.group_interval", &self.group_interval, &mut p);
        let coalesce = duration("alerts.coalesce", &self.coalesce, &mut p);
        let repeat_interval = duration("alerts.repeat_interval", &self.repeat_interval, &mut p);
        let merge_window = duration("alerts.merge_window", &self.merge_window, &mut p);
        let mut inhibit_rules = Vec::new();
        for (i, spec) in self.inhibit_rules.iter().enumerate() {
            if spec.source_matchers.is_empty() || spec.target_matchers.is_empty() {
                bad(
                    &mut p,
                    format!("alerts.inhibit_rules[{i}]"),
                    "needs source_matchers and target_matchers".into(),
                );
            }
            match InhibitRule::compile(spec) {
                Ok(r) => inhibit_rules.push(r),
                Err(e) => bad(&mut p, format!("alerts.inhibit_rules[{i}]"), e.to_string()),
            }
        }
        let mut severity = BTreeMap::new();
        for source in AlertSource::ALL {
            severity.insert(source, default_severity_map(source));
        }
        for (name, words) in &self.severity {
            let Ok(source) = name.parse::<AlertSource>() else {
                bad(
                    &mut p,
                    format!("alerts.severity.{name}"),
                    "unknown source: use alertmanager, grafana, pagerduty or native".into(),
                );
                continue;
            };
            for (word, grade) in words {
                match grade.parse::<Grade>() {
                    Ok(g) => {
                        severity
                            .entry(source)
                            .or_insert_with(BTreeMap::new)
                            .insert(word.to_ascii_lowercase(), g);
                    }
                    Err(e) => bad(&mut p, format!("alerts.severity.{name}.{word}"), e),
                }
            }
        }
        let default_grade = self.default_severity.parse::<Grade>().unwrap_or_else(|e| {
            bad(&mut p, "alerts.default_severity".into(), e);
            Grade::Page(Severity::P3)
        });
        let mut declare = Vec::new();
        for (i, rule) in self.declare.iter().enumerate() {
            let mut severities = Vec::new();
            for s in &rule.severity {
                match s.parse::<Severity>() {
                    Ok(s) => severities.push(s),
                    Err(e) => bad(
                        &mut p,
                        format!("alerts.declare[{i}].severity"),
                        e.to_string(),
                    ),
                }
            }
            match rule.action.parse::<DeclareAction>() {
                Ok(action) => declare.push(DeclareRule {
                    severities,
                    services: rule.service.clone(),
                    action,
                }),
                Err(e) => bad(&mut p, format!("alerts.declare[{i}].action"), e),
            }
        }
        let default_action = self.default_action.parse().unwrap_or_else(|e| {
            bad(&mut p, "alerts.default_action".into(), e);
            DeclareAction::Detect
        });
        if self.service_label.trim().is_empty() {
            bad(
                &mut p,
                "alerts.service_label".into(),
                "must name a label".into(),
            );
        }
        if self.max_batch == 0 {
            bad(
                &mut p,
                "alerts.max_batch".into(),
                "must be at least 1".into(),
            );
        }
        if self.tick_ms == 0 {
            bad(
                &mut p,
                "alerts.tick_ms".into(),
                "must be greater than 0".into(),
            );
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(AlertPolicy {
            group_by: self.group_by.clone(),
            group_wait,
            group_interval,
            coalesce,
            repeat_interval,
            merge_window: (merge_window > TimeDelta::zero()).then_some(merge_window),
            merge_dependencies: self.merge_dependencies,
            catalog_inhibition: self.catalog_inhibition,
            inhibit_rules,
            severity,
            default_grade,
            declare,
            default_action,
            auto_resolve: self.auto_resolve,
            service_label: self.service_label.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_make_a_policy() {
        let p = AlertsConfig::default().policy().unwrap();
        assert_eq!(p.group_wait, TimeDelta::seconds(30));
        assert_eq!(p.action(Severity::P1, None), DeclareAction::Declare);
        assert_eq!(p.action(Severity::P2, None), DeclareAction::Detect);
    }

    #[test]
    fn problems_are_named_by_key() {
        let mut c = AlertsConfig {
            group_wait: "soon".into(),
            ..AlertsConfig::default()
        };
        c.severity.insert(
            "alertmanager".into(),
            [("critical".to_string(), "P9".to_string())].into(),
        );
        c.inhibit_rules.push(InhibitRuleSpec {
            source_matchers: vec!["bad".into()],
            target_matchers: vec!["a=b".into()],
            equal: vec![],
        });
        c.declare[0].action = "page".into();
        let keys: Vec<String> = c.policy().unwrap_err().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "alerts.group_wait",
                "alerts.inhibit_rules[0]",
                "alerts.severity.alertmanager.critical",
                "alerts.declare[0].action"
            ]
        );
    }
}
