//! Tests of correlation scoring on constructed histories.
use super::*;
use crate::domain::catalog::Service;
use crate::domain::change::ChangeStatus;
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 14, 0, 0).unwrap()
}

fn change(id: i64, kind: ChangeKind, service: &str, minutes_before: i64) -> Change {
    let started = t0() - Duration::minutes(minutes_before);
    Change {
        id,
        source: "native".into(),
        external_id: None,
        kind,
        service: service.into(),
        services: vec![service.into()],
        environment: Some("production".into()),
        summary: format!("change {id}"),
        author: Some("alice".into()),
        version: Some("v2.3.1".into()),
        links: vec![],
        status: ChangeStatus::Done,
        rollback_of: None,
        rollback_plan: None,
        started_at: Some(started),
        ended_at: Some(started + Duration::minutes(2)),
        created_at: started,
        updated_at: started,
        committed_at: None,
    }
}

fn catalog() -> Catalog {
    let svc = |name: &str, deps: &[&str]| Service {
        name: name.into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..Service::default()
    };
    Catalog::new(vec![
        svc("web", &["checkout"]),
        svc("checkout", &["payments", "db"]),
        svc("payments", &["db"]),
        svc("db", &[]),
        svc("search", &[]),
    ])
    .unwrap()
}

fn subject() -> Subject {
    Subject {
        service: Some("checkout".into()),
        first_signal: t0(),
        signal: "the first HighErrorRate alert".into(),
    }
}

#[test]
fn the_causal_change_ranks_first_with_its_evidence() {
    let changes = [
        change(1, ChangeKind::Deploy, "search", 3),
        change(2, ChangeKind::Deploy, "checkout", 6),
        change(3, ChangeKind::Config, "db", 40),
        change(4, ChangeKind::Deploy, "web", 20),
        change(5, ChangeKind::Deploy, "checkout", -2),
    ];
    let ranked = rank(
        &subject(),
        &changes,
        &catalog(),
        &History::new(),
        &Params::default(),
    );
    let order: Vec<i64> = ranked.iter().map(|s| s.change_id).collect();
    assert_eq!(order, [2, 3, 4, 1], "{ranked:#?}");
    assert_eq!(
        ranked[0].evidence,
        [
            "deploy checkout v2.3.1 by alice",
            "6 min before the first HighErrorRate alert",
            "same service"
        ]
    );
    assert_eq!(ranked[1].evidence[2], "checkout depends on db");
    assert_eq!(ranked[2].evidence[2], "web depends on checkout");
    assert_eq!(ranked[3].evidence[2], "unrelated to checkout");
    assert!(ranked[3].score < 0.1, "{}", ranked[3].score);
    assert_eq!(
        ranked.iter().map(|s| s.rank).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn changes_after_the_signal_too_old_or_not_executed_are_not_suspects() {
    let mut planned = change(7, ChangeKind::Deploy, "checkout", 5);
    planned.status = ChangeStatus::Approved;
    let changes = [
        change(5, ChangeKind::Deploy, "checkout", -1),
        change(6, ChangeKind::Deploy, "checkout", 60 * 25),
        planned,
    ];
    assert!(
        rank(
            &subject(),
            &changes,
            &catalog(),
            &History::new(),
            &Params::default()
        )
        .is_empty()
    );
}

#[test]
fn history_of_a_kind_and_service_raises_its_risk() {
    let changes = [
        change(1, ChangeKind::Schema, "checkout", 30),
        change(2, ChangeKind::Deploy, "checkout", 30),
    ];
    let mut history = History::new();
    history.insert(
        (ChangeKind::Schema, "checkout".into()),
        Record {
            changes: 4,
            caused: 3,
        },
    );
    let ranked = rank(
        &subject(),
        &changes,
        &catalog(),
        &history,
        &Params::default(),
    );
    assert_eq!(ranked[0].change_id, 1);
    assert!(ranked[0].score > ranked[1].score * 1.5);
    assert_eq!(
        ranked[0].evidence[3],
        "3 of 4 earlier schema changes to checkout caused incidents"
    );
}

#[test]
fn time_decays_by_half_life_and_spans_read_well() {
    let p = Params::default();
    let h = History::new();
    let (near, _) = score(
        &subject(),
        &change(1, ChangeKind::Deploy, "checkout", 0),
        &catalog(),
        &h,
        &p,
    )
    .unwrap();
    let (half, _) = score(
        &subject(),
        &change(1, ChangeKind::Deploy, "checkout", 30),
        &catalog(),
        &h,
        &p,
    )
    .unwrap();
    assert!((near - 1.0).abs() < 1e-9 && (half - 0.5).abs() < 1e-9);
    assert_eq!(span(Duration::seconds(20)), "under a minute");
    assert_eq!(span(Duration::minutes(125)), "2 h 5 min");
    let mut no_service = subject();
    no_service.service = None;
    let (s, e) = score(
        &no_service,
        &change(1, ChangeKind::Deploy, "x", 0),
        &catalog(),
        &h,
        &p,
    )
    .unwrap();
    assert!((s - 0.5).abs() < 1e-9);
    assert_eq!(e[2], "the incident names no service");
    let ranked = rank(
        &subject(),
        &[change(1, ChangeKind::Deploy, "checkout", 1)],
        &catalog(),
        &h,
        &Params {
            max_suspects: 0,
            ..Params::default()
        },
    );
    assert!(ranked.is_empty());
}
