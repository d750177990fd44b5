//! On-call use-cases: who is on call now and next, overrides (one transaction each), and calendars.

use super::Engine;
use super::unit::Unit;
use crate::domain::oncall::{Handoff, Schedule, Shift, Source, ical};
use crate::domain::{Actor, ActorKind};
use crate::store::{NewOverride, OncallOverride, StoreError};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many hand-offs a status lists.
pub const NEXT_HANDOFFS: usize = 5;
/// How far back a calendar reaches.
pub const CALENDAR_PAST_DAYS: i64 = 30;
/// How far ahead a calendar reaches.
pub const CALENDAR_AHEAD_DAYS: i64 = 90;
/// The longest override.
const MAX_OVERRIDE_DAYS: i64 = 366;
/// How far ahead overrides are read for "next hand-offs".
const LOOKAHEAD_DAYS: i64 = 401;

/// What an on-call use-case can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum OncallError {
    /// No schedule of that name.
    #[error("no on-call schedule `{0}`")]
    UnknownSchedule(String),
    /// Nobody of that id in the directory.
    #[error("`{0}` is not a person of the directory")]
    UnknownPerson(String),
    /// No live override of that id on that schedule.
    #[error("override {0} not found")]
    NoOverride(i64),
    /// A field is missing or wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as the caller named it.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> OncallError {
    OncallError::Invalid {
        field,
        message: message.into(),
    }
}

/// One schedule's state at an instant: who is on, until when, and the next hand-offs.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleNow {
    /// The schedule's name.
    pub name: String,
    /// Its zone.
    pub timezone: String,
    /// The instant asked about.
    pub at: DateTime<Utc>,
    /// Person ids on call at `at`.
    pub on_call: Vec<String>,
    /// Which layer or override decided.
    pub source: Source,
    /// When the current people hand off, if within the look-ahead.
    pub until: Option<DateTime<Utc>>,
    /// The next hand-offs.
    pub next: Vec<Handoff>,
}

/// An override as asked for: from (default now) until a time or for a duration.
#[derive(Debug, Clone, Default)]
pub struct OverrideRequest {
    /// The person to put on call (a directory id).
    pub person: String,
    /// When it starts; now when absent.
    pub from: Option<DateTime<Utc>>,
    /// When it ends.
    pub until: Option<DateTime<Utc>>,
    /// Or how long it lasts.
    pub duration: Option<std::time::Duration>,
    /// Why.
    pub reason: Option<String>,
}

/// Who may change on-call: a person, a service account or warroom itself, never a guest.
fn may_override(actor: &Actor) -> Result<(), OncallError> {
    match actor.kind {
        ActorKind::Person | ActorKind::Service | ActorKind::System => Ok(()),
        ActorKind::Guest => Err(OncallError::Forbidden(format!(
            "{} is not a person of the directory and may not change on-call schedules",
            actor.name
        ))),
    }
}

impl Engine {
    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Result<&Schedule, OncallError> {
        self.catalog()
            .schedule(name)
            .ok_or_else(|| OncallError::UnknownSchedule(name.to_string()))
    }

    /// Live overrides of every schedule (or one) overlapping [from, to), by schedule.
    async fn overrides_by_schedule(
        &self,
        schedule: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BTreeMap<String, Vec<crate::domain::oncall::Override>>, OncallError> {
        let mut by: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for o in self.store().overrides(schedule, from, to).await? {
            by.entry(o.schedule.clone())
                .or_default()
                .push(o.to_domain());
        }
        Ok(by)
    }

    /// Who is on call at `at` and the next hand-offs, for one schedule or every schedule.
    #[tracing::instrument(skip(self))]
    pub async fn oncall_status(
        &self,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<ScheduleNow>, OncallError> {
        let schedules: Vec<&Schedule> = match name {
            Some(n) => vec![self.schedule(n)?],
            None => self.catalog().schedules().collect(),
        };
        let overrides = self
            .overrides_by_schedule(name, at, at + Duration::days(LOOKAHEAD_DAYS))
            .await?;
        let none = Vec::new();
        Ok(schedules
            .into_iter()
            .map(|s| {
                let o = overrides.get(&s.name).unwrap_or(&none);
                let now = s.on_call(at, o);
                let next = s.next_handoffs(at, NEXT_HANDOFFS, o);
                ScheduleNow {
                    name: s.name.clone(),
                    timezone: s.tz.name().to_string(),
                    at,
                    on_call: now.people,
                    source: now.source,
                    until: next.first().map(|h| h.at),
                    next,
                }
            })
            .collect())
    }

    /// The shifts of `name` in [from, to), overrides applied.
    #[tracing::instrument(skip(self))]
    pub async fn schedule_shifts(
        &self,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Shift>, OncallError> {
        let s = self.schedule(name)?;
        let overrides = self.overrides_by_schedule(Some(name), from, to).await?;
        Ok(s.shifts(from, to, overrides.get(name).map_or(&[], |v| v)))
    }

    /// The calendar window: from midnight UTC 30 days back to 90 days ahead, whole days so that
    /// the events (and their UIDs) are the same on every fetch of a day.
    fn calendar_window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let today = self
            .now()
            .duration_trunc(Duration::days(1))
            .unwrap_or(self.now());
        (
            today - Duration::days(CALENDAR_PAST_DAYS),
            today + Duration::days(CALENDAR_AHEAD_DAYS + 1),
        )
    }

    /// `name`'s shifts as an iCalendar file (30 days back to 90 ahead, overrides applied).
    #[tracing::instrument(skip(self))]
    pub async fn schedule_calendar(&self, name: &str) -> Result<String, OncallError> {
        let (from, to) = self.calendar_window();
        let shifts = self.schedule_shifts(name, from, to).await?;
        let entries: Vec<ical::Entry> = shifts
            .iter()
            .map(|shift| ical::Entry {
                schedule: name,
                shift,
            })
            .collect();
        let title = format!("On call: {name}");
        Ok(ical::export(
            &title,
            &entries,
            self.catalog().directory(),
            self.now(),
        ))
    }

    /// One person's shifts across every schedule as an iCalendar file.
    #[tracing::instrument(skip(self))]
    pub async fn person_calendar(&self, person: &str) -> Result<String, OncallError> {
        let directory = self.catalog().directory();
        let who = directory
            .get(person)
            .ok_or_else(|| OncallError::UnknownPerson(person.to_string()))?;
        let (from, to) = self.calendar_window();
        let overrides = self.overrides_by_schedule(None, from, to).await?;
        let mut mine: Vec<(String, Shift)> = Vec::new();
        for s in self.catalog().schedules() {
            let o = overrides.get(&s.name).map_or(&[][..], |v| v);
            for shift in s.shifts(from, to, o) {
                if shift.people.contains(&who.id) {
                    mine.push((s.name.clone(), shift));
                }
            }
        }
        mine.sort_by_key(|(_, s)| s.start);
        let entries: Vec<ical::Entry> = mine
            .iter()
            .map(|(schedule, shift)| ical::Entry { schedule, shift })
            .collect();
        let name = who.name.clone().unwrap_or_else(|| who.id.clone());
        Ok(ical::export(
            &format!("On call: {name}"),
            &entries,
            directory,
            self.now(),
        ))
    }

    /// Live overrides of `name` that have not ended.
    pub async fn current_overrides(&self, name: &str) -> Result<Vec<OncallOverride>, OncallError> {
        self.schedule(name)?;
        let now = self.now();
        Ok(self
            .store()
            .overrides(Some(name), now, DateTime::<Utc>::MAX_UTC)
            .await?)
    }

    /// Puts a directory person on call for `name` for a while, in one transaction.
    #[tracing::instrument(skip(self, req), fields(person = %req.person))]
    pub async fn add_override(
        &self,
        name: &str,
        req: OverrideRequest,
        actor: &Actor,
    ) -> Result<OncallOverride, OncallError> {
        let mut unit = Unit::begin(self.store(), self.now()).await?;
        let stored = self.add_override_in(&mut unit, name, req, actor).await?;
        unit.commit(Some(self.hub())).await?;
        Ok(stored)
    }

    /// [`Engine::add_override`] inside `unit` (a `/oncall override` commits with its command).
    pub(crate) async fn add_override_in(
        &self,
        unit: &mut Unit,
        name: &str,
        req: OverrideRequest,
        actor: &Actor,
    ) -> Result<OncallOverride, OncallError> {
        may_override(actor)?;
        self.schedule(name)?;
        let person = self
            .catalog()
            .directory()
            .get(&req.person)
            .ok_or_else(|| OncallError::UnknownPerson(req.person.clone()))?;
        let now = self.now();
        let from = req.from.unwrap_or(now);
        let until = match (req.until, req.duration) {
            (Some(u), None) => u,
            (None, Some(d)) => {
                let d = Duration::from_std(d)
                    .ok()
                    .filter(|d| *d <= Duration::days(MAX_OVERRIDE_DAYS))
                    .ok_or_else(|| invalid("duration", "an override lasts at most 366 days"))?;
                from + d
            }
            (None, None) => return Err(invalid("until", "give `until` or `duration`")),
            (Some(_), Some(_)) => {
                return Err(invalid("until", "give `until` or `duration`, not both"));
            }
        };
        if until <= from {
            return Err(invalid("until", "must be after `from`"));
        }
        if until <= now {
            return Err(invalid("until", "is in the past"));
        }
        if until - from > Duration::days(MAX_OVERRIDE_DAYS) {
            return Err(invalid("until", "an override lasts at most 366 days"));
        }
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            return Err(invalid("reason", "at most 500 characters"));
        }
        let stored = unit
            .tx()
            .insert_override(
                &NewOverride {
                    schedule: name,
                    person: &person.id,
                    starts: from,
                    ends: until,
                    created_by: &actor.id,
                    reason,
                },
                now,
            )
            .await?;
        tracing::info!(id = stored.id, schedule = name, by = %actor.id, "on-call override added");
        Ok(stored)
    }

    /// Removes a live override of `name`, in one transaction.
    #[tracing::instrument(skip(self))]
    pub async fn remove_override(
        &self,
        name: &str,
        id: i64,
        actor: &Actor,
    ) -> Result<OncallOverride, OncallError> {
        may_override(actor)?;
        self.schedule(name)?;
        let mut unit = Unit::begin(self.store(), self.now()).await?;
        let now = unit.now();
        let removed = unit
            .tx()
            .remove_override(name, id, &actor.id, now)
            .await?
            .ok_or(OncallError::NoOverride(id))?;
        unit.commit(Some(self.hub())).await?;
        Ok(removed)
    }
}
