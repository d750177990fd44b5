//! The realistic incident of the postmortem tests, built through the engine on a fixed clock: alerts
//! before the declare, suspect changes, commands, messages, a page, a rollback and a silence.

use crate::common::TestDb;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use warroom::config::Config;
use warroom::domain::{Catalog, EventKind, NewEvent, Service};
use warroom::engine::{Clock, CommandContext, Declare, Engine, Hub};
use warroom::store::Store;

/// A clock the test moves by hand.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

/// 2026-11-01 at `h:m` UTC (Europe/Berlin is UTC+1 then).
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
}

pub fn catalog() -> Catalog {
    let svc = |name: &str, deps: &[&str]| Service {
        name: name.into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        ..Service::default()
    };
    Catalog::new(vec![
        svc("web", &["checkout"]),
        svc("checkout", &["payments"]),
        svc("payments", &[]),
        svc("search", &[]),
    ])
    .unwrap()
}

pub fn pm_config(config: &mut Config) {
    config.postmortem.time_zone = "Europe/Berlin".into();
    config.postmortem.silent_gap_minutes = 15;
    config.postmortem.early_alert_minutes = 10;
}

pub struct Rig {
    pub engine: Engine,
    pub clock: Arc<TestClock>,
    pub store: Store,
}

pub async fn rig(db: &TestDb, config: &Config) -> Rig {
    let store = Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(TestClock(Mutex::new(at(12, 0))));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        Hub::default(),
        vec!["web".into(), "slack".into()],
        Arc::new(config.clone()),
        Arc::new(catalog()),
    );
    Rig {
        engine,
        clock,
        store,
    }
}

impl Rig {
    async fn append(&self, id: i64, now: DateTime<Utc>, event: NewEvent) {
        self.clock.set(now);
        self.engine
            .apply(id, move |_, _| Ok(vec![event]))
            .await
            .unwrap();
    }

    async fn command(&self, id: i64, now: DateTime<Utc>, actor: &str, text: &str) {
        self.clock.set(now);
        let ctx = CommandContext {
            actor: warroom::domain::Actor::named(actor, actor, "web"),
            incident_id: Some(id),
        };
        let reply = self.engine.run_command(text, &ctx).await.unwrap();
        assert!(reply.ok, "{text}: {}", reply.text);
    }

    async fn say(&self, id: i64, now: DateTime<Utc>, actor: &str, text: &str) -> i64 {
        self.clock.set(now);
        self.engine
            .record_message(id, "web", actor, text, None, None)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

fn alert(
    fp: &str,
    name: &str,
    service: &str,
    sev: &str,
    source: &str,
    starts: DateTime<Utc>,
    summary: &str,
) -> NewEvent {
    NewEvent::new(EventKind::AlertFiring, starts, Some(source))
        .text(format!("{name} firing: {summary}"))
        .data(json!({"fingerprint": fp, "alertname": name, "service": service, "severity": sev,
            "source": source, "labels": {"alertname": name, "service": service},
            "annotations": {"summary": summary}, "starts_at": starts.to_rfc3339(), "summary": summary}))
        .key(format!("alert:{fp}:{}", starts.timestamp()))
}

fn resolved(fp: &str, name: &str, service: &str, source: &str, ends: DateTime<Utc>) -> NewEvent {
    NewEvent::new(EventKind::AlertResolved, ends, Some(source))
        .text(format!("{name} resolved"))
        .data(
            json!({"fingerprint": fp, "alertname": name, "service": service, "source": source,
            "ends_at": ends.to_rfc3339()}),
        )
}

fn change(
    kind: EventKind,
    id: &str,
    ckind: &str,
    svc: &str,
    summary: &str,
    author: &str,
    version: &str,
) -> Value {
    let mut d = json!({"change_id": id, "kind": ckind, "service": svc, "summary": summary,
        "author": author, "version": version});
    if kind == EventKind::ChangeLinked {
        d["started_at"] = json!(at(11, 52).to_rfc3339());
    }
    d
}

/// The realistic incident: alerts before the declare, two suspects, a severity bump, roles, a page,
/// messages, a status update and impact, a rollback, a silence, a pinned message, action items.
pub async fn realistic_incident(r: &Rig) -> i64 {
    r.clock.set(at(12, 10));
    let inc = r
        .engine
        .declare(
            Declare {
                title: "Checkout returns 5xx for card payments".into(),
                severity: "P2".parse().unwrap(),
                kind: "degradation".parse().unwrap(),
                service: Some("checkout".into()),
            },
            &warroom::domain::Actor::named("alice", "alice", "web"),
        )
        .await
        .unwrap();
    let id = inc.id;
    r.append(
        id,
        at(12, 10),
        alert(
            "a1",
            "HighErrorRate",
            "checkout",
            "critical",
            "alertmanager",
            at(11, 58),
            "5xx ratio above 5%",
        ),
    )
    .await;
    r.append(
        id,
        at(12, 10),
        alert(
            "a2",
            "PaymentsLatencyHigh",
            "payments",
            "warning",
            "grafana",
            at(12, 5),
            "p99 above 2s",
        ),
    )
    .await;
    r.command(id, at(12, 11), "alice", "/inc role commander me")
        .await;
    let mut linked = change(
        EventKind::ChangeLinked,
        "chg-981",
        "deploy",
        "checkout",
        "Deploy checkout v2.14.0",
        "carol",
        "v2.14.0",
    );
    linked["score"] = json!(0.87);
    linked["rank"] = json!(1);
    linked["evidence"] = json!([
        "deployed 6m before the first alert",
        "same service as the incident"
    ]);
    r.append(
        id,
        at(12, 12),
        NewEvent::new(EventKind::ChangeLinked, at(12, 12), None)
            .text("suspect chg-981")
            .data(linked),
    )
    .await;
    let mut second = change(
        EventKind::ChangeLinked,
        "chg-977",
        "config",
        "payments",
        "Raise payments pool timeout",
        "dave",
        "r12",
    );
    second["score"] = json!(0.41);
    second["rank"] = json!(2);
    second["evidence"] = json!(["payments is a dependency of checkout"]);
    r.append(
        id,
        at(12, 12),
        NewEvent::new(EventKind::ChangeLinked, at(12, 12), None)
            .text("suspect chg-977")
            .data(second),
    )
    .await;
    r.command(id, at(12, 13), "alice", "/inc sev P1").await;
    r.say(
        id,
        at(12, 14),
        "bob",
        "seeing card declines spike in EU | only Visa?",
    )
    .await;
    r.command(id, at(12, 15), "alice", "/inc role tech-lead @bob")
        .await;
    r.command(id, at(12, 16), "alice", "/inc triage").await;
    r.append(
        id,
        at(12, 18),
        NewEvent::new(EventKind::PageSent, at(12, 18), None)
            .text("paged payments-oncall")
            .data(json!({"target": "payments-oncall", "user": "dave", "level": 1})),
    )
    .await;
    r.append(
        id,
        at(12, 21),
        NewEvent::new(EventKind::PageAcknowledged, at(12, 21), Some("dave"))
            .text("dave acknowledged")
            .data(json!({"target": "payments-oncall", "user": "dave", "level": 1})),
    )
    .await;
    r.say(id, at(12, 22), "dave", "payments looks healthy, pool ok")
        .await;
    r.command(
        id,
        at(12, 24),
        "alice",
        "/inc update Card payments failing for ~30% of EU users; rolling back v2.14.0",
    )
    .await;
    r.command(
        id,
        at(12, 25),
        "alice",
        "/inc impact About 30% of EU card payments failed",
    )
    .await;
    r.append(
        id,
        at(12, 26),
        NewEvent::new(EventKind::Rollback, at(12, 26), Some("bob"))
            .text("rollback requested")
            .data(json!({"change_id": "chg-981", "phase": "requested"})),
    )
    .await;
    r.command(id, at(12, 26), "alice", "/inc mitigate").await;
    r.append(id, at(12, 31), NewEvent::new(EventKind::Rollback, at(12, 31), None)
        .text("rollback executed").data(json!({"change_id": "chg-981", "phase": "executed", "rollback_change_id": "chg-982"}))).await;
    // 22 quiet minutes: only an alert resolves.
    r.append(
        id,
        at(12, 52),
        resolved(
            "a1",
            "HighErrorRate",
            "checkout",
            "alertmanager",
            at(12, 50),
        ),
    )
    .await;
    let msg = r
        .say(
            id,
            at(12, 53),
            "bob",
            "error rate back to baseline since 12:49 UTC",
        )
        .await;
    r.append(
        id,
        at(12, 53),
        NewEvent::new(EventKind::ChangeConfirmed, at(12, 53), Some("bob"))
            .text("confirmed")
            .data(change(
                EventKind::ChangeConfirmed,
                "chg-981",
                "deploy",
                "checkout",
                "Deploy checkout v2.14.0",
                "carol",
                "v2.14.0",
            )),
    )
    .await;
    r.append(id, at(12, 54), NewEvent::new(EventKind::Rollback, at(12, 54), None)
        .text("rollback verified").data(json!({"change_id": "chg-981", "phase": "verified", "rollback_change_id": "chg-982"}))).await;
    r.append(
        id,
        at(12, 55),
        NewEvent::new(EventKind::Pinned, at(12, 55), Some("alice"))
            .text("pinned a message")
            .data(json!({"platform": "web", "event": msg})),
    )
    .await;
    r.command(
        id,
        at(12, 56),
        "alice",
        "/inc action Add a canary stage to checkout deploys @carol",
    )
    .await;
    r.command(
        id,
        at(12, 57),
        "bob",
        "/inc action Alert on the card decline ratio",
    )
    .await;
    r.append(
        id,
        at(12, 58),
        resolved(
            "a2",
            "PaymentsLatencyHigh",
            "payments",
            "grafana",
            at(12, 58),
        ),
    )
    .await;
    r.command(id, at(13, 0), "alice", "/inc resolve").await;
    id
}
