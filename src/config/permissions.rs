//! `[roles]` and `[policy]`: who holds which permission role, and which roles each action needs.

use super::load::Problem;
use super::sections::Config;
use crate::domain::policy::{AccessRole, Action, Policy};
use serde::{Deserialize, Deserializer, Serialize};

/// A list of names: `["alice", "team:sre"]`, or `"alice,team:sre"` from an environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Grants(pub Vec<String>);

impl<'de> Deserialize<'de> for Grants {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::sections::string_or_list(d).map(Grants)
    }
}

impl Config {
    /// The compiled permission policy: `[roles]`, `[policy]` and the legacy `changes.*` lists.
    /// Unknown role and action names are skipped here; `check-config` names them.
    pub fn permission_policy(&self) -> Policy {
        let mut p = Policy::default();
        for (role, grants) in &self.roles {
            if let Ok(r) = role.parse::<AccessRole>()
                && AccessRole::GRANTABLE.contains(&r)
            {
                p.members.insert(r, grants.0.clone());
            }
        }
        for (action, roles) in &self.policy {
            if let Ok(a) = action.parse::<Action>() {
                let roles = roles.0.iter().filter_map(|r| r.parse().ok()).collect();
                p.actions.insert(a, roles);
            }
        }
        let legacy = [
            (Action::ApproveChange, &self.changes.approvers),
            (Action::OverrideGate, &self.changes.overriders),
            (Action::Rollback, &self.changes.rollbackers),
        ];
        for (action, people) in legacy {
            if !people.is_empty() {
                p.people.insert(action, people.clone());
            }
        }
        p
    }
}

/// Every unknown role or action in `[roles]` and `[policy]`, by key.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (role, grants) in &config.roles {
        let key = format!("roles.{role}");
        match role.parse::<AccessRole>() {
            Ok(r) if AccessRole::GRANTABLE.contains(&r) => {}
            Ok(_) => problems.push(Problem {
                key,
                message: "guest is given to unknown platform users; it cannot be granted".into(),
            }),
            Err(e) => problems.push(Problem { key, message: e }),
        }
        for (i, g) in grants.0.iter().enumerate() {
            let name = g.strip_prefix("team:").unwrap_or(g);
            if !crate::domain::people::valid_id(name) {
                problems.push(Problem {
                    key: format!("roles.{role}[{i}]"),
                    message: format!("`{g}` is not a person id or team:ID"),
                });
            }
        }
    }
    for (action, roles) in &config.policy {
        let key = format!("policy.{action}");
        if let Err(e) = action.parse::<Action>() {
            problems.push(Problem {
                key: key.clone(),
                message: e,
            });
        }
        for (i, r) in roles.0.iter().enumerate() {
            if let Err(e) = r.parse::<AccessRole>() {
                problems.push(Problem {
                    key: format!("{key}[{i}]"),
                    message: e,
                });
            }
        }
    }
    match humantime::parse_duration(&config.changes.max_freeze) {
        Ok(d) if !d.is_zero() => {}
        _ => problems.push(Problem {
            key: "changes.max_freeze".into(),
            message: format!(
                "`{}` is not a duration like 30d or 12h",
                config.changes.max_freeze
            ),
        }),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_roles_and_actions_are_named_by_key() {
        let mut c = Config::default();
        c.roles.insert("owner".into(), Grants(vec!["alice".into()]));
        c.roles.insert(
            "admin".into(),
            Grants(vec!["team:sre".into(), "bad id".into()]),
        );
        c.policy
            .insert("delete".into(), Grants(vec!["admin".into()]));
        c.policy.insert("close".into(), Grants(vec!["boss".into()]));
        c.changes.max_freeze = "forever".into();
        let keys: Vec<String> = validate(&c).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "roles.admin[1]",
                "roles.owner",
                "policy.close[0]",
                "policy.delete",
                "changes.max_freeze"
            ]
        );
        assert!(validate(&Config::default()).is_empty());
    }

    #[test]
    fn legacy_change_lists_grant_their_action() {
        let mut c = Config::default();
        c.changes.approvers = vec!["bob".into()];
        c.roles
            .insert("commander".into(), Grants(vec!["team:ic".into()]));
        c.policy.insert(
            "resolve".into(),
            Grants(vec!["commander".into(), "admin".into()]),
        );
        let p = c.permission_policy();
        assert_eq!(p.people[&Action::ApproveChange], ["bob"]);
        assert_eq!(p.members[&AccessRole::Commander], ["team:ic"]);
        assert_eq!(
            p.actions[&Action::Resolve],
            [AccessRole::Commander, AccessRole::Admin]
        );
    }
}
