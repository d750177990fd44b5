//! The Store API on both backends: transactions, idempotency keys, and outbox claiming.

mod common;

use chrono::{Duration, Utc};
use common::{Backend, TestDb};
use serde_json::json;
use warroom::domain::{EventKind, Incident, IncidentType, NewEvent, NewIncident, Severity, Status};
use warroom::store::{NewOutbox, OutboxStatus, Store};

async fn store(backend: Backend) -> (Store, TestDb) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, db)
}

fn new_incident(title: &str) -> Incident {
    let now = Utc::now();
    Incident::open(
        NewIncident {
            title: title.into(),
            severity: Severity::P2,
            kind: IncidentType::Outage,
            service: Some("api".into()),
            status: Status::Declared,
            declared_by: Some("alice".into()),
            detected_at: now,
        },
        now,
    )
}

fn post(incident: i64, channel: &str, text: &str, key: Option<&str>) -> NewOutbox {
    NewOutbox {
        destination: "web".into(),
        action: "post".into(),
        incident_id: Some(incident),
        channel_key: channel.into(),
        payload: json!({"text": text}),
        idempotency_key: key.map(String::from),
    }
}

async fn insert(store: &Store, title: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_incident(&new_incident(title)).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn rolled_back_transaction_leaves_nothing(backend: Backend) {
    let (store, _db) = store(backend).await;
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_incident(&new_incident("half-written"))
        .await
        .unwrap();
    tx.append(
        id,
        &NewEvent::new(EventKind::Declared, now, Some("alice")),
        now,
    )
    .await
    .unwrap();
    tx.enqueue(&post(id, "c", "hello", None), now)
        .await
        .unwrap();
    drop(tx); // no commit
    assert_eq!(store.incident(id).await.unwrap(), None);
    assert_eq!(store.timeline_len(id).await.unwrap(), 0);
    assert_eq!(store.outbox_depth().await.unwrap(), 0);

    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_incident(&new_incident("committed"))
        .await
        .unwrap();
    tx.append(
        id,
        &NewEvent::new(EventKind::Declared, now, Some("alice")),
        now,
    )
    .await
    .unwrap();
    tx.enqueue(&post(id, "c", "hello", None), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let got = store
        .incident(id)
        .await
        .unwrap()
        .expect("committed incident");
    assert_eq!(got.title, "committed");
    assert_eq!(got.roles.len(), 0);
    assert_eq!(store.timeline_len(id).await.unwrap(), 1);
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
}
both_backends!(transactions, rolled_back_transaction_leaves_nothing);

async fn natural_keys_make_writes_idempotent(backend: Backend) {
    let (store, _db) = store(backend).await;
    let id = insert(&store, "idempotency").await;
    let now = Utc::now();
    let event = NewEvent::new(EventKind::ChatMessage, now, Some("bob"))
        .text("hi")
        .key("slack:Ev123");
    let mut tx = store.begin().await.unwrap();
    assert!(tx.append(id, &event, now).await.unwrap().is_some());
    assert!(
        tx.append(id, &event, now).await.unwrap().is_none(),
        "same source key twice"
    );
    assert!(
        tx.enqueue(&post(id, "c", "x", Some("k1")), now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tx.enqueue(&post(id, "c", "x", Some("k1")), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.claim_key("github", "delivery-1", now).await.unwrap());
    assert!(!tx.claim_key("github", "delivery-1", now).await.unwrap());
    assert!(
        tx.claim_key("slack", "delivery-1", now).await.unwrap(),
        "keys are scoped"
    );
    tx.commit().await.unwrap();
    assert_eq!(store.timeline_len(id).await.unwrap(), 1);
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    let events = store.timeline(id, 0, 10).await.unwrap();
    assert_eq!(events[0].text.as_deref(), Some("hi"));
    assert_eq!(events[0].actor.as_deref(), Some("bob"));
    assert_eq!(events[0].at.timestamp_millis(), now.timestamp_millis());
}
both_backends!(idempotency, natural_keys_make_writes_idempotent);

async fn a_channel_is_delivered_in_order_and_failures_retry_later(backend: Backend) {
    let (store, _db) = store(backend).await;
    let id = insert(&store, "ordering").await;
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let a1 = tx
        .enqueue(&post(id, "a", "a1", None), now)
        .await
        .unwrap()
        .unwrap();
    let a2 = tx
        .enqueue(&post(id, "a", "a2", None), now)
        .await
        .unwrap()
        .unwrap();
    let b1 = tx
        .enqueue(&post(id, "b", "b1", None), now)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let lease = Duration::seconds(60);

    let first = store.claim_outbox("web", now, lease, 10).await.unwrap();
    let ids: Vec<i64> = first.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        [a1, b1],
        "only the oldest entry of each channel is eligible"
    );
    assert_eq!(first[0].attempts, 0, "a claim is not an attempt");
    let token = first[0].claim_token.clone().unwrap();
    assert!(
        store
            .claim_outbox("web", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed entries are leased"
    );

    assert!(
        store
            .retry_outbox(
                a1,
                &token,
                now + Duration::seconds(30),
                "503 from platform",
                true
            )
            .await
            .unwrap()
    );
    assert!(store.complete_outbox(b1, &token, None, now).await.unwrap());
    assert!(
        store
            .claim_outbox("web", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "a2 waits behind a1"
    );
    let later = store
        .claim_outbox("web", now + Duration::seconds(31), lease, 10)
        .await
        .unwrap();
    assert_eq!(later.iter().map(|e| e.id).collect::<Vec<_>>(), [a1]);
    assert_eq!(later[0].attempts, 1);
    assert_eq!(later[0].last_error.as_deref(), Some("503 from platform"));
    let token = later[0].claim_token.clone().unwrap();
    assert!(store.fail_outbox(a1, &token, "gave up", now).await.unwrap());
    let next = store
        .claim_outbox("web", now + Duration::seconds(31), lease, 10)
        .await
        .unwrap();
    assert_eq!(next.iter().map(|e| e.id).collect::<Vec<_>>(), [a2]);
    assert_eq!(
        store.outbox_status(a1).await.unwrap(),
        Some(OutboxStatus::Failed)
    );
    assert_eq!(
        store.outbox_status(b1).await.unwrap(),
        Some(OutboxStatus::Done)
    );

    // An expired lease (a worker died) makes the entry claimable again, without an attempt.
    let again = store
        .claim_outbox("web", now + Duration::seconds(200), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), [a2]);
    assert_eq!(again[0].attempts, 0);
}
both_backends!(
    outbox_ordering,
    a_channel_is_delivered_in_order_and_failures_retry_later
);

async fn two_workers_claiming_at_once_never_share_an_entry(backend: Backend) {
    let (store, _db) = store(backend).await;
    let id = insert(&store, "race").await;
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    for i in 0..200 {
        tx.enqueue(&post(id, &format!("ch{i}"), "x", None), now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // Two stores = two replicas with their own pools, racing on the same rows.
    let other = Store::connect(&_db.url, 4).await.unwrap();
    let mut workers = Vec::new();
    for s in [store.clone(), other.clone(), store.clone(), other.clone()] {
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = s
                    .claim_outbox("web", now, Duration::seconds(60), 7)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|e| e.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, 200, "every entry claimed exactly once");
    assert_eq!(all.len(), 200);
}
both_backends!(
    concurrent_claims,
    two_workers_claiming_at_once_never_share_an_entry
);

async fn listing_filters_and_pages(backend: Backend) {
    let (store, _db) = store(backend).await;
    let mut ids = Vec::new();
    for (title, sev, svc) in [
        ("a", Severity::P0, "api"),
        ("b", Severity::P1, "db"),
        ("c", Severity::P1, "api"),
    ] {
        let mut inc = new_incident(title);
        inc.severity = sev;
        inc.service = Some(svc.into());
        let mut tx = store.begin().await.unwrap();
        ids.push(tx.insert_incident(&inc).await.unwrap());
        tx.commit().await.unwrap();
    }
    let filter =
        |severities: Vec<Severity>, service: Option<&str>| warroom::store::IncidentFilter {
            severities,
            service: service.map(String::from),
            limit: 50,
            ..Default::default()
        };
    let titles = |v: Vec<Incident>| v.into_iter().map(|i| i.title).collect::<Vec<_>>();
    assert_eq!(
        titles(
            store
                .incidents(&filter(vec![Severity::P1], None))
                .await
                .unwrap()
        ),
        ["c", "b"]
    );
    assert_eq!(
        titles(store.incidents(&filter(vec![], Some("api"))).await.unwrap()),
        ["c", "a"]
    );
    assert_eq!(
        titles(
            store
                .incidents(&filter(vec![Severity::P1], Some("api")))
                .await
                .unwrap()
        ),
        ["c"]
    );
    let page = warroom::store::IncidentFilter {
        before_id: Some(ids[2]),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(titles(store.incidents(&page).await.unwrap()), ["b"]);
    let counts = store.incident_counts_by_status().await.unwrap();
    assert_eq!(counts, vec![(Status::Declared, 3)]);
}
both_backends!(listing, listing_filters_and_pages);

async fn only_the_claim_holder_records_a_result(backend: Backend) {
    let (store, _db) = store(backend).await;
    let id = insert(&store, "fenced").await;
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let e = tx
        .enqueue(&post(id, "a", "one", None), now)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let lease = Duration::seconds(10);
    let old = store.claim_outbox("web", now, lease, 10).await.unwrap();
    let old_token = old[0].claim_token.clone().unwrap();
    assert_eq!(
        store
            .start_outbox_delivery(e, &old_token, now + lease)
            .await
            .unwrap(),
        Some(1)
    );
    // The lease runs out; another worker takes the entry.
    let later = now + Duration::seconds(11);
    let new = store.claim_outbox("web", later, lease, 10).await.unwrap();
    assert_eq!(new.len(), 1);
    let new_token = new[0].claim_token.clone().unwrap();
    assert_ne!(old_token, new_token);
    assert_eq!(new[0].starts, 1, "the next holder knows a delivery began");
    assert!(new[0].claim_token.is_some());

    let result = json!({"ts": "1.2"});
    assert!(
        !store
            .complete_outbox(e, &old_token, Some(&result), later)
            .await
            .unwrap(),
        "a stale worker's completion is discarded"
    );
    assert!(
        !store
            .retry_outbox(e, &old_token, later, "late", true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .fail_outbox(e, &old_token, "late", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .renew_outbox_claim(e, &old_token, later + lease)
            .await
            .unwrap()
    );
    assert_eq!(
        store.outbox_status(e).await.unwrap(),
        Some(OutboxStatus::Pending)
    );
    assert!(
        store
            .renew_outbox_claim(e, &new_token, later + lease)
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_outbox(e, &new_token, Some(&result), later)
            .await
            .unwrap()
    );
    let (entry, status) = store.outbox_for_incident(id).await.unwrap().remove(0);
    assert_eq!(status, OutboxStatus::Done);
    assert_eq!(entry.result, Some(result));
    assert_eq!(entry.attempts, 1, "one delivery reported back");
}
both_backends!(fencing, only_the_claim_holder_records_a_result);

async fn claims_and_crashes_spend_no_attempts(backend: Backend) {
    let (store, _db) = store(backend).await;
    let id = insert(&store, "crashes").await;
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let e = tx
        .enqueue(&post(id, "a", "one", None), now)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let lease = Duration::seconds(5);
    // Twenty workers claim and die (half of them mid-delivery), each lease expiring.
    for i in 0..20 {
        let at = now + Duration::seconds(6 * i);
        let batch = store.claim_outbox("web", at, lease, 10).await.unwrap();
        assert_eq!(batch.len(), 1, "round {i}");
        if i % 2 == 0 {
            let token = batch[0].claim_token.as_deref().unwrap();
            store
                .start_outbox_delivery(e, token, at + lease)
                .await
                .unwrap()
                .unwrap();
        }
    }
    // Start-up on the embedded database gives every claim back at once.
    assert_eq!(store.release_outbox_claims().await.unwrap(), 1);
    let batch = store
        .claim_outbox("web", now + Duration::seconds(120), lease, 10)
        .await
        .unwrap();
    assert_eq!(batch[0].attempts, 0, "claims and crashes are not attempts");
    assert_eq!(
        batch[0].starts, 10,
        "but the deliveries that began are known"
    );
    // A graceful shutdown returns an unstarted claim.
    let token = batch[0].claim_token.clone().unwrap();
    assert!(store.release_outbox_claim(e, &token).await.unwrap());
    assert_eq!(
        store
            .claim_outbox("web", now + Duration::seconds(120), lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
both_backends!(crash_accounting, claims_and_crashes_spend_no_attempts);

async fn replicas_share_one_rate_limit_bucket(backend: Backend) {
    let (store, db) = store(backend).await;
    let other = Store::connect(&db.url, 4).await.unwrap();
    let now = Utc::now();
    // Tier 2: 20 a minute. Two replicas reserve 25 calls at the same moment.
    let mut waits = Vec::new();
    for i in 0..25 {
        let s = if i % 2 == 0 { &store } else { &other };
        waits.push(
            s.reserve_rate_token("slack:conversations.create", 20, 20, now)
                .await
                .unwrap(),
        );
    }
    assert!(waits[..20].iter().all(|w| w.is_zero()), "{waits:?}");
    let queued: Vec<u128> = waits[20..].iter().map(|w| w.as_millis()).collect();
    assert_eq!(
        queued,
        [3000, 6000, 9000, 12000, 15000],
        "calls beyond the burst queue up across replicas"
    );
    // A minute later the bucket has refilled (less what the queue used).
    let later = store
        .reserve_rate_token(
            "slack:conversations.create",
            20,
            20,
            now + Duration::seconds(60),
        )
        .await
        .unwrap();
    assert!(later.is_zero());
    // Another method has its own bucket.
    assert!(
        other
            .reserve_rate_token("slack:pins.add", 20, 20, now)
            .await
            .unwrap()
            .is_zero()
    );
}
both_backends!(shared_rate_limit, replicas_share_one_rate_limit_bucket);

async fn the_background_checkpoint_empties_the_write_ahead_log(backend: Backend) {
    let (store, _db) = store(backend).await;
    let one = insert(&store, "first").await;
    let first = store.checkpoint().await.unwrap();
    if backend == Backend::Postgres {
        assert_eq!(first, None, "PostgreSQL checkpoints itself");
        return;
    }
    // The writer leaves checkpoints to the checkpointer (up to 16,384 pages): the migrations and the
    // first incident are all still in the log, and a passive checkpoint with no reader copies them all.
    let first = first.expect("SQLite checkpoints");
    assert!(first.log_pages > 0, "{first:?}");
    assert_eq!(first.checkpointed_pages, first.log_pages, "{first:?}");
    // The next write starts the log over instead of growing it.
    let two = insert(&store, "second").await;
    let second = store
        .checkpoint()
        .await
        .unwrap()
        .expect("SQLite checkpoints");
    assert!(
        second.log_pages < first.log_pages,
        "{first:?} then {second:?}"
    );
    assert_eq!(second.checkpointed_pages, second.log_pages, "{second:?}");
    for (id, title) in [(one, "first"), (two, "second")] {
        let read = store.incident(id).await.unwrap().expect("still there");
        assert_eq!(read.title, title);
    }
}
both_backends!(
    wal_checkpoint,
    the_background_checkpoint_empties_the_write_ahead_log
);

/// The migrations a database had before migration `before`: a database an earlier build left.
async fn migrate_before(db: &TestDb, backend: Backend, before: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let dir = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let mut migrator =
        sqlx::migrate::Migrator::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .await
            .expect("read the migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < before)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    // The store creates a SQLite file that is not there yet; so does this earlier build.
    let url = match backend {
        Backend::Sqlite => format!("{}?mode=rwc", db.url),
        Backend::Postgres => db.url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    migrator
        .run(&mut conn)
        .await
        .expect("the earlier migrations");
    // Alerts as the ingest of that build wrote them: one dispatched into incident 7, one pending.
    let rows = "INSERT INTO alerts (fingerprint, source, status, alertname, service, grade, labels, \
        annotations, starts_at, ends_at, generator_url, group_key, incident_id, inhibited_by, dirty, flaps, \
        reports, acknowledged_at, first_seen, updated_at, announced_at) VALUES \
        ('ffff0001', 'alertmanager', 'firing', 'DiskFull', 'db', 'P2', '{\"alertname\":\"DiskFull\"}', \
         '{\"summary\":\"disk\"}', 1000, NULL, 'http://prom', 'g1', 7, NULL, 0, 2, 5, NULL, 900, 1100, 1050), \
        ('0000ffff', 'alertmanager', 'resolved', 'CPUHot', NULL, 'record', '{\"alertname\":\"CPUHot\"}', \
         '{}', 2000, 2500, NULL, 'g2', NULL, 'ffff0001', 1, 0, 1, NULL, 1900, 2600, NULL)";
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows.to_string()))
        .execute(&mut conn)
        .await
        .expect("alerts of the earlier build");
    conn.close().await.unwrap();
}

async fn alerts_written_before_the_arrival_order_migration_read_back_after_it(backend: Backend) {
    use warroom::store::AlertFilter;
    let db = TestDb::new(backend).await;
    // 37: SQLite's alerts table moves from fingerprint order to arrival order (PostgreSQL has no 37).
    migrate_before(&db, backend, 37).await;
    let store = Store::connect(&db.url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    assert!(store.migrations_applied().await.unwrap());
    let all = store
        .alerts(&AlertFilter {
            limit: 10,
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let disk = all
        .iter()
        .find(|a| a.alert.fingerprint == "ffff0001")
        .unwrap();
    assert_eq!(disk.alert.alertname(), "DiskFull");
    assert_eq!(disk.alert.service.as_deref(), Some("db"));
    assert_eq!(
        disk.alert.annotations.get("summary").map(String::as_str),
        Some("disk")
    );
    assert_eq!(
        (disk.incident_id, disk.flaps, disk.reports, disk.pending),
        (Some(7), 2, 5, false)
    );
    assert_eq!(disk.first_seen.timestamp_millis(), 900);
    assert_eq!(disk.announced_at.map(|t| t.timestamp_millis()), Some(1050));
    let cpu = all
        .iter()
        .find(|a| a.alert.fingerprint == "0000ffff")
        .unwrap();
    assert_eq!(
        (cpu.inhibited_by.as_deref(), cpu.pending, cpu.grade.as_str()),
        (Some("ffff0001"), true, "record")
    );
    assert_eq!(cpu.alert.ends_at.map(|t| t.timestamp_millis()), Some(2500));
    // The fingerprint is still the alert's identity: the pending one is found by its group, and a second
    // row for a stored fingerprint is refused.
    let mut tx = store.begin().await.unwrap();
    let pending = tx.pending_alerts("g2").await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].alert.fingerprint, "0000ffff");
    drop(tx);
    store.close().await;
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let duplicate = sqlx::raw_sql(
        "INSERT INTO alerts (fingerprint, source, status, alertname, grade, labels, annotations, \
         starts_at, group_key, first_seen, updated_at) \
         VALUES ('ffff0001', 'native', 'firing', 'X', 'P3', '{}', '{}', 1, 'g3', 1, 1)",
    )
    .execute(&mut conn)
    .await
    .expect_err("a fingerprint is unique");
    let message = duplicate.to_string().to_lowercase();
    assert!(
        message.contains("unique") || message.contains("duplicate"),
        "{message}"
    );
    if backend == Backend::Sqlite {
        // Rows are in arrival order now: the rowid follows the first report.
        let order: Vec<String> =
            sqlx::query_scalar("SELECT fingerprint FROM alerts ORDER BY rowid")
                .fetch_all(&mut conn)
                .await
                .expect("a rowid table");
        assert_eq!(order, ["ffff0001", "0000ffff"]);
    }
}
both_backends!(
    alerts_across_migrations,
    alerts_written_before_the_arrival_order_migration_read_back_after_it
);
