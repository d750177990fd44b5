//! Paging, pure: the plan a chain of pages follows (levels × repeats), who a level's targets reach,
//! how a person's notification rules turn into deliveries, and the webhook signature.

use super::escalation::{EscalationPolicy, Target};
use crate::domain::people::{Directory, Person};
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// Where a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStatus {
    /// Delivered (or on its way), waiting for an acknowledgement.
    Sent,
    /// Somebody acknowledged the incident while this page was open.
    Acknowledged,
    /// Its level's wait ran out unacknowledged and the next level was paged.
    Escalated,
    /// Its level's wait ran out and the policy had no level (or repeat) left.
    Exhausted,
}

impl PageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PageStatus::Sent => "sent",
            PageStatus::Acknowledged => "acknowledged",
            PageStatus::Escalated => "escalated",
            PageStatus::Exhausted => "exhausted",
        }
    }
}

impl fmt::Display for PageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PageStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<PageStatus, String> {
        Ok(match s {
            "sent" => PageStatus::Sent,
            "acknowledged" => PageStatus::Acknowledged,
            "escalated" => PageStatus::Escalated,
            "exhausted" => PageStatus::Exhausted,
            other => return Err(format!("unknown page status `{other}`")),
        })
    }
}

/// One level of a plan, as a job carries it (so a running escalation survives a catalog reload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLevel {
    /// `person:ID`, `team:ID`, `schedule:NAME`, `channel:NAME` or `webhook:NAME`.
    pub targets: Vec<String>,
    /// Seconds this level waits for an acknowledgement.
    pub wait_secs: i64,
}

/// What a chain of pages follows: the levels of a policy and how often they repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The escalation policy's name; `None` for an on-demand page of one target.
    pub policy: Option<String>,
    /// Times the levels repeat after the last one.
    pub repeat: u32,
    /// The levels, at least one.
    pub levels: Vec<PlanLevel>,
}

/// Where a step of a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAt {
    /// The level, numbered from 0.
    pub level: usize,
    /// The repeat round, numbered from 0.
    pub round: u32,
}

impl Plan {
    /// The plan of a validated policy.
    pub fn of_policy(p: &EscalationPolicy) -> Plan {
        Plan {
            policy: Some(p.name.clone()),
            repeat: p.repeat,
            levels: p
                .levels
                .iter()
                .map(|l| PlanLevel {
                    targets: l.targets.iter().map(Target::to_string).collect(),
                    wait_secs: l.wait.num_seconds(),
                })
                .collect(),
        }
    }

    /// A plan of one level paging `target`, waiting `wait` before it is exhausted.
    pub fn single(target: &Target, wait: Duration) -> Plan {
        Plan {
            policy: None,
            repeat: 0,
            levels: vec![PlanLevel {
                targets: vec![target.to_string()],
                wait_secs: wait.num_seconds(),
            }],
        }
    }

    /// How many steps the plan has (levels × (repeat + 1)).
    pub fn steps(&self) -> usize {
        self.levels.len() * (self.repeat as usize + 1)
    }

    /// Where step `step` is, if the plan has it.
    pub fn at(&self, step: usize) -> Option<StepAt> {
        if self.levels.is_empty() || step >= self.steps() {
            return None;
        }
        Some(StepAt {
            level: step % self.levels.len(),
            round: (step / self.levels.len()) as u32,
        })
    }

    /// The level of step `step`.
    pub fn level(&self, step: usize) -> Option<&PlanLevel> {
        self.at(step).map(|a| &self.levels[a.level])
    }
}

/// Who or what one page goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A person of the directory.
    Person(String),
    /// A chat channel.
    Channel(String),
    /// An `oncall.webhooks.<name>` gateway.
    Webhook(String),
}

/// The recipients of a level's targets, each with the target that reached it; a person reached
/// twice (a team and a schedule) is paged once. `on_call` answers a schedule's current people.
pub fn recipients(
    targets: &[String],
    directory: &Directory,
    on_call: &dyn Fn(&str) -> Vec<String>,
) -> Vec<(String, Recipient)> {
    let mut out: Vec<(String, Recipient)> = Vec::new();
    let mut push = |target: &str, r: Recipient| {
        if !out.iter().any(|(_, seen)| *seen == r) {
            out.push((target.to_string(), r));
        }
    };
    for raw in targets {
        let Ok(t) = raw.parse::<Target>() else {
            continue;
        };
        match &t {
            Target::Person(id) => {
                if directory.get(id).is_some() {
                    push(raw, Recipient::Person(id.clone()));
                }
            }
            Target::Team(id) => {
                for m in directory
                    .team(id)
                    .map(|t| t.members.clone())
                    .unwrap_or_default()
                {
                    push(raw, Recipient::Person(m));
                }
            }
            Target::Schedule(name) => {
                for p in on_call(name) {
                    push(raw, Recipient::Person(p));
                }
            }
            Target::Channel(c) => push(raw, Recipient::Channel(c.clone())),
            Target::Webhook(w) => push(raw, Recipient::Webhook(w.clone())),
        }
    }
    out
}

/// How a delivery reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A chat direct message (Slack, Discord: whichever the person has an id on).
    Dm,
    /// The person's SMS/phone webhook gateway.
    Webhook,
    /// The web board's notification.
    Web,
}

/// One delivery of a page to a person: how, and how long after the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// How.
    pub via: Via,
    /// How long after the page, while it is unacknowledged.
    pub after: Duration,
    /// The notification rule's position (0 for the default rule); part of idempotency keys.
    pub rule: usize,
}

/// A person's deliveries: their `notify` rules, or a direct message at once when they have none.
/// Rules that cannot be read (an unknown `via`, a bad duration) are skipped.
pub fn deliveries(person: &Person) -> Vec<Delivery> {
    if person.notify.is_empty() {
        return vec![Delivery {
            via: Via::Dm,
            after: Duration::zero(),
            rule: 0,
        }];
    }
    person
        .notify
        .iter()
        .enumerate()
        .filter_map(|(rule, r)| {
            let via = match r.via.trim() {
                "dm" => Via::Dm,
                "webhook" | "sms" | "phone" => Via::Webhook,
                "web" => Via::Web,
                _ => return None,
            };
            let after = if r.after.trim().is_empty() {
                Duration::zero()
            } else {
                Duration::from_std(humantime::parse_duration(r.after.trim()).ok()?).ok()?
            };
            Some(Delivery { via, after, rule })
        })
        .collect()
}

/// The signature of a webhook request or callback: `sha256=` and the hex HMAC-SHA256 of
/// `"{timestamp}.{body}"` under the gateway's secret.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a signed callback is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The timestamp is missing or not a number.
    #[error("the X-Warroom-Timestamp header is missing or not a number")]
    BadTimestamp,
    /// The timestamp is outside the window.
    #[error("the request is older (or newer) than {0} seconds")]
    Stale(i64),
    /// The signature does not match.
    #[error("the X-Warroom-Signature does not match")]
    Mismatch,
}

/// Checks a callback's signature and that its timestamp (epoch seconds) is within `window_secs` of `now_secs`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now_secs: i64,
    window_secs: i64,
) -> Result<(), SignatureError> {
    let ts = timestamp.ok_or(SignatureError::BadTimestamp)?;
    let at: i64 = ts
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now_secs - at).abs() > window_secs {
        return Err(SignatureError::Stale(window_secs));
    }
    let given = signature_header.ok_or(SignatureError::Mismatch)?.trim();
    let expected = signature(secret, ts.trim(), body);
    let same: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected.as_bytes()).into();
    if same {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::people::{NotifyRule, Team};

    fn plan(levels: usize, repeat: u32) -> Plan {
        Plan {
            policy: Some("p".into()),
            repeat,
            levels: (0..levels)
                .map(|i| PlanLevel {
                    targets: vec![format!("person:p{i}")],
                    wait_secs: 60,
                })
                .collect(),
        }
    }

    #[test]
    fn steps_walk_the_levels_then_repeat_then_end() {
        let p = plan(2, 1);
        assert_eq!(p.steps(), 4);
        assert_eq!(p.at(0), Some(StepAt { level: 0, round: 0 }));
        assert_eq!(p.at(1), Some(StepAt { level: 1, round: 0 }));
        assert_eq!(p.at(2), Some(StepAt { level: 0, round: 1 }));
        assert_eq!(p.at(3), Some(StepAt { level: 1, round: 1 }));
        assert_eq!(p.at(4), None);
        assert_eq!(plan(1, 0).steps(), 1);
    }

    #[test]
    fn recipients_are_people_once_channels_and_gateways() {
        let d = Directory::new(
            vec![
                Person {
                    id: "alice".into(),
                    ..Person::default()
                },
                Person {
                    id: "bob".into(),
                    ..Person::default()
                },
            ],
            vec![Team {
                id: "payments".into(),
                members: vec!["alice".into(), "bob".into()],
                ..Team::default()
            }],
        )
        .unwrap();
        let targets: Vec<String> = [
            "schedule:primary",
            "team:payments",
            "person:ghost",
            "channel:#ops",
            "webhook:sms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = recipients(&targets, &d, &|s| {
            assert_eq!(s, "primary");
            vec!["alice".into()]
        });
        assert_eq!(
            got,
            vec![
                ("schedule:primary".into(), Recipient::Person("alice".into())),
                ("team:payments".into(), Recipient::Person("bob".into())),
                ("channel:#ops".into(), Recipient::Channel("#ops".into())),
                ("webhook:sms".into(), Recipient::Webhook("sms".into())),
            ]
        );
    }

    #[test]
    fn notify_rules_become_deliveries_and_default_to_a_dm() {
        let mut p = Person {
            id: "alice".into(),
            ..Person::default()
        };
        assert_eq!(
            deliveries(&p),
            vec![Delivery {
                via: Via::Dm,
                after: Duration::zero(),
                rule: 0
            }]
        );
        p.notify = vec![
            NotifyRule {
                via: "dm".into(),
                after: "0m".into(),
            },
            NotifyRule {
                via: "carrier-pigeon".into(),
                after: "1m".into(),
            },
            NotifyRule {
                via: "webhook".into(),
                after: "2m".into(),
            },
        ];
        let d = deliveries(&p);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].via, Via::Webhook);
        assert_eq!(d[1].after, Duration::minutes(2));
        assert_eq!(d[1].rule, 2);
    }

    #[test]
    fn signatures_verify_within_the_window_only() {
        let sig = signature("s3cret", "1000", b"{}");
        assert!(sig.starts_with("sha256="));
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&sig), b"{}", 1100, 300),
            Ok(())
        );
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&sig), b"{}", 1400, 300),
            Err(SignatureError::Stale(300))
        );
        assert_eq!(
            verify("other", Some("1000"), Some(&sig), b"{}", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("s3cret", Some("1000"), Some(&sig), b"{\"x\":1}", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("s3cret", None, Some(&sig), b"{}", 1000, 300),
            Err(SignatureError::BadTimestamp)
        );
    }
}
