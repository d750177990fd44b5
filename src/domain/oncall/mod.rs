//! On-call schedules: who is on call at an instant, the shifts of a period and the next hand-offs.
//!
//! A schedule is a time zone and ordered layers. A layer is a rotation (over people, or over teams
//! whose members are all on call together during the team's turn) or the fixed shifts of an imported
//! iCalendar feed, optionally restricted to weekly windows. Where several layers are active the
//! later (higher) one wins; an override replaces whoever is on. Hand-offs are at local wall-clock
//! times: a shift length is measured on the schedule's clock (`24h` = `1d`), so a daily 09:00 hand-off
//! stays at 09:00 in summer and winter. Pure: every instant is passed in.

pub mod escalation;
pub mod ical;
pub mod paging;
pub mod restrict;
mod rotation;
pub mod spec;
pub mod wall;

#[cfg(test)]
mod tests;

pub use restrict::Window;
pub use rotation::{FixedShift, Rotation};
pub use spec::{LayerSpec, ScheduleError, ScheduleSpec};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// One schedule: a zone and its layers, lowest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The schedule's name (`payments-primary`), as services name it in `oncall`.
    pub name: String,
    /// The zone hand-offs and restrictions are read in.
    pub tz: Tz,
    /// Layers, lowest first; a later active layer wins.
    pub layers: Vec<Layer>,
}

/// One layer of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Who takes turns, and when.
    pub rotation: Rotation,
    /// When the layer is active (always, when empty).
    pub restrict: Vec<Window>,
}

/// A temporary replacement: `person` is on call from `from` until `to`, whoever the layers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    /// Its stored id; the latest override wins where two overlap.
    pub id: i64,
    /// The person on call instead.
    pub person: String,
    /// When it starts.
    pub from: DateTime<Utc>,
    /// When it ends (exclusive).
    pub to: DateTime<Utc>,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Source {
    /// A layer, numbered from 0 (lowest).
    Layer(usize),
    /// An override, by id.
    Override(i64),
    /// No layer is active and no override covers the time.
    Nobody,
}

/// Who is on call at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnCall {
    /// Person ids, in rotation order (empty: nobody).
    pub people: Vec<String>,
    /// The layer or override that decided.
    pub source: Source,
}

/// One stretch of time with the same people on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends (exclusive).
    pub end: DateTime<Utc>,
    /// Who is on call (empty: nobody).
    pub people: Vec<String>,
    /// The layer or override that decided.
    pub source: Source,
}

/// A change of who is on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handoff {
    /// When it happens.
    pub at: DateTime<Utc>,
    /// Who is on call from then.
    pub people: Vec<String>,
}

/// How far `next_handoffs` looks ahead.
const HORIZON_DAYS: i64 = 400;

impl Layer {
    /// Whether the layer's restrictions let it act at `t`.
    fn allows(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        if self.restrict.is_empty() {
            return true;
        }
        let wall = wall::local(tz, t);
        self.restrict.iter().any(|w| w.contains(wall))
    }

    /// Who this layer puts on call at `t`, if it is active then.
    pub fn at(&self, tz: Tz, t: DateTime<Utc>) -> Option<Vec<String>> {
        let people = self.rotation.at(tz, t)?;
        (!people.is_empty() && self.allows(tz, t)).then_some(people)
    }

    /// Every instant in (from, to) where this layer's answer may change.
    fn edges(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, out: &mut Vec<DateTime<Utc>>) {
        self.rotation.edges(tz, from, to, out);
        if self.restrict.is_empty() {
            return;
        }
        let first = wall::local(tz, from).date() - Duration::days(1);
        let last = wall::local(tz, to).date() + Duration::days(1);
        let mut day = first;
        while day <= last {
            for w in &self.restrict {
                for edge in w.edges_on(day) {
                    out.extend(wall::resolve_all(tz, edge));
                }
            }
            day += Duration::days(1);
        }
        out.extend(wall::offset_changes(tz, from, to));
    }
}

impl Schedule {
    /// Who is on call at `t`: the latest override covering it, else the highest active layer, else nobody.
    pub fn on_call(&self, t: DateTime<Utc>, overrides: &[Override]) -> OnCall {
        if let Some(o) = overrides
            .iter()
            .filter(|o| o.from <= t && t < o.to)
            .max_by_key(|o| o.id)
        {
            return OnCall {
                people: vec![o.person.clone()],
                source: Source::Override(o.id),
            };
        }
        for (i, layer) in self.layers.iter().enumerate().rev() {
            if let Some(people) = layer.at(self.tz, t) {
                return OnCall {
                    people,
                    source: Source::Layer(i),
                };
            }
        }
        OnCall {
            people: Vec::new(),
            source: Source::Nobody,
        }
    }

    /// The shifts covering [from, to), cut at `from` and `to`; neighbours with the same answer merge.
    pub fn shifts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        overrides: &[Override],
    ) -> Vec<Shift> {
        if from >= to {
            return Vec::new();
        }
        let mut edges = vec![from];
        for layer in &self.layers {
            layer.edges(self.tz, from, to, &mut edges);
        }
        for o in overrides {
            edges.extend([o.from, o.to]);
        }
        edges.retain(|e| *e >= from && *e < to);
        edges.sort_unstable();
        edges.dedup();
        let mut shifts: Vec<Shift> = Vec::with_capacity(edges.len());
        for (i, start) in edges.iter().enumerate() {
            let end = edges.get(i + 1).copied().unwrap_or(to);
            let now = self.on_call(*start, overrides);
            match shifts.last_mut() {
                Some(last) if last.people == now.people && last.source == now.source => {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    start: *start,
                    end,
                    people: now.people,
                    source: now.source,
                }),
            }
        }
        shifts
    }

    /// The next `n` changes of who is on call after `t` (looking at most 400 days ahead).
    pub fn next_handoffs(
        &self,
        t: DateTime<Utc>,
        n: usize,
        overrides: &[Override],
    ) -> Vec<Handoff> {
        let mut out = Vec::new();
        let mut current = self.on_call(t, overrides).people;
        let mut from = t;
        let mut span = Duration::days(8);
        let horizon = t + Duration::days(HORIZON_DAYS);
        while out.len() < n && from < horizon {
            let to = (from + span).min(horizon);
            for s in self.shifts(from, to, overrides) {
                if s.people != current && s.start > t {
                    current = s.people.clone();
                    out.push(Handoff {
                        at: s.start,
                        people: s.people,
                    });
                    if out.len() == n {
                        break;
                    }
                }
            }
            from = to;
            span = span * 2;
        }
        out
    }

    /// Every person id any layer of this schedule can put on call.
    pub fn members(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .layers
            .iter()
            .flat_map(|l| l.rotation.people())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}
