//! Escalation policies (`[[escalation]]`): levels of targets, a wait before the next level, and repeats.
//! Parsed and validated here; paging by policy reads them.

use super::Schedule;
use crate::domain::people::Directory;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The most times a policy may repeat.
pub const MAX_REPEAT: u32 = 10;

/// `[[escalation]]` as the catalog file writes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationSpec {
    /// Unique name, as services name it in `escalation`.
    pub name: String,
    /// How many times the whole policy repeats after its last level (0: once through).
    pub repeat: u32,
    /// Free-form description.
    pub description: Option<String>,
    /// The levels, in order.
    pub level: Vec<LevelSpec>,
}

/// `[[escalation.level]]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelSpec {
    /// `person:ID`, `team:ID`, `schedule:NAME`, `channel:NAME` or `webhook:NAME`.
    pub targets: Vec<String>,
    /// How long this level waits for an acknowledgement before the next (humantime, `5m`).
    pub wait: String,
}

/// Who or what a level pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Target {
    /// One person.
    Person(String),
    /// Every member of a team.
    Team(String),
    /// Whoever a schedule has on call at the time.
    Schedule(String),
    /// A chat channel.
    Channel(String),
    /// An `oncall.webhooks.<name>` gateway.
    Webhook(String),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            format!("target `{s}` is not like person:ID, team:ID, schedule:NAME, channel:NAME or webhook:NAME")
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("target `{s}` names nothing after `{kind}:`"));
        }
        let n = name.to_string();
        match kind.trim() {
            "person" => Ok(Target::Person(n)),
            "team" => Ok(Target::Team(n)),
            "schedule" => Ok(Target::Schedule(n)),
            "channel" => Ok(Target::Channel(n)),
            "webhook" => Ok(Target::Webhook(n)),
            other => Err(format!(
                "target `{s}`: unknown kind `{other}` (person, team, schedule, channel or webhook)"
            )),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, name) = match self {
            Target::Person(n) => ("person", n),
            Target::Team(n) => ("team", n),
            Target::Schedule(n) => ("schedule", n),
            Target::Channel(n) => ("channel", n),
            Target::Webhook(n) => ("webhook", n),
        };
        write!(f, "{kind}:{name}")
    }
}

/// One level of a validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// What it pages.
    pub targets: Vec<Target>,
    /// How long it waits before the next level.
    pub wait: Duration,
}

/// A validated escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// Its name.
    pub name: String,
    /// How many times it repeats after the last level.
    pub repeat: u32,
    /// Its levels, in order (at least one).
    pub levels: Vec<Level>,
}

/// A policy that does not hold together, named by policy and level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("escalation `{policy}`{}: {message}", level.map(|l| format!(" level {l}")).unwrap_or_default())]
pub struct EscalationError {
    /// The policy.
    pub policy: String,
    /// The level, numbered from 1, when one is at fault.
    pub level: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl EscalationSpec {
    /// Validates the policy: targets that exist in the directory and the schedules, waits that parse.
    pub fn build(
        &self,
        directory: &Directory,
        schedules: &BTreeMap<String, Schedule>,
    ) -> Result<EscalationPolicy, EscalationError> {
        let fail = |level: Option<usize>, message: String| EscalationError {
            policy: self.name.clone(),
            level,
            message,
        };
        if !crate::domain::people::valid_id(&self.name) {
            return Err(fail(
                None,
                "the name must use letters, digits, `.`, `_` or `-`".into(),
            ));
        }
        if self.level.is_empty() {
            return Err(fail(None, "needs at least one [[escalation.level]]".into()));
        }
        if self.repeat > MAX_REPEAT {
            return Err(fail(
                None,
                format!("repeat {} is more than {MAX_REPEAT}", self.repeat),
            ));
        }
        let mut levels = Vec::new();
        for (i, l) in self.level.iter().enumerate() {
            let at = Some(i + 1);
            if l.targets.is_empty() {
                return Err(fail(at, "needs at least one target".into()));
            }
            let mut targets = Vec::new();
            for raw in &l.targets {
                let t: Target = raw.parse().map_err(|m| fail(at, m))?;
                let known = match &t {
                    Target::Person(id) => directory.get(id).is_some(),
                    Target::Team(id) => directory.team(id).is_some(),
                    Target::Schedule(n) => schedules.contains_key(n),
                    Target::Channel(_) | Target::Webhook(_) => true,
                };
                if !known {
                    let what = match t {
                        Target::Person(_) => "[[person]]",
                        Target::Team(_) => "[[team]]",
                        _ => "[[schedule]]",
                    };
                    return Err(fail(at, format!("target `{raw}` is not a {what}")));
                }
                targets.push(t);
            }
            let wait = humantime::parse_duration(l.wait.trim())
                .ok()
                .and_then(|d| Duration::from_std(d).ok())
                .filter(|d| *d >= Duration::zero() && *d <= Duration::days(1))
                .ok_or_else(|| {
                    fail(
                        at,
                        format!("wait `{}` is not a duration like `5m` (at most 1d)", l.wait),
                    )
                })?;
            levels.push(Level { targets, wait });
        }
        Ok(EscalationPolicy {
            name: self.name.clone(),
            repeat: self.repeat,
            levels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::people::{Person, Team};

    fn directory() -> Directory {
        Directory::new(
            vec![Person {
                id: "alice".into(),
                ..Person::default()
            }],
            vec![Team {
                id: "payments".into(),
                members: vec!["alice".into()],
                ..Team::default()
            }],
        )
        .unwrap()
    }

    fn build(text: &str) -> Result<EscalationPolicy, EscalationError> {
        let spec: EscalationSpec = toml::from_str(text).unwrap();
        spec.build(&directory(), &BTreeMap::new())
    }

    #[test]
    fn policies_parse_their_targets_and_waits() {
        let p = build(
            "name = \"p\"\nrepeat = 1\n[[level]]\ntargets = [\"person:alice\", \"channel:#ops\"]\nwait = \"5m\"\n\
             [[level]]\ntargets = [\"team:payments\", \"webhook:sms\"]\nwait = \"10m\"\n",
        )
        .unwrap();
        assert_eq!(p.levels.len(), 2);
        assert_eq!(p.levels[0].targets[1], Target::Channel("#ops".into()));
        assert_eq!(p.levels[1].wait, Duration::minutes(10));
        assert_eq!(p.levels[1].targets[0].to_string(), "team:payments");
    }

    #[test]
    fn bad_policies_are_named_by_policy_and_level() {
        let cases = [
            (
                "name = \"p\"",
                "escalation `p`: needs at least one [[escalation.level]]",
            ),
            (
                "name = \"p\"\nrepeat = 11\n[[level]]\ntargets = [\"person:alice\"]\nwait = \"1m\"",
                "escalation `p`: repeat 11 is more than 10",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = []\nwait = \"1m\"",
                "escalation `p` level 1: needs at least one target",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = [\"person:alice\"]\nwait = \"1m\"\n[[level]]\ntargets = [\"person:zed\"]\nwait = \"1m\"",
                "escalation `p` level 2: target `person:zed` is not a [[person]]",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = [\"schedule:x\"]\nwait = \"1m\"",
                "escalation `p` level 1: target `schedule:x` is not a [[schedule]]",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = [\"pager:x\"]\nwait = \"1m\"",
                "escalation `p` level 1: target `pager:x`: unknown kind `pager` (person, team, schedule, channel or webhook)",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = [\"alice\"]\nwait = \"1m\"",
                "escalation `p` level 1: target `alice` is not like person:ID, team:ID, schedule:NAME, channel:NAME or webhook:NAME",
            ),
            (
                "name = \"p\"\n[[level]]\ntargets = [\"team:payments\"]\nwait = \"soon\"",
                "escalation `p` level 1: wait `soon` is not a duration like `5m` (at most 1d)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(build(text).unwrap_err().to_string(), expected);
        }
    }
}
