//! Local wall-clock time in a schedule's zone, and the deterministic rule for times DST skips or repeats.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The wall-clock time `t` shows in `tz`.
pub fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    tz.from_utc_datetime(&t.naive_utc()).naive_local()
}

/// The instant a wall-clock time names in `tz`.
///
/// A time that exists once is that instant; a repeated time (fall back) is its earlier occurrence; a
/// skipped time (spring forward) is the first instant after the gap, the moment the clock jumps. So
/// hand-offs never move backwards and the rule is the same on every run.
pub fn resolve(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => first_at_or_after(tz, wall),
    }
}

/// Every instant a wall-clock time names: one, two when repeated, or the end of the gap when skipped.
pub fn resolve_all(tz: Tz, wall: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
        LocalResult::None => vec![first_at_or_after(tz, wall)],
    }
}

/// The instants in (from, to) where `tz` changes its UTC offset (DST starts or ends): the wall clock
/// jumps there, so a restriction window can open or close at that instant without an edge of its own.
pub fn offset_changes(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| {
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let step = Duration::hours(6);
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let next = (t + step).min(to);
        if offset(t) != offset(next) {
            // The offset of `lo` is the old one, of `hi` the new one: narrow to the second.
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while lo + 1 < hi {
                let mid = lo + (hi - lo) / 2;
                let at = DateTime::from_timestamp(mid, 0).unwrap_or_default();
                if offset(at) == offset(t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(DateTime::from_timestamp(hi, 0).unwrap_or_default());
        }
        t = next;
    }
    out
}

/// The first instant whose wall-clock time is at or after `wall` (offsets lie within −12 h … +14 h).
fn first_at_or_after(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    let base = wall.and_utc().timestamp();
    let (mut lo, mut hi) = (base - 15 * 3600, base + 13 * 3600);
    let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if local(tz, at(mid)) >= wall {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn skipped_times_are_the_end_of_the_gap_and_repeated_ones_the_first() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29 02:00 → 03:00 CEST: 02:30 does not exist.
        assert_eq!(
            resolve(berlin, wall("2026-03-29T02:30")),
            utc("2026-03-29T01:00:00Z")
        );
        // 2026-10-25 03:00 → 02:00 CET: 02:30 happens twice.
        assert_eq!(
            resolve(berlin, wall("2026-10-25T02:30")),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(resolve_all(berlin, wall("2026-10-25T02:30")).len(), 2);
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            resolve(ny, wall("2026-03-08T02:15")),
            utc("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            resolve(ny, wall("2026-11-01T01:30")),
            utc("2026-11-01T05:30:00Z")
        );
    }
}
