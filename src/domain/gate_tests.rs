//! Tests of the change gate.
use super::*;
use chrono::TimeZone;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn input<'a>(
    windows: &'a [FreezeWindow],
    freezes: &'a [Freeze],
    deps: &'a BTreeSet<String>,
    incidents: &'a [OpenIncident],
    now: DateTime<Utc>,
) -> GateInput<'a> {
    GateInput {
        service: "checkout",
        kind: Some(ChangeKind::Deploy),
        now,
        windows,
        freezes,
        dependencies: deps,
        incidents,
        min_severity: Severity::P1,
        budget_remaining: Some(0.4),
        budget_floor: 0.0,
    }
}

#[test]
fn five_field_cron_is_translated_with_sunday_zero() {
    let t = |e: &str| to_cron_crate(e).unwrap();
    assert_eq!(t("0 18 * * 5"), "0 0 18 * * 6");
    assert_eq!(t("30 9 * * 1-5"), "0 30 9 * * 2,3,4,5,6");
    assert_eq!(t("0 0 * * 0,7"), "0 0 0 * * 1");
    assert_eq!(t("0 0 * * FRI"), "0 0 0 * * 6");
    assert_eq!(t("0 0 * * */2"), "0 0 0 * * 1,3,5,7");
    assert_eq!(t("0 0 18 * * Fri"), "0 0 18 * * Fri");
}

#[test]
fn windows_whose_days_end_on_or_wrap_past_sunday_open_on_those_days() {
    // 2026-11-20 is a Friday, 21 Saturday, 22 Sunday, 23 Monday.
    let opens = |dow: &str, d: u32| {
        let w = FreezeWindow::parse("w", &format!("0 10 * * {dow}"), "1h", "UTC")
            .unwrap_or_else(|e| panic!("{dow}: {e}"));
        w.open_until(at(2026, 11, d, 10, 30)).is_some()
    };
    for (dow, days) in [
        ("1-7", [true, true, true, true]),
        ("0-6", [true, true, true, true]),
        ("5-7", [true, true, true, false]),
        ("6-7", [false, true, true, false]),
        ("SAT-SUN", [false, true, true, false]),
        ("0,7", [false, false, true, false]),
        ("7", [false, false, true, false]),
        ("0", [false, false, true, false]),
        ("FRI-MON", [true, true, true, true]),
        ("MON-FRI", [true, false, false, true]),
        ("1-5", [true, false, false, true]),
    ] {
        let got: Vec<bool> = [20, 21, 22, 23].iter().map(|d| opens(dow, *d)).collect();
        assert_eq!(got, days, "{dow} on Fri, Sat, Sun, Mon");
    }
    let err = FreezeWindow::parse("w", "0 10 * * 8", "1h", "UTC").unwrap_err();
    assert!(err.to_string().contains("day of week `8`"), "{err}");
}

#[test]
fn a_weekend_window_in_a_time_zone_is_open_only_inside() {
    // Friday 18:00 Berlin for 62 hours: until Monday 08:00.
    let w = FreezeWindow::parse("weekend", "0 18 * * 5", "62h", "Europe/Berlin").unwrap();
    // 2026-11-20 is a Friday; Berlin is UTC+1 in November.
    assert_eq!(w.open_until(at(2026, 11, 20, 16, 59)), None);
    let until = w.open_until(at(2026, 11, 20, 17, 0)).unwrap();
    assert_eq!(until, at(2026, 11, 23, 7, 0));
    assert_eq!(w.open_until(at(2026, 11, 22, 12, 0)), Some(until));
    assert_eq!(w.open_until(at(2026, 11, 23, 7, 0)), None);
    assert!(FreezeWindow::parse("x", "0 25 * * *", "1h", "UTC").is_err());
    assert_eq!(
        FreezeWindow::parse("x", "0 1 * * *", "1h", "Mars/Olympus").unwrap_err(),
        WindowError::Tz("Mars/Olympus".into())
    );
    assert!(FreezeWindow::parse("x", "0 1 * * *", "soon", "UTC").is_err());
}

#[test]
fn every_reason_is_named() {
    let now = at(2026, 11, 22, 12, 0);
    let mut window = FreezeWindow::parse("sunday", "0 0 * * 0", "1d", "UTC").unwrap();
    window.reason = Some("no deploys on Sunday".into());
    let freezes = [
        Freeze {
            id: 3,
            scope: "all".into(),
            reason: "big sale".into(),
            starts_at: now - Duration::hours(1),
            ends_at: now + Duration::hours(1),
            created_by: Some("alice".into()),
        },
        Freeze {
            id: 4,
            scope: "search".into(),
            reason: "other service".into(),
            starts_at: now - Duration::hours(1),
            ends_at: now + Duration::hours(1),
            created_by: None,
        },
        Freeze {
            id: 5,
            scope: "checkout".into(),
            reason: "expired".into(),
            starts_at: now - Duration::hours(3),
            ends_at: now - Duration::hours(1),
            created_by: None,
        },
    ];
    let deps: BTreeSet<String> = ["db".to_string()].into();
    let inc = |id, service: &str, severity| OpenIncident {
        id,
        service: service.into(),
        severity,
        title: "t".into(),
    };
    let incidents = [
        inc(10, "checkout", Severity::P1),
        inc(11, "db", Severity::P0),
        inc(12, "checkout", Severity::P3),
        inc(13, "search", Severity::P0),
    ];
    let windows = [window];
    let mut gate = input(&windows, &freezes, &deps, &incidents, now);
    gate.budget_remaining = Some(0.0);
    let texts: Vec<String> = evaluate(&gate).iter().map(GateReason::text).collect();
    assert_eq!(
        texts,
        [
            "freeze window `sunday` is open until 2026-11-23 00:00 UTC: no deploys on Sunday",
            "change freeze #3 on all services until 2026-11-22 13:00 UTC: big sale",
            "open P1 incident #10 on checkout",
            "open P0 incident #11 on db, which it depends on",
            "error budget exhausted (0.0% remaining)",
        ]
    );
}

#[test]
fn a_quiet_day_is_allowed_and_windows_can_be_scoped() {
    let now = at(2026, 11, 24, 12, 0); // a Tuesday
    let mut w = FreezeWindow::parse("sunday", "0 0 * * 0", "1d", "UTC").unwrap();
    let deps = BTreeSet::new();
    let windows = [w.clone()];
    assert!(evaluate(&input(&windows, &[], &deps, &[], now)).is_empty());
    w.services = vec!["search".into()];
    let sunday = at(2026, 11, 22, 12, 0);
    let windows = [w.clone()];
    assert!(evaluate(&input(&windows, &[], &deps, &[], sunday)).is_empty());
    w.services.clear();
    w.kinds = vec![ChangeKind::Schema];
    let windows = [w];
    assert!(evaluate(&input(&windows, &[], &deps, &[], sunday)).is_empty());
}
