//! iCalendar: shifts exported for calendar subscriptions, and feeds (Grafana OnCall, PagerDuty,
//! Opsgenie exports) imported as a layer's fixed shifts.

use super::rotation::FixedShift;
use super::{Shift, wall};
use crate::domain::people::{Directory, Person};
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use icalendar::{
    Calendar, CalendarDateTime, Component, DatePerhapsTime, Event, EventLike, Property,
};

/// One exported event: a shift of a schedule.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The schedule's name.
    pub schedule: &'a str,
    /// The shift.
    pub shift: &'a Shift,
}

/// The stable UID of a shift: the same shift gets the same UID in every export.
pub fn uid(schedule: &str, shift: &Shift) -> String {
    format!(
        "{schedule}-{}-{}@warroom",
        shift.start.timestamp(),
        shift.people.join("+")
    )
}

fn display(directory: &Directory, id: &str) -> String {
    directory
        .get(id)
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// A calendar named `name` with one event per shift someone is on (times in UTC), asking subscribers
/// to refresh hourly; `stamp` is DTSTAMP.
pub fn export(
    name: &str,
    entries: &[Entry<'_>],
    directory: &Directory,
    stamp: DateTime<Utc>,
) -> String {
    let mut cal = Calendar::new();
    cal.name(name).ttl(&chrono::Duration::hours(1));
    for e in entries.iter().filter(|e| !e.shift.people.is_empty()) {
        let names: Vec<String> = e
            .shift
            .people
            .iter()
            .map(|p| display(directory, p))
            .collect();
        let mut event = Event::new();
        event
            .uid(&uid(e.schedule, e.shift))
            .timestamp(stamp)
            .summary(&format!("On call: {} ({})", names.join(", "), e.schedule))
            .description(&format!(
                "schedule: {}\npeople: {}",
                e.schedule,
                e.shift.people.join(", ")
            ))
            .starts(CalendarDateTime::Utc(e.shift.start))
            .ends(CalendarDateTime::Utc(e.shift.end))
            .add_property("X-WARROOM-PEOPLE", e.shift.people.join(","));
        for p in e.shift.people.iter().filter_map(|id| directory.get(id)) {
            if let Some(email) = &p.email {
                let mut a = Property::new("ATTENDEE", format!("mailto:{email}"));
                a.add_parameter("CN", &display(directory, &p.id));
                event.append_multi_property(a);
            }
        }
        cal.push(event.done());
    }
    cal.done().to_string()
}

/// Why a feed could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text is not iCalendar.
    #[error("not an iCalendar file: {0}")]
    Parse(String),
    /// An event without a usable start or end.
    #[error("event `{0}` has no usable DTSTART/DTEND")]
    Times(String),
    /// An event that names nobody the directory knows.
    #[error("event `{0}` names no [[person]] (by id, e-mail or name in SUMMARY or ATTENDEE)")]
    Nobody(String),
}

/// The instant of a feed time: UTC as is, TZID by its zone, floating times and dates in the schedule's zone.
fn instant(t: &DatePerhapsTime, tz: Tz) -> Option<DateTime<Utc>> {
    match t {
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(t)) => Some(*t),
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(n)) => Some(wall::resolve(tz, *n)),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            let zone: Tz = tzid.trim_matches('"').parse().unwrap_or(tz);
            Some(wall::resolve(zone, *date_time))
        }
        DatePerhapsTime::Date(d) => Some(wall::resolve(tz, d.and_time(NaiveTime::MIN))),
    }
}

/// The person a text names: an id, an e-mail (`mailto:` or not) or a display name, ignoring case.
fn person_named<'a>(directory: &'a Directory, text: &str) -> Option<&'a Person> {
    let t = text
        .trim()
        .trim_start_matches("mailto:")
        .trim_start_matches("MAILTO:");
    if t.is_empty() {
        return None;
    }
    directory
        .get(t)
        .or_else(|| directory.by_email(t))
        .or_else(|| {
            directory.people().find(|p| {
                p.id.eq_ignore_ascii_case(t)
                    || p.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t))
            })
        })
}

/// The people a SUMMARY like `On call - Alice Ng - Primary` mentions (ids and names as whole words).
fn mentioned(directory: &Directory, summary: &str) -> Vec<String> {
    let lower = summary.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
        .filter(|w| !w.is_empty())
        .collect();
    let has_phrase = |phrase: &str| {
        let p: Vec<String> = phrase
            .to_lowercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        !p.is_empty()
            && words
                .windows(p.len())
                .any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
    };
    directory
        .people()
        .filter(|p| {
            has_phrase(&p.id)
                || p.name.as_deref().is_some_and(has_phrase)
                || p.email.as_deref().is_some_and(has_phrase)
        })
        .map(|p| p.id.clone())
        .collect()
}

/// The shifts of a feed, each mapped to people of the directory by `X-WARROOM-PEOPLE` (warroom's own
/// exports), else ATTENDEE, else SUMMARY.
pub fn import(text: &str, tz: Tz, directory: &Directory) -> Result<Vec<FixedShift>, ImportError> {
    let cal: Calendar = text.parse().map_err(ImportError::Parse)?;
    let mut out = Vec::new();
    for event in cal.events() {
        let summary = event.get_summary().unwrap_or_default().to_string();
        let label = if summary.is_empty() {
            event.get_uid().unwrap_or("?").to_string()
        } else {
            summary.clone()
        };
        let (start, end) = match (event.get_start(), event.get_end()) {
            (Some(s), Some(e)) => (instant(&s, tz), instant(&e, tz)),
            _ => (None, None),
        };
        let (Some(start), Some(end)) = (start, end) else {
            return Err(ImportError::Times(label));
        };
        // warroom's own exports name the people exactly.
        let mut people: Vec<String> = event
            .property_value("X-WARROOM-PEOPLE")
            .map(|v| {
                v.split(',')
                    .filter_map(|id| directory.get(id.trim()).map(|p| p.id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if people.is_empty()
            && let Some(attendees) = event.multi_properties().get("ATTENDEE")
        {
            for a in attendees {
                let cn = a.params().get("CN").map(|p| p.value().to_string());
                let found = person_named(directory, a.value())
                    .or_else(|| cn.as_deref().and_then(|c| person_named(directory, c)));
                if let Some(p) = found {
                    people.push(p.id.clone());
                }
            }
        }
        if people.is_empty() {
            match person_named(directory, &summary) {
                Some(p) => people.push(p.id.clone()),
                None => people = mentioned(directory, &summary),
            }
        }
        if people.is_empty() {
            return Err(ImportError::Nobody(label));
        }
        people.dedup();
        out.push(FixedShift { start, end, people });
    }
    Ok(out)
}
