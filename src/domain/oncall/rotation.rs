//! Rotations: turns of a fixed length from a first local hand-off, or the fixed shifts of an imported feed.

use super::wall;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// Who takes turns in a layer.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// Slots take turns of `shift`, the first from `start` (local wall time); before it the layer is off.
    Cyclic {
        /// Each slot's people: one person, or all members of a team.
        slots: Vec<Vec<String>>,
        /// The length of a turn on the local wall clock (whole seconds, > 0).
        shift: Duration,
        /// The first hand-off, local wall time.
        start: NaiveDateTime,
    },
    /// Explicit shifts (an imported iCalendar feed), sorted by start.
    Fixed {
        /// The shifts.
        shifts: Vec<FixedShift>,
        /// The longest shift, to bound lookups.
        longest: Duration,
    },
}

/// One explicit shift of a fixed rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedShift {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends (exclusive).
    pub end: DateTime<Utc>,
    /// Who is on call.
    pub people: Vec<String>,
}

impl Rotation {
    /// A fixed rotation from shifts in any order (empty ones dropped).
    pub fn fixed(mut shifts: Vec<FixedShift>) -> Rotation {
        shifts.retain(|s| s.start < s.end);
        shifts.sort_by_key(|s| (s.start, s.end));
        let longest = shifts
            .iter()
            .map(|s| s.end - s.start)
            .max()
            .unwrap_or_default();
        Rotation::Fixed { shifts, longest }
    }

    /// The instant of the `i`-th hand-off of a cyclic rotation.
    fn handoff(tz: Tz, start: NaiveDateTime, shift: Duration, i: i64) -> DateTime<Utc> {
        let offset = Duration::seconds(shift.num_seconds().saturating_mul(i));
        let wall = start
            .checked_add_signed(offset)
            .unwrap_or(NaiveDateTime::MAX);
        wall::resolve(tz, wall)
    }

    /// The turn in effect at `t`, if the rotation has started.
    pub fn turn_at(tz: Tz, start: NaiveDateTime, shift: Duration, t: DateTime<Utc>) -> Option<i64> {
        // Estimate on the wall clock, then step to the exact turn (hand-offs never move backwards).
        let elapsed = (wall::local(tz, t) - start).num_seconds();
        let mut i = elapsed.div_euclid(shift.num_seconds()).max(0);
        while Self::handoff(tz, start, shift, i + 1) <= t {
            i += 1;
        }
        while i > 0 && Self::handoff(tz, start, shift, i) > t {
            i -= 1;
        }
        (i > 0 || Self::handoff(tz, start, shift, 0) <= t).then_some(i)
    }

    /// Who is on at `t` by this rotation alone.
    pub fn at(&self, tz: Tz, t: DateTime<Utc>) -> Option<Vec<String>> {
        match self {
            Rotation::Cyclic {
                slots,
                shift,
                start,
            } => {
                let i = Self::turn_at(tz, *start, *shift, t)?;
                let n = slots.len() as i64;
                (n > 0).then(|| slots[i.rem_euclid(n) as usize].clone())
            }
            Rotation::Fixed { shifts, longest } => {
                let upto = shifts.partition_point(|s| s.start <= t);
                let mut people: Vec<String> = Vec::new();
                for s in shifts[..upto].iter().rev() {
                    if s.start + *longest <= t {
                        break;
                    }
                    if t < s.end {
                        people.extend(s.people.iter().cloned());
                    }
                }
                people.reverse();
                let mut seen = std::collections::BTreeSet::new();
                people.retain(|p| seen.insert(p.clone()));
                (!people.is_empty()).then_some(people)
            }
        }
    }

    /// Every instant in [from, to] where this rotation's answer may change.
    pub fn edges(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Vec<DateTime<Utc>>,
    ) {
        match self {
            Rotation::Cyclic { shift, start, .. } => {
                let mut i = Self::turn_at(tz, *start, *shift, from).unwrap_or(0);
                loop {
                    let h = Self::handoff(tz, *start, *shift, i);
                    if h > to {
                        break;
                    }
                    out.push(h);
                    i += 1;
                }
            }
            Rotation::Fixed { shifts, longest } => {
                let first = shifts.partition_point(|s| s.start + *longest < from);
                for s in &shifts[first..] {
                    if s.start > to {
                        break;
                    }
                    out.extend([s.start, s.end]);
                }
            }
        }
    }

    /// Every person this rotation can put on call.
    pub fn people(&self) -> Vec<String> {
        match self {
            Rotation::Cyclic { slots, .. } => slots.iter().flatten().cloned().collect(),
            Rotation::Fixed { shifts, .. } => {
                shifts.iter().flat_map(|s| s.people.clone()).collect()
            }
        }
    }
}
