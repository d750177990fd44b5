//! Rotation math across DST, layers, restrictions and overrides, checked by hand and against a
//! brute-force minute-by-minute oracle.

use super::*;
use crate::domain::people::{Directory, Person, Team};
use chrono::NaiveDateTime;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn wall_time(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

fn cyclic(people: &[&str], shift: Duration, start: &str) -> Rotation {
    Rotation::Cyclic {
        slots: people.iter().map(|p| vec![p.to_string()]).collect(),
        shift,
        start: wall_time(start),
    }
}

fn layer(rotation: Rotation, restrict: &[&str]) -> Layer {
    Layer {
        rotation,
        restrict: restrict.iter().map(|r| r.parse().unwrap()).collect(),
    }
}

fn schedule(tz: &str, layers: Vec<Layer>) -> Schedule {
    Schedule {
        name: "s".into(),
        tz: zone(tz),
        layers,
    }
}

/// A schedule of one unrestricted layer that hands `people` on every `shift` from `start` (wall time).
fn rotating(tz: &str, people: &[&str], shift: Duration, start: &str) -> Schedule {
    schedule(tz, vec![layer(cyclic(people, shift, start), &[])])
}

fn who(s: &Schedule, t: &str) -> Vec<String> {
    s.on_call(utc(t), &[]).people
}

fn starts(shifts: &[Shift]) -> Vec<DateTime<Utc>> {
    shifts.iter().map(|s| s.start).collect()
}

#[test]
fn a_daily_berlin_handoff_stays_at_nine_local_through_spring_forward() {
    let s = rotating(
        "Europe/Berlin",
        &["alice", "bob"],
        Duration::days(1),
        "2026-03-27T09:00",
    );
    let shifts = s.shifts(
        utc("2026-03-27T08:00:00Z"),
        utc("2026-03-31T07:00:00Z"),
        &[],
    );
    assert_eq!(
        starts(&shifts),
        [
            "2026-03-27T08:00:00Z",
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z"
        ]
        .map(utc)
    );
    // The shift across the change is 23 hours long.
    assert_eq!(shifts[1].end - shifts[1].start, Duration::hours(23));
    assert_eq!(who(&s, "2026-03-29T06:59:00Z"), ["bob"]);
    assert_eq!(who(&s, "2026-03-29T07:00:00Z"), ["alice"]);
    assert!(
        who(&s, "2026-03-27T07:59:00Z").is_empty(),
        "before the first hand-off nobody"
    );
}

#[test]
fn a_daily_berlin_handoff_stays_at_nine_local_through_fall_back() {
    let s = rotating(
        "Europe/Berlin",
        &["alice", "bob"],
        Duration::days(1),
        "2026-10-24T09:00",
    );
    let shifts = s.shifts(
        utc("2026-10-24T07:00:00Z"),
        utc("2026-10-26T08:00:00Z"),
        &[],
    );
    assert_eq!(
        starts(&shifts),
        ["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"].map(utc)
    );
    assert_eq!(shifts[0].end - shifts[0].start, Duration::hours(25));
    assert_eq!(who(&s, "2026-10-25T07:59:59Z"), ["alice"]);
    assert_eq!(who(&s, "2026-10-25T08:00:00Z"), ["bob"]);
}

#[test]
fn new_york_handoffs_follow_the_wall_clock_in_both_seasons() {
    let s = rotating(
        "America/New_York",
        &["ann", "ben", "cat"],
        Duration::days(1),
        "2026-03-06T09:00",
    );
    let spring = s.next_handoffs(utc("2026-03-06T15:00:00Z"), 3, &[]);
    assert_eq!(
        spring.iter().map(|h| h.at).collect::<Vec<_>>(),
        [
            "2026-03-07T14:00:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-09T13:00:00Z"
        ]
        .map(utc)
    );
    assert_eq!(spring[1].people, ["cat"]);
    let fall = s.next_handoffs(utc("2026-10-31T12:00:00Z"), 2, &[]);
    assert_eq!(
        fall.iter().map(|h| h.at).collect::<Vec<_>>(),
        ["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"].map(utc)
    );
}

#[test]
fn sub_day_shifts_are_measured_on_the_wall_clock_and_24h_is_a_day() {
    // 12-hour turns 09:00/21:00 local: the night of the spring change is 11 hours long.
    let s = rotating(
        "Europe/Berlin",
        &["day", "night"],
        Duration::hours(12),
        "2026-03-28T09:00",
    );
    let shifts = s.shifts(
        utc("2026-03-28T20:00:00Z"),
        utc("2026-03-29T19:00:00Z"),
        &[],
    );
    assert_eq!(shifts[0].people, ["night"]);
    assert_eq!(shifts[0].end, utc("2026-03-29T07:00:00Z"));
    assert_eq!(shifts[0].end - shifts[0].start, Duration::hours(11));
    assert_eq!(
        spec::ScheduleSpec::default().layer.len(),
        0,
        "a spec starts without layers"
    );
    assert_eq!(
        humantime::parse_duration("24h").unwrap(),
        humantime::parse_duration("1d").unwrap()
    );
}

#[test]
fn handoffs_at_skipped_and_repeated_times_are_deterministic() {
    // Daily at 02:30 Berlin: skipped on 29 March (→ 03:00 CEST), repeated on 25 October (→ the first).
    let s = rotating(
        "Europe/Berlin",
        &["a", "b"],
        Duration::days(1),
        "2026-03-28T02:30",
    );
    let h = s.next_handoffs(utc("2026-03-28T02:00:00Z"), 2, &[]);
    assert_eq!(h[0].at, utc("2026-03-29T01:00:00Z"));
    assert_eq!(h[1].at, utc("2026-03-30T00:30:00Z"));
    let fall = rotating(
        "Europe/Berlin",
        &["a", "b"],
        Duration::days(1),
        "2026-10-24T02:30",
    );
    assert_eq!(
        fall.next_handoffs(utc("2026-10-24T01:00:00Z"), 1, &[])[0].at,
        utc("2026-10-25T00:30:00Z")
    );
}

#[test]
fn a_higher_restricted_layer_wins_only_inside_its_windows() {
    let s = schedule(
        "Europe/Berlin",
        vec![
            layer(
                cyclic(&["alice", "bob"], Duration::weeks(1), "2026-11-30T09:00"),
                &[],
            ),
            layer(
                cyclic(&["carol"], Duration::days(1), "2026-11-30T00:00"),
                &["mon-fri 09:00-18:00", "sat 10:00-14:00"],
            ),
        ],
    );
    // Tuesday 1 December 2026, Berlin is UTC+1.
    assert_eq!(who(&s, "2026-12-01T07:59:00Z"), ["alice"]);
    assert_eq!(who(&s, "2026-12-01T08:00:00Z"), ["carol"]);
    assert_eq!(who(&s, "2026-12-01T17:00:00Z"), ["alice"]);
    assert_eq!(who(&s, "2026-12-05T09:30:00Z"), ["carol"]); // Saturday 10:30
    assert_eq!(who(&s, "2026-12-06T09:30:00Z"), ["alice"]); // Sunday
    assert_eq!(who(&s, "2026-12-07T08:00:00Z"), ["carol"]); // Monday after the hand-off to bob
    assert_eq!(who(&s, "2026-12-07T18:00:00Z"), ["bob"]);
    let day = s.shifts(
        utc("2026-12-01T00:00:00Z"),
        utc("2026-12-02T00:00:00Z"),
        &[],
    );
    assert_eq!(
        day.iter()
            .map(|x| (x.start, x.people[0].as_str()))
            .collect::<Vec<_>>(),
        vec![
            (utc("2026-12-01T00:00:00Z"), "alice"),
            (utc("2026-12-01T08:00:00Z"), "carol"),
            (utc("2026-12-01T17:00:00Z"), "alice"),
        ]
    );
    assert_eq!(day[1].source, Source::Layer(1));
}

#[test]
fn overrides_replace_whoever_is_on_and_the_latest_wins() {
    let s = rotating(
        "UTC",
        &["alice", "bob"],
        Duration::days(1),
        "2026-12-01T00:00",
    );
    let o = |id, person: &str, from: &str, to: &str| Override {
        id,
        person: person.into(),
        from: utc(from),
        to: utc(to),
    };
    let overrides = [
        o(1, "dave", "2026-12-01T10:00:00Z", "2026-12-01T14:00:00Z"),
        o(2, "erin", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z"),
    ];
    let at = |t| s.on_call(utc(t), &overrides);
    assert_eq!(at("2026-12-01T09:59:00Z").people, ["alice"]);
    assert_eq!(at("2026-12-01T10:00:00Z").source, Source::Override(1));
    assert_eq!(at("2026-12-01T12:30:00Z").people, ["erin"]);
    assert_eq!(at("2026-12-01T13:30:00Z").people, ["dave"]);
    assert_eq!(at("2026-12-01T14:00:00Z").people, ["alice"]);
    let shifts = s.shifts(
        utc("2026-12-01T00:00:00Z"),
        utc("2026-12-02T00:00:00Z"),
        &overrides,
    );
    let names: Vec<&str> = shifts.iter().map(|x| x.people[0].as_str()).collect();
    assert_eq!(names, ["alice", "dave", "erin", "dave", "alice"]);
    let next = s.next_handoffs(utc("2026-12-01T00:00:00Z"), 5, &overrides);
    let names: Vec<&str> = next.iter().map(|h| h.people[0].as_str()).collect();
    assert_eq!(names, ["dave", "erin", "dave", "alice", "bob"]);
}

fn directory() -> Directory {
    let person = |id: &str, name: &str, email: &str| Person {
        id: id.into(),
        name: Some(name.into()),
        email: Some(email.into()),
        ..Person::default()
    };
    Directory::new(
        vec![
            person("alice", "Alice Ng", "alice@example.com"),
            person("bob", "Bob Stone", "bob@example.com"),
            person("carol", "Carol Diaz", "carol@example.com"),
        ],
        vec![Team {
            id: "payments".into(),
            members: vec!["alice".into(), "bob".into()],
            ..Team::default()
        }],
    )
    .unwrap()
}

fn spec_toml(text: &str) -> ScheduleSpec {
    toml::from_str(text).unwrap()
}

#[test]
fn specs_build_and_team_turns_put_the_whole_team_on_call() {
    let spec = spec_toml(
        "name = \"p\"\ntimezone = \"Europe/Berlin\"\n[[layer]]\nteams = [\"payments\"]\nshift = \"1w\"\n\
         start = \"2026-01-05T09:00\"\n[[layer]]\npeople = [\"carol\"]\nshift = \"1d\"\nstart = \"2026-01-05T09:00\"\n\
         restrict = [\"sat-sun\"]\n",
    );
    let s = spec.build(&directory(), &BTreeMap::new()).unwrap();
    assert_eq!(who(&s, "2026-12-01T12:00:00Z"), ["alice", "bob"]);
    assert_eq!(who(&s, "2026-12-05T12:00:00Z"), ["carol"]);
    assert_eq!(s.members(), ["alice", "bob", "carol"]);
}

#[test]
fn bad_specs_are_named_by_schedule_and_layer() {
    let cases = [
        (
            "timezone = \"Mars/Base\"\n[[layer]]\npeople = [\"alice\"]",
            "schedule `p`: timezone `Mars/Base`",
        ),
        ("timezone = \"UTC\"", "schedule `p`: needs at least one"),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"ghost\"]\nshift = \"1d\"\nstart = \"2026-01-01T00:00\"",
            "schedule `p` layer 1: person `ghost`",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nshift = \"1d\"\nstart = \"2026-01-01T00:00\"\n[[layer]]\nteams = [\"nope\"]\nshift = \"1d\"\nstart = \"2026-01-01T00:00\"",
            "schedule `p` layer 2: team `nope`",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nshift = \"soon\"\nstart = \"2026-01-01T00:00\"",
            "layer 1: shift `soon`",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nshift = \"30s\"\nstart = \"2026-01-01T00:00\"",
            "layer 1: shift `30s` must be whole minutes",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nshift = \"1d\"\nstart = \"tomorrow\"",
            "layer 1: start `tomorrow`",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nshift = \"1d\"\nstart = \"2026-01-01T00:00\"\nrestrict = [\"someday\"]",
            "layer 1: restriction `someday`",
        ),
        (
            "timezone = \"UTC\"\n[[layer]]\npeople = [\"alice\"]\nteams = [\"payments\"]\nshift = \"1d\"\nstart = \"2026-01-01T00:00\"",
            "layer 1: give exactly one",
        ),
    ];
    for (body, expected) in cases {
        let spec = spec_toml(&format!("name = \"p\"\n{body}\n"));
        let e = spec
            .build(&directory(), &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(expected) || e.contains(expected),
            "{e} should say {expected}"
        );
    }
}

#[test]
fn an_exported_calendar_parses_back_and_imports_as_the_same_shifts() {
    let s = rotating(
        "Europe/Berlin",
        &["alice", "bob"],
        Duration::days(1),
        "2026-03-27T09:00",
    );
    let shifts = s.shifts(
        utc("2026-03-27T08:00:00Z"),
        utc("2026-03-31T07:00:00Z"),
        &[],
    );
    let entries: Vec<ical::Entry> = shifts
        .iter()
        .map(|shift| ical::Entry {
            schedule: "s",
            shift,
        })
        .collect();
    let text = ical::export("s", &entries, &directory(), utc("2026-03-01T00:00:00Z"));
    assert!(text.contains("DTSTART:20260329T070000Z"), "{text}");
    assert!(
        text.contains("REFRESH-INTERVAL;VALUE=DURATION:PT3600S"),
        "{text}"
    );
    let again = ical::import(&text, zone("Europe/Berlin"), &directory()).unwrap();
    let imported = Rotation::fixed(again);
    for shift in &shifts {
        assert_eq!(imported.at(s.tz, shift.start), Some(shift.people.clone()));
        assert_eq!(
            imported.at(s.tz, shift.end - Duration::seconds(1)),
            Some(shift.people.clone())
        );
    }
    let again_text = ical::export("s", &entries, &directory(), utc("2026-03-01T00:00:00Z"));
    assert_eq!(text, again_text, "UIDs and content are stable");
}

#[test]
fn feeds_from_other_tools_map_people_by_attendee_summary_or_name() {
    let feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//PagerDuty Inc.//Schedule//EN\r\n\
        BEGIN:VEVENT\r\nUID:pd-1\r\nDTSTART:20261201T080000Z\r\nDTEND:20261202T080000Z\r\n\
        SUMMARY:On Call - Alice Ng - Primary\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:go-2\r\nDTSTART;TZID=Europe/Berlin:20261202T090000\r\n\
        DTEND;TZID=Europe/Berlin:20261203T090000\r\nSUMMARY:[L1] shift\r\n\
        ATTENDEE;CN=Bob:mailto:bob@example.com\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:og-3\r\nDTSTART:20261203T090000\r\nDTEND:20261204T090000\r\n\
        SUMMARY:carol\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let shifts = ical::import(feed, zone("Europe/Berlin"), &directory()).unwrap();
    let people: Vec<&str> = shifts.iter().map(|s| s.people[0].as_str()).collect();
    assert_eq!(people, ["alice", "bob", "carol"]);
    assert_eq!(shifts[1].start, utc("2026-12-02T08:00:00Z"));
    assert_eq!(
        shifts[2].start,
        utc("2026-12-03T08:00:00Z"),
        "floating times are local"
    );
    let bad = feed.replace("SUMMARY:carol", "SUMMARY:mallory");
    assert_eq!(
        ical::import(&bad, zone("UTC"), &directory())
            .unwrap_err()
            .to_string(),
        "event `mallory` names no [[person]] (by id, e-mail or name in SUMMARY or ATTENDEE)"
    );
}

// --- the oracle -------------------------------------------------------------------------------

/// Who is on at `t`, the slow way: hand-offs walked one by one from the first.
fn brute(s: &Schedule, t: DateTime<Utc>, overrides: &[Override]) -> Vec<String> {
    if let Some(o) = overrides
        .iter()
        .filter(|o| o.from <= t && t < o.to)
        .max_by_key(|o| o.id)
    {
        return vec![o.person.clone()];
    }
    for l in s.layers.iter().rev() {
        let wall_now = wall::local(s.tz, t);
        if !l.restrict.is_empty() && !l.restrict.iter().any(|w| w.contains(wall_now)) {
            continue;
        }
        if let Rotation::Cyclic {
            slots,
            shift,
            start,
        } = &l.rotation
        {
            let at =
                |i: i64| wall::resolve(s.tz, *start + Duration::seconds(shift.num_seconds() * i));
            if t < at(0) {
                continue;
            }
            let mut i = 0;
            while at(i + 1) <= t {
                i += 1;
            }
            return slots[(i as usize) % slots.len()].clone();
        }
    }
    Vec::new()
}

fn arb_zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "UTC",
    ])
    .prop_map(zone)
}

fn arb_layer() -> impl Strategy<Value = Layer> {
    let people = prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 1..4);
    let shift = prop::sample::select(vec![30i64, 60, 90, 7 * 60, 12 * 60, 24 * 60, 7 * 24 * 60]);
    let window = (0u8..7, 0u8..7, 0u32..48, 1u32..48).prop_map(|(d1, d2, a, len)| {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let start = a * 30;
        let end = (start + len * 30) % 1440;
        let end = if end == start { (end + 30) % 1440 } else { end };
        let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        format!(
            "{}-{} {}-{}",
            days[d1 as usize],
            days[d2 as usize],
            hm(start),
            hm(end)
        )
    });
    (
        people,
        shift,
        0i64..(14 * 48),
        prop::collection::vec(window, 0..3),
    )
        .prop_map(|(people, shift, start_slot, windows)| {
            let start = wall_time("2026-10-15T00:00") + Duration::minutes(start_slot * 30 + 7);
            Layer {
                rotation: Rotation::Cyclic {
                    slots: people.iter().map(|p| vec![p.to_string()]).collect(),
                    shift: Duration::minutes(shift),
                    start,
                },
                restrict: windows.iter().map(|w| w.parse().unwrap()).collect(),
            }
        })
}

fn arb_overrides(from: DateTime<Utc>) -> impl Strategy<Value = Vec<Override>> {
    prop::collection::vec(
        (
            0i64..(3 * 24 * 60),
            1i64..600,
            prop::sample::select(vec!["x", "y"]),
        ),
        0..3,
    )
    .prop_map(move |v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (at, len, p))| Override {
                id: i as i64 + 1,
                person: p.into(),
                from: from + Duration::minutes(at),
                to: from + Duration::minutes(at + len),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Around DST changes of each zone (fall and spring, Lord Howe's half hour too), every minute of
    /// three days of `shifts` agrees with the oracle, and the shifts tile the period exactly.
    #[test]
    fn shifts_agree_with_a_minute_by_minute_oracle(
        tz in arb_zone(),
        layers in prop::collection::vec(arb_layer(), 1..4),
        base in prop::sample::select(vec![
            "2026-10-24T00:00:00Z", // Berlin falls back on the 25th
            "2026-10-31T12:00:00Z", // New York on 1 November
            "2027-03-12T12:00:00Z", // New York springs forward on the 14th
            "2027-03-26T12:00:00Z", // Berlin on the 28th
            "2027-04-02T12:00:00Z", // Lord Howe falls back half an hour on the 4th
        ]),
        offset in 0i64..(24 * 60),
        overrides in arb_overrides(utc("2026-10-15T00:00:00Z")),
    ) {
        let from = utc(base) + Duration::minutes(offset);
        let delta = from - utc("2026-10-15T00:00:00Z");
        let layers = layers
            .into_iter()
            .map(|mut l| {
                if let Rotation::Cyclic { start, .. } = &mut l.rotation {
                    *start += delta - Duration::days(14);
                }
                l
            })
            .collect();
        let s = Schedule { name: "p".into(), tz, layers };
        let to = from + Duration::days(3);
        let overrides: Vec<Override> = overrides
            .into_iter()
            .map(|o| Override { from: o.from + delta, to: o.to + delta, ..o })
            .collect();
        let shifts = s.shifts(from, to, &overrides);
        prop_assert_eq!(shifts.first().map(|x| x.start), Some(from));
        prop_assert_eq!(shifts.last().map(|x| x.end), Some(to));
        for pair in shifts.windows(2) {
            prop_assert_eq!(pair[0].end, pair[1].start);
            prop_assert!(pair[0].people != pair[1].people || pair[0].source != pair[1].source);
        }
        let mut k = 0;
        let mut t = from;
        while t < to {
            while shifts[k].end <= t { k += 1; }
            let expected = brute(&s, t, &overrides);
            prop_assert_eq!(&shifts[k].people, &expected, "at {}", t);
            prop_assert_eq!(&s.on_call(t, &overrides).people, &expected, "at {}", t);
            t += Duration::minutes(1);
        }
    }

    /// Over half a year of random instants the fast lookup equals the oracle.
    #[test]
    fn on_call_agrees_with_the_oracle_over_half_a_year(
        tz in arb_zone(),
        layers in prop::collection::vec(arb_layer(), 1..3),
        minutes in prop::collection::vec(0i64..(60 * 24 * 200), 50),
    ) {
        let s = Schedule { name: "p".into(), tz, layers };
        for m in minutes {
            let t = utc("2026-10-15T00:00:00Z") + Duration::minutes(m);
            prop_assert_eq!(s.on_call(t, &[]).people, brute(&s, t, &[]), "at {}", t);
        }
    }
}

#[test]
fn a_window_in_the_repeated_hour_is_active_in_both_occurrences() {
    let s = schedule(
        "Europe/Berlin",
        vec![
            layer(
                cyclic(&["base"], Duration::days(1), "2026-10-01T00:00"),
                &[],
            ),
            layer(
                cyclic(&["night"], Duration::days(1), "2026-10-01T00:00"),
                &["sun 02:00-02:30"],
            ),
        ],
    );
    let shifts = s.shifts(
        utc("2026-10-24T23:00:00Z"),
        utc("2026-10-25T02:00:00Z"),
        &[],
    );
    let got: Vec<(DateTime<Utc>, &str)> = shifts
        .iter()
        .map(|x| (x.start, x.people[0].as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (utc("2026-10-24T23:00:00Z"), "base"),
            (utc("2026-10-25T00:00:00Z"), "night"),
            (utc("2026-10-25T00:30:00Z"), "base"),
            (utc("2026-10-25T01:00:00Z"), "night"),
            (utc("2026-10-25T01:30:00Z"), "base"),
        ]
    );
}

/// A window that wraps midnight and ends inside the repeated hour of a fall-back (found by the
/// oracle property): when Berlin's clock goes back from 03:00 to 02:00, a `04:00–02:30` window is
/// active again until the second 02:30, and the shifts must say so.
#[test]
fn a_window_reopens_when_the_clock_falls_back_into_it() {
    let s = schedule(
        "Europe/Berlin",
        vec![layer(
            cyclic(&["a"], Duration::minutes(30), "2026-10-15T00:07"),
            &["mon-sun 04:00-02:30"],
        )],
    );
    let from = utc("2026-10-24T22:00:00Z");
    let to = utc("2026-10-25T04:00:00Z");
    let shifts = s.shifts(from, to, &[]);
    let at = |t: &str| {
        let t = utc(t);
        shifts
            .iter()
            .find(|x| x.start <= t && t < x.end)
            .map(|x| x.people.clone())
            .unwrap()
    };
    assert_eq!(at("2026-10-25T00:15:00Z"), vec!["a".to_string()]); // 02:15 CEST: inside
    assert!(at("2026-10-25T00:45:00Z").is_empty()); // 02:45 CEST: after the first 02:30
    assert_eq!(at("2026-10-25T01:00:00Z"), vec!["a".to_string()]); // 02:00 CET: inside again
    assert!(at("2026-10-25T01:45:00Z").is_empty()); // 02:45 CET
    assert_eq!(
        s.on_call(utc("2026-10-25T01:10:00Z"), &[]).people,
        vec!["a".to_string()]
    );
}
