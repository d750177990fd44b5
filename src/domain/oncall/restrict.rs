//! Layer restrictions: weekly windows of local wall-clock time (`mon-fri 09:00-18:00`) when a layer is active.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::fmt;
use std::str::FromStr;

/// Minutes in a day.
const DAY: u32 = 24 * 60;

/// Day names, Monday first.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One weekly window: on these weekdays, from `start` to `end` local time (past midnight when `end <= start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Which weekdays the window starts on, Monday = index 0.
    days: [bool; 7],
    /// Start, minutes after midnight.
    start: u32,
    /// End, minutes after midnight (1440 = midnight at the end of the day).
    end: u32,
}

/// A restriction that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "restriction `{text}`: {reason} (write like `mon-fri 09:00-18:00`, `sat-sun` or `22:00-06:00`)"
)]
pub struct RestrictError {
    /// What was written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Window {
    /// Whether the wall-clock time `t` lies inside the window.
    pub fn contains(&self, t: NaiveDateTime) -> bool {
        let day = t.weekday().num_days_from_monday() as usize;
        let minute = t.hour() * 60 + t.minute();
        if self.start < self.end {
            self.days[day] && minute >= self.start && minute < self.end
        } else {
            let yesterday = (day + 6) % 7;
            (self.days[day] && minute >= self.start) || (self.days[yesterday] && minute < self.end)
        }
    }

    /// The wall-clock times on or around `date` where this window opens or closes.
    pub fn edges_on(&self, date: NaiveDate) -> Vec<NaiveDateTime> {
        let day = date.weekday().num_days_from_monday() as usize;
        if !self.days[day] {
            return Vec::new();
        }
        let at =
            |minutes: u32| date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
        let end = if self.end <= self.start {
            self.end + DAY
        } else {
            self.end
        };
        vec![at(self.start), at(end)]
    }
}

impl FromStr for Window {
    type Err = RestrictError;

    fn from_str(text: &str) -> Result<Window, RestrictError> {
        let fail = |reason: &str| RestrictError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let mut days = [true; 7];
        let (mut start, mut end) = (0, DAY);
        let words: Vec<&str> = text.split_whitespace().collect();
        let (day_part, time_part) = match words.as_slice() {
            [one] if one.contains(':') => (None, Some(*one)),
            [one] => (Some(*one), None),
            [d, t] => (Some(*d), Some(*t)),
            _ => return Err(fail("expected `DAYS HH:MM-HH:MM`")),
        };
        if let Some(d) = day_part {
            days = parse_days(d)
                .ok_or_else(|| fail("unknown weekday: use mon … sun, ranges and commas"))?;
        }
        if let Some(t) = time_part {
            let (a, b) = t
                .split_once('-')
                .ok_or_else(|| fail("a time range is `HH:MM-HH:MM`"))?;
            start = minutes(a, false).ok_or_else(|| fail("the start is not a time HH:MM"))?;
            end = minutes(b, true).ok_or_else(|| fail("the end is not a time HH:MM"))?;
            if start == end {
                return Err(fail("the window is empty"));
            }
        }
        Ok(Window { days, start, end })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = DAYS
            .iter()
            .zip(self.days)
            .filter_map(|(d, on)| on.then_some(*d))
            .collect();
        let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{} {}-{}", days.join(","), hm(self.start), hm(self.end))
    }
}

fn day_index(name: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| name.len() >= 3 && d.starts_with(&name[..3]) && is_day_name(&name))
}

fn is_day_name(name: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    FULL.iter().any(|f| f.starts_with(name))
}

/// `mon-fri`, `sat,sun`, `fri-mon` (wrapping) → the set of weekdays.
fn parse_days(text: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a)?, day_index(b)?);
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day_index(part)?] = true,
        }
    }
    Some(days)
}

/// `HH:MM` → minutes after midnight; `24:00` only as an end.
fn minutes(text: &str, is_end: bool) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if is_end => Some(DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn windows_parse_and_contain_local_times() {
        let w: Window = "mon-fri 09:00-18:00".parse().unwrap();
        assert!(w.contains(at("2026-12-04T09:00"))); // a Friday
        assert!(!w.contains(at("2026-12-04T18:00")));
        assert!(!w.contains(at("2026-12-05T10:00"))); // Saturday
        let night: Window = "fri 22:00-06:00".parse().unwrap();
        assert!(night.contains(at("2026-12-05T05:59")));
        assert!(!night.contains(at("2026-12-06T05:59")));
        let weekend: Window = "sat-sun".parse().unwrap();
        assert!(weekend.contains(at("2026-12-06T23:59")));
        let wrap: Window = "fri-mon 10:00-24:00".parse().unwrap();
        assert!(wrap.contains(at("2026-12-07T23:00")));
        assert!(!wrap.contains(at("2026-12-08T11:00")));
        assert_eq!(w.to_string(), "mon,tue,wed,thu,fri 09:00-18:00");
        assert_eq!(
            w.edges_on(at("2026-12-04T00:00").date()),
            vec![at("2026-12-04T09:00"), at("2026-12-04T18:00")]
        );
    }

    #[test]
    fn bad_windows_say_why() {
        for bad in [
            "funday 09:00-10:00",
            "mon 9-10",
            "mon 10:00-10:00",
            "mon 25:00-26:00",
            "a b c",
        ] {
            let e = bad.parse::<Window>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
