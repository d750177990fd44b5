//! The fault suite: the real `warroom` binary against the local Slack Web API, under SIGKILL, two
//! replicas racing, a PostgreSQL crash and a lease that runs out mid-delivery. Each test prints its
//! figures as `fault-report {…}` lines; RELIABILITY.md has the figures and how to run it long
//! (`WARROOM_FAULT_ROUNDS`, `WARROOM_FAULT_KILLS`, `WARROOM_FAULT_PG_RESTARTS`, `WARROOM_FAULT_SECONDS`).

mod common;
mod faults_support;
mod slack_server;

use common::{Backend, TestDb};
use faults_support::checks::{alerts_stored, drained, incidents_per_service};
use faults_support::load::Load;
use faults_support::private_pg::PrivatePg;
use faults_support::process::{Launch, Settings, Warroom};
use faults_support::{kills, pg_restarts, race_seconds, report, rounds, thirty_percent};
use serde_json::json;
use slack_server::FakeSlack;
use std::time::{Duration, Instant};
use warroom::store::{OutboxStatus, Store};

/// After the last restart everything is delivered within this (issue 11's bound).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn faults_sent(fake: &FakeSlack) -> serde_json::Value {
    let s = fake.state.lock().unwrap();
    json!({"calls": s.calls.len(), "rate_limited": s.rate_limited_sent,
        "lost_replies": s.failed_after_effect_sent, "failed_reads": s.failed_reads_sent})
}

/// Alerts stream in (bulk `info` alerts at full speed, critical ones opening and joining six
/// incidents) while warroom is SIGKILLed `kills()` times at random moments, with 30% of Slack's
/// answers faults. Every acknowledged alert is stored once; after the last restart every incident
/// has exactly one room and every message is posted exactly once, within 30 s.
async fn sigkill_during_ingest_and_delivery(backend: Backend) {
    for round in 1..=rounds() {
        let db = TestDb::new(backend).await;
        let fake = FakeSlack::start().await;
        fake.faults(thirty_percent());
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database: &db.url,
            slack_api: Some(&fake.url),
            lease_secs: 3,
        };
        let launch = Launch::new(dir.path(), "warroom", &settings);
        let mut warroom = launch.start().await;
        let load = Load::start(
            vec![launch.base.clone()],
            2,
            6,
            Duration::from_millis(250),
            Duration::from_millis(1500),
        );
        for _ in 1..kills() {
            tokio::time::sleep(Duration::from_millis(rand::random_range(300..1300))).await;
            warroom.kill();
            warroom = launch.start().await;
        }
        // The last kill: the load stops while warroom is down, and the drain is timed from the restart.
        tokio::time::sleep(Duration::from_millis(rand::random_range(300..1300))).await;
        warroom.kill();
        let tally = load.finish().await;
        let restarted = Instant::now();
        let warroom = launch.start().await;
        let store = Store::connect(&db.url, 2).await.unwrap();
        let (delivered, _) = drained(&store, &fake, DRAIN_LIMIT).await;
        let drain = restarted.elapsed();
        warroom.stop();
        let acked = tally.acked.lock().unwrap().clone();
        let stored = alerts_stored(
            &store,
            tally.sent.load(std::sync::atomic::Ordering::Relaxed),
            &acked,
        )
        .await;
        let other = tally.other.lock().unwrap().clone();
        report(
            "sigkill",
            backend_name(backend),
            round,
            json!({"kills": kills(), "ingest": stored, "slack": delivered,
                "drain_ms": drain.as_millis(), "faults": faults_sent(&fake),
                "unavailable_503": tally.unavailable.load(std::sync::atomic::Ordering::Relaxed)}),
        );
        assert!(other.is_empty(), "answers other than 2xx/503: {other:?}");
        assert_eq!(stored.lost, 0, "acknowledged alerts lost: {stored:?}");
        assert_eq!(stored.duplicated, 0, "an alert counted twice: {stored:?}");
        assert!(stored.acknowledged > 0, "the load was acknowledged at all");
        // One incident per critical group that reached warroom (on a loaded machine the kills may
        // leave a service without an acknowledged alert, and so without an incident).
        let per_service = incidents_per_service(&store).await;
        let acked_services: std::collections::BTreeSet<String> = acked
            .iter()
            .filter_map(|fp| fp.strip_prefix("crit-"))
            .filter_map(|rest| rest.rsplitn(3, '-').nth(2).map(String::from))
            .collect();
        assert!(
            !acked_services.is_empty(),
            "critical alerts were acknowledged"
        );
        for service in &acked_services {
            assert_eq!(
                per_service.get(service),
                Some(&1),
                "one incident for {service}: {per_service:?}"
            );
        }
        assert!(per_service.values().all(|n| *n == 1), "{per_service:?}");
        assert_eq!(delivered.rooms, delivered.incidents, "{delivered:?}");
        store.close().await;
    }
}
both_backends!(sigkill, sigkill_during_ingest_and_delivery);

/// Two replicas on one PostgreSQL get the same alerts (as from an HA Alertmanager pair) with 30%
/// Slack faults: one incident and one room per group, every message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_race_on_the_same_alerts() {
    if common::postgres_url().is_none() {
        return;
    }
    for round in 1..=rounds() {
        let db = TestDb::new(Backend::Postgres).await;
        let fake = FakeSlack::start().await;
        fake.faults(thirty_percent());
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database: &db.url,
            slack_api: Some(&fake.url),
            lease_secs: 3,
        };
        let (a, b) = (
            Launch::new(dir.path(), "replica-a", &settings),
            Launch::new(dir.path(), "replica-b", &settings),
        );
        let (ra, rb) = (a.start().await, b.start().await);
        let load = Load::start(
            vec![a.base.clone(), b.base.clone()],
            1,
            6,
            Duration::from_millis(200),
            Duration::from_millis(800),
        );
        tokio::time::sleep(Duration::from_secs(race_seconds())).await;
        let tally = load.finish().await;
        let store = Store::connect(&db.url, 2).await.unwrap();
        let (delivered, drain) = drained(&store, &fake, DRAIN_LIMIT).await;
        let per_service = incidents_per_service(&store).await;
        ra.stop();
        rb.stop();
        let acked = tally.acked.lock().unwrap().clone();
        let stored = alerts_stored(
            &store,
            tally.sent.load(std::sync::atomic::Ordering::Relaxed),
            &acked,
        )
        .await;
        report(
            "replicas",
            "postgres",
            round,
            json!({"seconds": race_seconds(), "ingest": {"acknowledged": stored.acknowledged,
                "stored": stored.stored, "lost": stored.lost}, "slack": delivered,
                "incidents_per_service": per_service, "drain_after_load_ms": drain.as_millis(),
                "faults": faults_sent(&fake)}),
        );
        assert_eq!(stored.lost, 0, "{stored:?}");
        assert_eq!(per_service.len(), 6, "{per_service:?}");
        assert!(
            per_service.values().all(|n| *n == 1),
            "one incident per group: {per_service:?}"
        );
        store.close().await;
    }
}

/// PostgreSQL crashes (`pg_ctl stop -m immediate`, a private cluster) under alert load and comes
/// back: ingest answers 503 + Retry-After while it is down, no 2xx is lost, and warroom (ingest,
/// dispatch, delivery) recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_under_load_is_503_then_recovers() {
    for round in 1..=rounds() {
        let Some(pg) = PrivatePg::start() else {
            return;
        };
        let fake = FakeSlack::start().await;
        let dir = tempfile::tempdir().unwrap();
        let url = pg.url();
        let settings = Settings {
            database: &url,
            slack_api: Some(&fake.url),
            lease_secs: 3,
        };
        let launch = Launch::new(dir.path(), "warroom", &settings);
        let warroom = launch.start().await;
        let load = Load::start(
            vec![launch.base.clone()],
            2,
            3,
            Duration::from_millis(250),
            Duration::from_millis(500),
        );
        let mut recoveries = Vec::new();
        for _ in 0..pg_restarts() {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            tokio::task::block_in_place(|| pg.crash());
            tokio::time::sleep(Duration::from_secs(2)).await;
            tokio::task::block_in_place(|| pg.start_again());
            let (back, before) = (Instant::now(), load.tally.acked_count());
            while load.tally.acked_count() == before {
                assert!(
                    back.elapsed() < Duration::from_secs(30),
                    "ingest did not recover"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            recoveries.push(back.elapsed().as_millis());
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let tally = load.finish().await;
        let store = Store::connect(&url, 2).await.unwrap();
        let (delivered, drain) = drained(&store, &fake, DRAIN_LIMIT).await;
        warroom.stop();
        let acked = tally.acked.lock().unwrap().clone();
        let stored = alerts_stored(
            &store,
            tally.sent.load(std::sync::atomic::Ordering::Relaxed),
            &acked,
        )
        .await;
        let load_503 = tally.unavailable.load(std::sync::atomic::Ordering::Relaxed);
        let bad_503 = tally
            .bad_unavailable
            .load(std::sync::atomic::Ordering::Relaxed);
        let unanswered = tally.unanswered.load(std::sync::atomic::Ordering::Relaxed);
        let other = tally.other.lock().unwrap().clone();
        report(
            "postgres_restart",
            "postgres",
            round,
            json!({"crashes": pg_restarts(), "outage_ms": 2000, "ingest": stored, "unavailable_503": load_503,
                "first_2xx_after_restart_ms": recoveries, "slack": delivered,
                "drain_after_load_ms": drain.as_millis(), "other_answers": other.len(),
                "unanswered": unanswered}),
        );
        assert!(load_503 > 0, "requests during the outage were answered 503");
        assert_eq!(bad_503, 0, "every 503 has Retry-After and the JSON error");
        assert!(other.is_empty(), "no 500 or other answer: {other:?}");
        assert_eq!(
            unanswered, 0,
            "warroom answered every request while PostgreSQL was away"
        );
        assert_eq!(stored.lost, 0, "{stored:?}");
        assert_eq!(stored.duplicated, 0, "{stored:?}");
        store.close().await;
    }
}

/// A post's reply is held by Slack past the lease (the message is already in the channel) while
/// its worker is frozen (SIGSTOP): the lease runs out, and the post is still made once. On
/// PostgreSQL a second replica takes the entry over (it finds the post by its key) and the frozen
/// one's result is discarded when it wakes; on SQLite the one process wakes and delivers once.
async fn a_lease_that_expires_mid_delivery_posts_once(backend: Backend) {
    for round in 1..=rounds() {
        let db = TestDb::new(backend).await;
        let fake = FakeSlack::start().await;
        let dir = tempfile::tempdir().unwrap();
        let lease = 2;
        let settings = Settings {
            database: &db.url,
            slack_api: Some(&fake.url),
            lease_secs: lease,
        };
        let a = Launch::new(dir.path(), "replica-a", &settings);
        let b = Launch::new(dir.path(), "replica-b", &settings);
        let ra = a.start().await;
        let client = reqwest::Client::new();
        let created: serde_json::Value = client
            .post(format!("{}/api/v1/incidents", ra.base))
            .json(&json!({"title": "Held reply", "severity": "P2"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_i64().expect("declared");
        let store = Store::connect(&db.url, 2).await.unwrap();
        drained(&store, &fake, DRAIN_LIMIT).await;
        let hold = Duration::from_secs(4 * lease);
        fake.state
            .lock()
            .unwrap()
            .held_replies
            .insert("chat.postMessage".into(), hold);
        let before = fake.calls("chat.postMessage");
        let status = client
            .patch(format!("{}/api/v1/incidents/{id}", ra.base))
            .json(&json!({"status": "triaging"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let post = posted_and_held(&store, &fake, id).await;
        ra.pause();
        let taken_over = match backend {
            Backend::Sqlite => {
                tokio::time::sleep(Duration::from_secs(2 * lease + 1)).await;
                ra.resume();
                None
            }
            Backend::Postgres => {
                let rb = b.start().await;
                wait_done(&store, id, post).await;
                ra.resume();
                let stale = wait_stale(&ra).await;
                Some((rb, stale))
            }
        };
        fake.state.lock().unwrap().held_replies.clear();
        let (delivered, _) = drained(&store, &fake, DRAIN_LIMIT).await;
        let posts = fake.calls("chat.postMessage") - before;
        let entry = store
            .outbox_for_incident(id)
            .await
            .unwrap()
            .into_iter()
            .find(|(e, _)| e.id == post)
            .unwrap()
            .0;
        report(
            "lease_expiry",
            backend_name(backend),
            round,
            json!({"post_calls": posts, "starts": entry.starts, "attempts": entry.attempts,
                "stale_results_discarded": taken_over.as_ref().map(|t| t.1),
                "messages": delivered.messages}),
        );
        assert_eq!(posts, 1, "chat.postMessage called once for the held post");
        if let Some((rb, _)) = taken_over {
            assert!(
                entry.starts >= 2,
                "the second replica took the entry over: {entry:?}"
            );
            rb.stop();
        }
        ra.stop();
        store.close().await;
    }
}
both_backends!(lease_expiry, a_lease_that_expires_mid_delivery_posts_once);

/// The pending `post` entry of `id` once its message is in the channel (its reply still held).
async fn posted_and_held(store: &Store, fake: &FakeSlack, id: i64) -> i64 {
    let started = Instant::now();
    loop {
        let entries = store.outbox_for_incident(id).await.unwrap();
        let pending = entries
            .iter()
            .find(|(e, s)| e.action == "post" && *s == OutboxStatus::Pending);
        if let Some((e, _)) = pending {
            let key = format!("outbox:{}", e.id);
            let in_channel = fake.channels().iter().any(|c| {
                c.messages
                    .iter()
                    .any(|m| m["metadata"]["event_payload"]["key"] == key.as_str())
            });
            if in_channel {
                return e.id;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the post never reached Slack"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_done(store: &Store, id: i64, entry: i64) {
    let started = Instant::now();
    loop {
        let entries = store.outbox_for_incident(id).await.unwrap();
        if entries
            .iter()
            .any(|(e, s)| e.id == entry && *s == OutboxStatus::Done)
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the other replica never took the entry over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the woken replica has discarded its stale result; returns its stale count.
async fn wait_stale(warroom: &Warroom) -> u64 {
    let started = Instant::now();
    loop {
        let text = warroom.metrics().await;
        let stale: u64 = text
            .lines()
            .filter(|l| l.starts_with("warroom_outbox_stale_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum();
        if stale > 0 {
            return stale;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the woken replica's result was not discarded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
