//! `[reminders]`: status-update nudges and "no commander" reminders per severity, and how many go
//! unanswered before the next one pages the owning service's on-call.

use super::load::Problem;
use crate::domain::Severity;
use crate::domain::reminders::Rules;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[reminders]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemindersConfig {
    /// Whether reminders run at all (`/inc remind off` silences one incident).
    pub enabled: bool,
    /// Severity → how long without a status update before the commander is nudged (humantime);
    /// a severity left out (or `off`) is never nudged.
    pub update_every: BTreeMap<String, String>,
    /// Severity → how long an incident may go without a commander before the room is reminded (and
    /// as often again while nobody takes it).
    pub no_commander_after: BTreeMap<String, String>,
    /// Reminders in a row left unanswered before the next one also pages the service's on-call
    /// (0: never page).
    pub escalate_after_ignored: u32,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        RemindersConfig {
            enabled: true,
            update_every: map(&[("P0", "15m"), ("P1", "30m")]),
            no_commander_after: map(&[("P0", "10m"), ("P1", "10m")]),
            escalate_after_ignored: 2,
        }
    }
}

/// One severity → duration table, checked; `off` entries are left out.
fn table(
    key: &str,
    raw: &BTreeMap<String, String>,
    p: &mut Vec<Problem>,
) -> BTreeMap<Severity, chrono::Duration> {
    let mut out = BTreeMap::new();
    for (sev, value) in raw {
        let Ok(severity) = sev.parse::<Severity>() else {
            p.push(Problem {
                key: format!("{key}.{sev}"),
                message: format!("`{sev}` is not a severity (P0, P1, P2 or P3)"),
            });
            continue;
        };
        let v = value.trim();
        if v.eq_ignore_ascii_case("off") {
            continue;
        }
        match humantime::parse_duration(v)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) if d >= chrono::Duration::minutes(1) => {
                out.insert(severity, d);
            }
            _ => p.push(Problem {
                key: format!("{key}.{sev}"),
                message: format!(
                    "`{value}` is not a duration of at least a minute (`15m`) or `off`"
                ),
            }),
        }
    }
    out
}

impl RemindersConfig {
    /// The rules the scheduler decides by, or every problem by key.
    pub fn rules(&self) -> Result<Rules, Vec<Problem>> {
        let mut p = Vec::new();
        let update_every = table("reminders.update_every", &self.update_every, &mut p);
        let no_commander_after = table(
            "reminders.no_commander_after",
            &self.no_commander_after,
            &mut p,
        );
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Rules {
            enabled: self.enabled,
            update_every,
            no_commander_after,
            escalate_after_ignored: self.escalate_after_ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_domain_defaults() {
        assert_eq!(
            RemindersConfig::default().rules().unwrap(),
            Rules::default()
        );
    }

    #[test]
    fn bad_entries_are_named_and_off_leaves_a_severity_out() {
        let mut c = RemindersConfig::default();
        c.update_every.insert("P2".into(), "off".into());
        c.update_every.insert("P9".into(), "5m".into());
        c.no_commander_after.insert("P3".into(), "soon".into());
        let keys: Vec<String> = c.rules().unwrap_err().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "reminders.update_every.P9",
                "reminders.no_commander_after.P3"
            ]
        );
        c.update_every.remove("P9");
        c.no_commander_after.remove("P3");
        let rules = c.rules().unwrap();
        assert!(!rules.update_every.contains_key(&Severity::P2));
    }
}
