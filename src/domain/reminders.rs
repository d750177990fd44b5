//! Reminders that escalate, decided without a clock: given an incident's facts (severity, commander,
//! when it opened, its last status update), the reminder rules, what was reminded so far and `now`,
//! which reminders are due, whether ignoring them has earned a page, and when to look again.
//!
//! Two streaks per incident: status-update nudges (every `update_every[severity]` without an update,
//! reset by an update) and "no commander" reminders (every `no_commander_after[severity]` while
//! nobody holds the role). A reminder that is due fires once however late it is (after downtime, one
//! reminder, not one per missed interval); the next is `every` from that moment. When
//! `escalate_after_ignored` reminders of a streak went unanswered, the next one also pages, once per
//! streak.

use super::severity::Severity;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The reminder rules (from `[reminders]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Whether reminders run at all.
    pub enabled: bool,
    /// Nudge for a status update after this long without one, per severity (absent: no nudges).
    pub update_every: BTreeMap<Severity, Duration>,
    /// Remind that nobody is commander after this long (and as often again), per severity.
    pub no_commander_after: BTreeMap<Severity, Duration>,
    /// Reminders of a streak left unanswered before the next one pages (0: never page).
    pub escalate_after_ignored: u32,
}

impl Default for Rules {
    fn default() -> Self {
        let of = |pairs: &[(Severity, i64)]| {
            pairs
                .iter()
                .map(|(s, m)| (*s, Duration::minutes(*m)))
                .collect()
        };
        Rules {
            enabled: true,
            update_every: of(&[(Severity::P0, 15), (Severity::P1, 30)]),
            no_commander_after: of(&[(Severity::P0, 10), (Severity::P1, 10)]),
            escalate_after_ignored: 2,
        }
    }
}

/// What is known about the incident when reminders are decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Its severity now.
    pub severity: Severity,
    /// Whether it is still open (detected, declared, triaging, mitigating).
    pub open: bool,
    /// Who is commander, if anybody.
    pub commander: Option<String>,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// Its last status update, if any.
    pub last_update_at: Option<DateTime<Utc>>,
}

/// One streak of reminders: since when the clock runs, how many were sent, the last one, and
/// whether the streak has paged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// The moment the streak counts from (the last update, or the opening).
    pub since: Option<DateTime<Utc>>,
    /// Reminders sent in this streak.
    pub sent: u32,
    /// When the last one was sent.
    pub last_at: Option<DateTime<Utc>>,
    /// Whether this streak has paged already.
    pub escalated: bool,
}

/// An incident's reminder state, kept between timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderState {
    /// Off after `/inc remind off`, on again after `/inc remind on`.
    pub enabled: bool,
    /// The status-update nudges since the last update.
    pub update: Streak,
    /// The "no commander" reminders.
    pub commander: Streak,
    /// The number of the incident's live timer (the scheduler's bookkeeping: an older one is stale).
    #[serde(default)]
    pub timer: u64,
}

impl Default for ReminderState {
    fn default() -> Self {
        ReminderState {
            enabled: true,
            update: Streak::default(),
            commander: Streak::default(),
            timer: 0,
        }
    }
}

/// Which reminder a [`Fire`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No status update for a while.
    Update,
    /// Nobody is commander.
    Commander,
}

impl Kind {
    /// The name stored in the `reminder` event's data.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Update => "update",
            Kind::Commander => "no_commander",
        }
    }
}

/// A reminder to post now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// Which reminder.
    pub kind: Kind,
    /// Its number in the streak (1 = the first).
    pub nth: u32,
    /// How long the streak has run (since the last update, or the opening).
    pub waited: Duration,
    /// The reminders before it that went unanswered, when this one pages; `None` otherwise.
    pub escalates_after: Option<u32>,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The reminders due now, at most one per streak.
    pub fires: Vec<Fire>,
    /// The state to keep.
    pub state: ReminderState,
    /// When to decide again (`None`: nothing left to remind of).
    pub next_at: Option<DateTime<Utc>>,
}

impl Decision {
    /// Whether any reminder due now pages.
    pub fn pages(&self) -> bool {
        self.fires.iter().any(|f| f.escalates_after.is_some())
    }
}

/// How one streak is judged: its interval and the moment it counts from (`None`: inactive).
fn streak_plan(rules: &Rules, facts: &Facts, kind: Kind) -> Option<(Duration, DateTime<Utc>)> {
    let (table, since) = match kind {
        Kind::Update => (
            &rules.update_every,
            facts.last_update_at.unwrap_or(facts.opened_at),
        ),
        Kind::Commander if facts.commander.is_none() => {
            (&rules.no_commander_after, facts.opened_at)
        }
        Kind::Commander => return None,
    };
    let every = *table.get(&facts.severity)?;
    (every > Duration::zero()).then_some((every, since))
}

/// The streak as it stands for `since`: a new update (or a new opening) starts it over.
fn current(streak: Streak, since: DateTime<Utc>) -> Streak {
    if streak.since == Some(since) {
        streak
    } else {
        Streak {
            since: Some(since),
            ..Streak::default()
        }
    }
}

/// Decides which reminders are due at `now` and when to look again.
pub fn decide(rules: &Rules, state: &ReminderState, facts: &Facts, now: DateTime<Utc>) -> Decision {
    let mut out = Decision {
        fires: Vec::new(),
        state: *state,
        next_at: None,
    };
    if !rules.enabled || !state.enabled || !facts.open {
        return out;
    }
    for kind in [Kind::Commander, Kind::Update] {
        let slot = match kind {
            Kind::Update => &mut out.state.update,
            Kind::Commander => &mut out.state.commander,
        };
        let Some((every, since)) = streak_plan(rules, facts, kind) else {
            *slot = Streak::default();
            continue;
        };
        let mut streak = current(*slot, since);
        let due = streak.last_at.unwrap_or(since) + every;
        let next = if now >= due {
            let n = rules.escalate_after_ignored;
            let escalates = n > 0 && streak.sent >= n && !streak.escalated;
            streak.sent += 1;
            streak.last_at = Some(now);
            streak.escalated |= escalates;
            out.fires.push(Fire {
                kind,
                nth: streak.sent,
                waited: now - since,
                escalates_after: escalates.then_some(n),
            });
            now + every
        } else {
            due
        };
        *slot = streak;
        out.next_at = Some(out.next_at.map_or(next, |t: DateTime<Utc>| t.min(next)));
    }
    out
}

/// When reminders are next due, without firing any (arming the timer after a change).
pub fn next_due(rules: &Rules, state: &ReminderState, facts: &Facts) -> Option<DateTime<Utc>> {
    if !rules.enabled || !state.enabled || !facts.open {
        return None;
    }
    [Kind::Commander, Kind::Update]
        .into_iter()
        .filter_map(|kind| {
            let (every, since) = streak_plan(rules, facts, kind)?;
            let streak = match kind {
                Kind::Update => state.update,
                Kind::Commander => state.commander,
            };
            Some(current(streak, since).last_at.unwrap_or(since) + every)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn facts(severity: Severity) -> Facts {
        Facts {
            severity,
            open: true,
            commander: Some("alice".into()),
            opened_at: t(0),
            last_update_at: None,
        }
    }

    /// Runs the timer the way the scheduler does: at each due time (or `late` later), from 0 to `until`.
    fn run(facts: &Facts, until: i64, late: i64) -> Vec<(i64, Fire)> {
        let rules = Rules::default();
        let mut state = ReminderState::default();
        let mut at = next_due(&rules, &state, facts);
        let mut out = Vec::new();
        while let Some(when) = at.map(|a| a + Duration::minutes(late))
            && when <= t(until)
        {
            let d = decide(&rules, &state, facts, when);
            out.extend(d.fires.iter().map(|f| ((when - t(0)).num_minutes(), *f)));
            state = d.state;
            at = d.next_at;
        }
        out
    }

    #[test]
    fn a_p0_is_nudged_every_15_minutes_and_pages_after_two_ignored() {
        let fires = run(&facts(Severity::P0), 60, 0);
        let at: Vec<i64> = fires.iter().map(|f| f.0).collect();
        assert_eq!(at, [15, 30, 45, 60]);
        let pages: Vec<Option<u32>> = fires.iter().map(|f| f.1.escalates_after).collect();
        assert_eq!(pages, [None, None, Some(2), None], "one page per streak");
        assert_eq!(fires[1].1.waited, Duration::minutes(30));
    }

    #[test]
    fn p1_waits_30_minutes_and_p2_p3_are_off() {
        let at: Vec<i64> = run(&facts(Severity::P1), 60, 0)
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(at, [30, 60]);
        for sev in [Severity::P2, Severity::P3] {
            let f = facts(sev);
            assert_eq!(
                next_due(&Rules::default(), &ReminderState::default(), &f),
                None
            );
            assert!(run(&f, 600, 0).is_empty());
        }
    }

    #[test]
    fn a_status_update_starts_the_streak_over() {
        let rules = Rules::default();
        let mut f = facts(Severity::P0);
        let d = decide(&rules, &ReminderState::default(), &f, t(15));
        assert_eq!(d.fires.len(), 1);
        let d = decide(&rules, &d.state, &f, t(30));
        assert_eq!(d.state.update.sent, 2);
        f.last_update_at = Some(t(40));
        // The timer set for 45 finds the update: nothing due, next at 40 + 15.
        let d = decide(&rules, &d.state, &f, t(45));
        assert!(d.fires.is_empty());
        assert_eq!(d.next_at, Some(t(55)));
        assert_eq!(d.state.update.sent, 0);
        let d = decide(&rules, &d.state, &f, t(55));
        assert_eq!(d.fires[0].nth, 1);
        assert_eq!(d.fires[0].escalates_after, None, "the count started over");
        assert_eq!(d.fires[0].waited, Duration::minutes(15));
    }

    #[test]
    fn a_late_timer_fires_once_and_counts_on_from_then() {
        let rules = Rules::default();
        let f = facts(Severity::P0);
        // Down from minute 5 to minute 300: one nudge, the next 15 minutes later.
        let d = decide(&rules, &ReminderState::default(), &f, t(300));
        assert_eq!(d.fires.len(), 1);
        assert_eq!(d.fires[0].nth, 1);
        assert_eq!(d.next_at, Some(t(315)));
        let late = run(&f, 120, 7);
        let at: Vec<i64> = late.iter().map(|f| f.0).collect();
        assert_eq!(at, [22, 44, 66, 88, 110], "each from the last one sent");
    }

    #[test]
    fn no_commander_is_reminded_until_somebody_takes_it() {
        let rules = Rules::default();
        let mut f = facts(Severity::P1);
        f.commander = None;
        assert_eq!(next_due(&rules, &ReminderState::default(), &f), Some(t(10)));
        let d = decide(&rules, &ReminderState::default(), &f, t(10));
        assert_eq!(d.fires[0].kind, Kind::Commander);
        let d = decide(&rules, &d.state, &f, t(20));
        let d = decide(&rules, &d.state, &f, t(30));
        assert_eq!(d.fires[0].kind, Kind::Commander);
        assert_eq!(d.fires[0].escalates_after, Some(2));
        assert!(d.pages());
        assert_eq!(d.next_at, Some(t(40)));
        f.commander = Some("bob".into());
        let d = decide(&rules, &d.state, &f, t(40));
        assert!(d.fires.is_empty());
        assert_eq!(d.state.commander, Streak::default());
        assert_eq!(d.next_at, Some(t(60)), "the update nudge remains");
    }

    #[test]
    fn off_disabled_or_closed_reminds_of_nothing() {
        let f = facts(Severity::P0);
        let off = ReminderState {
            enabled: false,
            ..ReminderState::default()
        };
        let d = decide(&Rules::default(), &off, &f, t(100));
        assert!(d.fires.is_empty());
        assert_eq!(d.next_at, None);
        let rules = Rules {
            enabled: false,
            ..Rules::default()
        };
        assert_eq!(next_due(&rules, &ReminderState::default(), &f), None);
        let closed = Facts {
            open: false,
            ..f.clone()
        };
        assert_eq!(
            next_due(&Rules::default(), &ReminderState::default(), &closed),
            None
        );
        let never = Rules {
            escalate_after_ignored: 0,
            ..Rules::default()
        };
        let mut s = ReminderState::default();
        for m in [15, 30, 45, 60, 75] {
            let d = decide(&never, &s, &f, t(m));
            assert!(!d.pages(), "0 never pages");
            s = d.state;
        }
    }
}
