//! `cargo bench --bench postmortem`: the postmortem draft of a 10,000-event timeline (target ≤ 100 ms),
//! read from the store page by page and built, then rendered to Markdown. SQLite always; PostgreSQL
//! too when `WARROOM_TEST_POSTGRES_URL` is set (a fresh schema, dropped afterwards).

use chrono::{Duration, Utc};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use warroom::config::Config;
use warroom::domain::postmortem::Builder;
use warroom::domain::{Catalog, EventKind, NewEvent, Severity, Status};
use warroom::engine::{Declare, Engine, Hub, SystemClock};
use warroom::render::Renderer;
use warroom::store::Store;

const EVENTS: usize = 10_000;
const RUNS: usize = 30;

/// One event of a busy incident: mostly chat, with commands, alerts, updates, pages and changes.
fn event(i: usize, start: chrono::DateTime<Utc>) -> NewEvent {
    let at = start + Duration::milliseconds(i as i64 * 900);
    let users = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let user = users[i % users.len()];
    match i % 20 {
        0..=11 => NewEvent::new(EventKind::ChatMessage, at, Some(user))
            .text(format!("message {i}: looking at the dashboards for checkout, error rate still high"))
            .data(json!({"platform": "web", "message_id": format!("m{i}")})),
        12 | 13 => NewEvent::new(EventKind::Command, at, Some(user))
            .text("/inc timeline 5")
            .data(json!({"platform": "web", "ok": true, "result": "…"})),
        14 | 15 => {
            let fp = format!("fp{}", i % 400);
            NewEvent::new(EventKind::AlertFiring, at, Some("alertmanager"))
                .text(format!("HighErrorRate firing ({fp})"))
                .data(json!({"fingerprint": fp, "alertname": "HighErrorRate", "service": "checkout",
                    "severity": "critical", "source": "alertmanager", "labels": {"pod": format!("p{i}")},
                    "annotations": {"summary": "5xx above 5%"}, "starts_at": at.to_rfc3339()}))
        }
        16 => NewEvent::new(EventKind::AlertResolved, at, Some("alertmanager"))
            .text("resolved")
            .data(json!({"fingerprint": format!("fp{}", (i + 2) % 400), "alertname": "HighErrorRate",
                "service": "checkout", "source": "alertmanager", "ends_at": at.to_rfc3339()})),
        17 => NewEvent::new(EventKind::StatusUpdate, at, Some("alice")).text(format!("update {i}")),
        18 => NewEvent::new(EventKind::Note, at, Some(user)).text(format!("note {i}")),
        _ if i % 200 == 19 => NewEvent::new(EventKind::ChangeLinked, at, None)
            .text("suspect")
            .data(json!({"change_id": format!("chg-{}", i / 200), "kind": "deploy", "service": "checkout",
                "summary": "deploy", "started_at": at.to_rfc3339(), "score": 0.5, "evidence": ["close in time"],
                "rank": i / 200})),
        _ => NewEvent::new(EventKind::Pinned, at, Some(user))
            .text("pinned")
            .data(json!({"platform": "web", "message_id": format!("m{}", i - 7)})),
    }
}

fn stats(mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    format!(
        "min {:.1} ms · median {:.1} ms · p90 {:.1} ms · max {:.1} ms ({} runs)",
        ms[0],
        p(0.5),
        p(0.9),
        ms[ms.len() - 1],
        ms.len()
    )
}

async fn bench(label: &str, url: &str) {
    let store = Store::connect(url, 4).await.expect("database");
    store.migrate().await.expect("migrations");
    let mut config = Config::default();
    config.database.url = url.to_string();
    config.postmortem.time_zone = "Europe/Berlin".into();
    config.roles.insert(
        "admin".into(),
        warroom::config::Grants(vec!["alice".into()]),
    );
    let alice = warroom::domain::Actor::named("alice", "alice", "cli");
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        Hub::default(),
        vec!["web".into()],
        Arc::new(config),
        Arc::new(Catalog::default()),
    );
    let inc = engine
        .declare(
            Declare {
                title: "Checkout 5xx storm".into(),
                severity: Severity::P1,
                kind: Default::default(),
                service: Some("checkout".into()),
            },
            &alice,
        )
        .await
        .unwrap();
    let start = Utc::now() - Duration::hours(3);
    let filled = Instant::now();
    for chunk in (1..EVENTS).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<NewEvent> = chunk.iter().map(|i| event(*i, start)).collect();
        engine.apply(inc.id, move |_, _| Ok(batch)).await.unwrap();
    }
    engine
        .set_status(inc.id, Status::Resolved, &alice)
        .await
        .unwrap();
    let total = store.timeline_len(inc.id).await.unwrap();
    println!(
        "[{label}] timeline of {total} events written in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    // The floor: reading the same pages from the store without building anything.
    let mut read = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let (mut after, mut n) = (0, 0);
        loop {
            let page = store.timeline(inc.id, after, 2000).await.unwrap();
            n += page.len();
            match page.last() {
                Some(last) if page.len() == 2000 => after = last.id,
                _ => break,
            }
        }
        read.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(n as i64, total);
    }
    println!(
        "[{label}] read {total} events page by page only (floor):    {}",
        stats(read)
    );

    let renderer = Renderer::new(None);
    let (mut build, mut full) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let (pm, _) = engine.build_postmortem(inc.id, "request").await.unwrap();
        build.push(t.elapsed().as_secs_f64() * 1000.0);
        let md = renderer.postmortem_markdown(&pm).unwrap();
        full.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(pm.events_total as i64, total);
        assert!(md.len() > 1000);
    }
    println!(
        "[{label}] read {total} events page by page + build draft: {}",
        stats(build)
    );
    println!(
        "[{label}] … + render Markdown:                            {}",
        stats(full)
    );

    // The pure builder alone, over events already in memory (the rest is the database read).
    let events = store.timeline(inc.id, 0, 20_000).await.unwrap();
    let incident = store.incident(inc.id).await.unwrap().unwrap();
    let mut pure = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut b = Builder::new(&incident, engine.postmortem_settings());
        for e in &events {
            b.push(e);
        }
        let pm = b.finish(&[], &Catalog::default(), "request", Utc::now());
        pure.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(pm.events_total, events.len());
    }
    println!(
        "[{label}] builder alone (events in memory):               {}",
        stats(pure)
    );
    store.close().await;
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("sqlite", &url).await;
        if let Ok(base) = std::env::var("WARROOM_TEST_POSTGRES_URL") {
            use sqlx::Connection;
            let schema = format!("bench_pm_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            bench(
                "postgres",
                &format!("{base}{sep}options[search_path]={schema}"),
            )
            .await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    });
}
