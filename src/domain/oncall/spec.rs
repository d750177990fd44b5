//! `[[schedule]]` as the catalog file writes it, and its validation into a [`Schedule`].

use super::ical;
use super::restrict::Window;
use super::rotation::Rotation;
use super::{Layer, Schedule};
use crate::domain::people::Directory;
use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[[schedule]]`: a name, a zone and `[[schedule.layer]]` tables, lowest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Unique name, as services name it in `oncall`.
    pub name: String,
    /// IANA zone hand-offs and restrictions are read in (`Europe/Berlin`).
    pub timezone: String,
    /// Free-form description.
    pub description: Option<String>,
    /// The layers, lowest first.
    pub layer: Vec<LayerSpec>,
}

/// `[[schedule.layer]]`: a rotation over `people` or `teams`, or an `ical` feed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerSpec {
    /// A label for people.
    pub name: Option<String>,
    /// Person ids, in rotation order.
    pub people: Vec<String>,
    /// Team ids, in rotation order; during a team's turn all its members are on call.
    pub teams: Vec<String>,
    /// Turn length (humantime: `12h`, `1d`, `1w`), measured on the local wall clock.
    pub shift: Option<String>,
    /// The first hand-off, local wall time (`2026-01-05T09:00`).
    pub start: Option<String>,
    /// Weekly windows the layer is limited to (`mon-fri 09:00-18:00`).
    pub restrict: Vec<String>,
    /// An iCalendar feed file (relative to the catalog file) whose events are this layer's shifts.
    pub ical: Option<String>,
}

/// A schedule that does not hold together, named by schedule and layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule `{schedule}`{}: {message}", layer.map(|l| format!(" layer {l}")).unwrap_or_default())]
pub struct ScheduleError {
    /// The schedule.
    pub schedule: String,
    /// The layer, numbered from 1, when one is at fault.
    pub layer: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ScheduleSpec {
    /// Validates the spec against the directory; `feeds` holds each layer's `ical` file text by its name.
    pub fn build(
        &self,
        directory: &Directory,
        feeds: &BTreeMap<String, String>,
    ) -> Result<Schedule, ScheduleError> {
        let fail = |layer: Option<usize>, message: String| ScheduleError {
            schedule: self.name.clone(),
            layer,
            message,
        };
        if !crate::domain::people::valid_id(&self.name) {
            return Err(fail(
                None,
                "the name must use letters, digits, `.`, `_` or `-`".into(),
            ));
        }
        let tz: Tz = self.timezone.parse().map_err(|_| {
            fail(
                None,
                format!(
                    "timezone `{}` is not an IANA zone like Europe/Berlin",
                    self.timezone
                ),
            )
        })?;
        if self.layer.is_empty() {
            return Err(fail(None, "needs at least one [[schedule.layer]]".into()));
        }
        let layers = self
            .layer
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.build(tz, directory, feeds)
                    .map_err(|m| fail(Some(i + 1), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schedule {
            name: self.name.clone(),
            tz,
            layers,
        })
    }
}

impl LayerSpec {
    fn build(
        &self,
        tz: Tz,
        directory: &Directory,
        feeds: &BTreeMap<String, String>,
    ) -> Result<Layer, String> {
        let restrict = self
            .restrict
            .iter()
            .map(|r| r.parse::<Window>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let kinds = [
            !self.people.is_empty(),
            !self.teams.is_empty(),
            self.ical.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("give exactly one of `people`, `teams` or `ical`".into());
        }
        let rotation = match &self.ical {
            Some(path) => {
                if self.shift.is_some() || self.start.is_some() {
                    return Err(
                        "an `ical` layer takes its shifts from the feed: drop `shift` and `start`"
                            .into(),
                    );
                }
                let text = feeds
                    .get(path)
                    .ok_or_else(|| format!("ical feed `{path}` was not read"))?;
                let shifts =
                    ical::import(text, tz, directory).map_err(|e| format!("ical `{path}`: {e}"))?;
                Rotation::fixed(shifts)
            }
            None => Rotation::Cyclic {
                slots: self.slots(directory)?,
                shift: parse_shift(self.shift.as_deref())?,
                start: parse_start(self.start.as_deref())?,
            },
        };
        Ok(Layer { rotation, restrict })
    }

    fn slots(&self, directory: &Directory) -> Result<Vec<Vec<String>>, String> {
        let mut slots = Vec::new();
        for p in &self.people {
            if directory.get(p).is_none() {
                return Err(format!("person `{p}` is not a [[person]]"));
            }
            slots.push(vec![p.clone()]);
        }
        for t in &self.teams {
            let team = directory
                .team(t)
                .ok_or_else(|| format!("team `{t}` is not a [[team]]"))?;
            if team.members.is_empty() {
                return Err(format!("team `{t}` has no members"));
            }
            slots.push(team.members.clone());
        }
        Ok(slots)
    }
}

/// A turn length: humantime, at least a minute, whole minutes.
fn parse_shift(raw: Option<&str>) -> Result<Duration, String> {
    let raw = raw.ok_or("`shift` is missing (e.g. `1w`, `1d`, `12h`)")?;
    let d = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("shift `{raw}` is not a duration like `1w`, `1d` or `12h`: {e}"))?;
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    if secs < 60 || secs % 60 != 0 || d.subsec_nanos() != 0 || secs > 366 * 86_400 {
        return Err(format!(
            "shift `{raw}` must be whole minutes, from 1m to 366d"
        ));
    }
    Ok(Duration::seconds(secs))
}

/// The first hand-off: `YYYY-MM-DDTHH:MM[:SS]` local wall time.
fn parse_start(raw: Option<&str>) -> Result<NaiveDateTime, String> {
    let raw = raw.ok_or("`start` is missing (the first hand-off, e.g. `2026-01-05T09:00`)")?;
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw.trim(), f).ok())
        .ok_or_else(|| format!("start `{raw}` is not a local time like `2026-01-05T09:00`"))
}
