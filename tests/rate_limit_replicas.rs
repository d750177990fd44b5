//! Platform rate limits across replicas, measured (issue 11, item 2): two replicas calling a local
//! Slack that enforces a tier, with (1) only the per-process limiter, (2) the database limiter, and
//! (3) one delivering replica chosen by the PostgreSQL advisory lock. Asserts the limit holds with
//! the database limiter and that the harness does see a limit that is exceeded; prints the figures
//! that BENCHMARKS.md records (calls, calls/s, 429s, database round trips per call).

mod common;
mod slack_server;

use common::{Backend, TestDb};
use slack_server::FakeSlack;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use warroom::chat::SharedRateLimit;
use warroom::chat::slack::SlackClient;
use warroom::engine::SystemClock;
use warroom::engine::rate_limit::StoreRateLimit;
use warroom::store::Store;

/// A Tier 4 method: 100 a minute, bursts of 100.
const METHOD: &str = "users.info";
const PER_MINUTE: u32 = 100;
/// How long each mode runs: 6 s, or `WARROOM_RATE_SECONDS` to run long.
fn run() -> Duration {
    let secs = std::env::var("WARROOM_RATE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    Duration::from_secs(secs)
}
/// Callers per replica.
const CALLERS: usize = 4;

/// Counts the database limiter's round trips and their time (it delegates every call).
struct Counted {
    inner: StoreRateLimit,
    trips: AtomicU64,
    micros: AtomicU64,
}

impl Counted {
    fn new(store: Store) -> Counted {
        Counted {
            inner: StoreRateLimit::new(store, Arc::new(SystemClock)),
            trips: AtomicU64::new(0),
            micros: AtomicU64::new(0),
        }
    }

    fn count(&self, started: Instant) {
        self.trips.fetch_add(1, Ordering::Relaxed);
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(took, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl SharedRateLimit for Counted {
    async fn reserve(&self, bucket: &str, per_minute: u32, burst: u32) -> Duration {
        let started = Instant::now();
        let wait = self.inner.reserve(bucket, per_minute, burst).await;
        self.count(started);
        wait
    }

    async fn block(&self, bucket: &str, wait: Duration) {
        let started = Instant::now();
        self.inner.block(bucket, wait).await;
        self.count(started);
    }

    async fn blocked(&self, bucket: &str, other: &str) -> Duration {
        let started = Instant::now();
        let wait = self.inner.blocked(bucket, other).await;
        self.count(started);
        wait
    }
}

/// What one mode measured.
struct Figures {
    answered: usize,
    exceeded: usize,
    calls_per_sec: f64,
    trips_per_call: f64,
    trip_ms: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls let through ({:.1}/s), {} over the tier, {:.2} DB round trips a call, {:.1} ms a trip",
            self.answered, self.calls_per_sec, self.exceeded, self.trips_per_call, self.trip_ms
        )
    }
}

/// Calls `METHOD` from `CALLERS` tasks on `client` until `until`; returns the calls answered `ok`.
async fn hammer(client: SlackClient, until: Instant) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let client = client.clone();
        tasks.spawn(async move {
            let mut ok = 0;
            loop {
                let call = client.call(METHOD, serde_json::json!({"user": "U0ALICE01"}));
                tokio::select! {
                    r = call => if r.is_ok() { ok += 1 },
                    _ = tokio::time::sleep_until(until.into()) => break,
                }
                if Instant::now() >= until {
                    break;
                }
            }
            ok
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap();
    }
    total
}

async fn fake_with_tier() -> FakeSlack {
    let fake = FakeSlack::start().await;
    {
        let mut s = fake.state.lock().unwrap();
        s.users.push(("U0ALICE01".into(), "Alice".into()));
        // One token of slack for the clocks of client and fake starting a moment apart.
        s.tier = Some((METHOD.into(), PER_MINUTE, PER_MINUTE + 1));
    }
    fake
}

fn figures(fake: &FakeSlack, trips: u64, micros: u64) -> Figures {
    let s = fake.state.lock().unwrap();
    let answered = s.tier_passed;
    Figures {
        answered,
        exceeded: s.tier_exceeded,
        calls_per_sec: answered as f64 / run().as_secs_f64(),
        trips_per_call: trips as f64 / answered.max(1) as f64,
        trip_ms: micros as f64 / 1000.0 / trips.max(1) as f64,
    }
}

/// The most calls the tier lets through in `run()` (a full burst, then the refill).
fn tier_cap() -> usize {
    PER_MINUTE as usize + (f64::from(PER_MINUTE) * run().as_secs_f64() / 60.0).ceil() as usize + 1
}

/// Two replicas, each with only its own per-process limiter.
async fn per_process_only() -> Figures {
    let fake = fake_with_tier().await;
    let until = Instant::now() + run();
    let a = SlackClient::new(&fake.url, slack_server::TOKEN);
    let b = SlackClient::new(&fake.url, slack_server::TOKEN);
    tokio::join!(hammer(a, until), hammer(b, until));
    figures(&fake, 0, 0)
}

/// Two replicas drawing on one bucket in the database (each with a store of its own).
async fn database_limiter(db: &TestDb) -> Figures {
    let fake = fake_with_tier().await;
    let (one, two) = (
        Store::connect(&db.url, 4).await.unwrap(),
        Store::connect(&db.url, 4).await.unwrap(),
    );
    let (la, lb) = (Arc::new(Counted::new(one)), Arc::new(Counted::new(two)));
    let a = SlackClient::new(&fake.url, slack_server::TOKEN).with_shared_limit(la.clone());
    let b = SlackClient::new(&fake.url, slack_server::TOKEN).with_shared_limit(lb.clone());
    let until = Instant::now() + run();
    tokio::join!(hammer(a, until), hammer(b, until));
    let trips = la.trips.load(Ordering::Relaxed) + lb.trips.load(Ordering::Relaxed);
    let micros = la.micros.load(Ordering::Relaxed) + lb.micros.load(Ordering::Relaxed);
    figures(&fake, trips, micros)
}

/// Two replicas racing for the advisory lock every 250 ms; the leader calls with its per-process
/// limiter only and gives leadership up half-way (a crash), so the other one takes over.
async fn advisory_leader(db: &TestDb) -> (Figures, Duration) {
    let fake = fake_with_tier().await;
    let until = Instant::now() + run();
    let handover = Instant::now() + run() / 2;
    let replica = |first: bool| {
        let (url, fake_url) = (db.url.clone(), fake.url.clone());
        async move {
            let store = Store::connect(&url, 2).await.unwrap();
            if !first {
                // The second replica starts a moment later, as a rolling restart would.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut led_from = None;
            while Instant::now() < until {
                if let Some(lock) = store.try_leader_lock(4242).await.unwrap() {
                    led_from.get_or_insert(Instant::now());
                    let client = SlackClient::new(&fake_url, slack_server::TOKEN);
                    let stop = if first { handover } else { until };
                    hammer(client, stop).await;
                    lock.release().await;
                    if first {
                        return led_from;
                    }
                } else {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            led_from
        }
    };
    let (_, second) = tokio::join!(replica(true), replica(false));
    let gap = second.map_or(run(), |s| s.saturating_duration_since(handover));
    (figures(&fake, 0, 0), gap)
}

async fn limits_hold_across_replicas(backend: Backend) {
    let db = TestDb::new(backend).await;
    Store::connect(&db.url, 2)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let cap = tier_cap();
    let alone = per_process_only().await;
    eprintln!("{backend:?} per-process limiters only: {alone} (tier cap {cap})");
    assert!(
        alone.exceeded > 0,
        "two per-process limiters go over the tier together: the harness must see it ({alone})"
    );
    let shared = database_limiter(&db).await;
    eprintln!("{backend:?} database limiter: {shared} (tier cap {cap})");
    assert_eq!(shared.exceeded, 0, "the shared limit held: {shared}");
    assert!(shared.answered <= cap, "{shared} within {cap}");
    assert!(
        shared.answered * 10 >= cap * 8,
        "the shared limit still lets the tier through: {shared} of {cap}"
    );
    // One reservation a call, plus at most one per caller cut off by the end of the run.
    let most = (shared.answered + 2 * CALLERS) as f64 / shared.answered as f64;
    assert!((1.0..=most).contains(&shared.trips_per_call), "{shared}");
    if backend == Backend::Postgres {
        // Leadership is a PostgreSQL advisory lock; on SQLite the one process always leads.
        let (leader, gap) = advisory_leader(&db).await;
        eprintln!(
            "{backend:?} advisory-lock leader: {leader}, handover gap {} ms (tier cap {cap})",
            gap.as_millis()
        );
        assert!(leader.answered > 0, "{leader}");
    }
}
both_backends!(limits_hold_test, limits_hold_across_replicas);
