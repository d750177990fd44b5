//! `cargo bench --bench oncall`: who is on call for 1,000 schedules, over a year of shifts.
//!
//! 1,000 schedules in five zones with DST (and Kolkata), each with one to three layers (people or
//! teams, shifts of 8 h, 12 h, 1 d or 1 w, some restricted to business hours or weekends) and a few
//! overrides. Measured: one "who is on call now" for every schedule; a year of shifts per schedule
//! (what the iCalendar export and "next hand-offs" walk); the next five hand-offs per schedule.
//! Pure domain code: no database, no HTTP.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::time::Instant;
use warroom::domain::oncall::{Layer, Override, Rotation, Schedule, Window};

const SCHEDULES: usize = 1_000;
const RUNS: usize = 5;

/// A deterministic pseudo-random sequence (xorshift), so every run measures the same schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn schedules(now: DateTime<Utc>) -> Vec<(Schedule, Vec<Override>)> {
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/Los_Angeles",
    ];
    let shifts = [8 * 60, 12 * 60, 24 * 60, 7 * 24 * 60];
    let restricts: [&[&str]; 4] = [&[], &["mon-fri 09:00-18:00"], &["sat-sun"], &[]];
    let start = NaiveDateTime::parse_from_str("2026-01-05T09:00", "%Y-%m-%dT%H:%M").unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..SCHEDULES)
        .map(|i| {
            let layers = (0..1 + rng.next(3))
                .map(|l| {
                    let people = 2 + rng.next(5);
                    let slots = (0..people)
                        .map(|p| {
                            let team = rng.next(4) == 0;
                            let size = if team { 3 } else { 1 };
                            (0..size).map(|m| format!("p{i}-{l}-{p}-{m}")).collect()
                        })
                        .collect();
                    Layer {
                        rotation: Rotation::Cyclic {
                            slots,
                            shift: Duration::minutes(shifts[rng.next(4) as usize]),
                            start: start + Duration::hours(rng.next(24 * 30) as i64),
                        },
                        restrict: restricts[if l == 0 { 0 } else { rng.next(4) as usize }]
                            .iter()
                            .map(|r| r.parse::<Window>().unwrap())
                            .collect(),
                    }
                })
                .collect();
            let overrides = (0..rng.next(4))
                .map(|o| {
                    let from = now + Duration::hours(rng.next(24 * 300) as i64);
                    Override {
                        id: o as i64 + 1,
                        person: format!("o{i}-{o}"),
                        from,
                        to: from + Duration::hours(1 + rng.next(48) as i64),
                    }
                })
                .collect();
            let schedule = Schedule {
                name: format!("s{i}"),
                tz: zones[i % zones.len()].parse().unwrap(),
                layers,
            };
            (schedule, overrides)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
    let all = schedules(now);
    let layers: usize = all.iter().map(|(s, _)| s.layers.len()).sum();
    let overrides: usize = all.iter().map(|(_, o)| o.len()).sum();
    println!(
        "{SCHEDULES} schedules, {layers} layers, {overrides} overrides; {RUNS} runs each, median"
    );

    let (mut lookup, mut year, mut next) = (Vec::new(), Vec::new(), Vec::new());
    let (mut shifts, mut on) = (0usize, 0usize);
    for _ in 0..RUNS {
        let t = Instant::now();
        on = 0;
        for (s, o) in &all {
            // Every hour of a day, so the lookups hit layers, restrictions and overrides alike.
            for h in 0..24 {
                on += s.on_call(now + Duration::hours(h), o).people.len();
            }
        }
        lookup.push(t.elapsed().as_secs_f64() * 1e6 / (SCHEDULES * 24) as f64);

        let t = Instant::now();
        shifts = 0;
        for (s, o) in &all {
            shifts += s.shifts(now, now + Duration::days(365), o).len();
        }
        year.push(t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        for (s, o) in &all {
            std::hint::black_box(s.next_handoffs(now, 5, o));
        }
        next.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "who is on call, one schedule at one instant: {:.2} µs ({on} people over 24,000 lookups)",
        median(lookup)
    );
    println!(
        "a year of shifts for all 1,000 schedules: {:.0} ms ({shifts} shifts)",
        median(year)
    );
    println!(
        "the next 5 hand-offs for all 1,000 schedules: {:.1} ms",
        median(next)
    );
}
