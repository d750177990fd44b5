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
    assert_eq!(first[0].attempts, 1);
    assert!(
        store
            .claim_outbox("web", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed entries are leased"
    );

    store
        .retry_outbox(a1, now + Duration::seconds(30), "503 from platform")
        .await
        .unwrap();
    store.complete_outbox(b1, now).await.unwrap();
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
    assert_eq!(later[0].attempts, 2);
    assert_eq!(later[0].last_error.as_deref(), Some("503 from platform"));
    store
        .record_outbox_result(a1, &json!({"ts": "1.2"}))
        .await
        .unwrap();
    store.fail_outbox(a1, "gave up", now).await.unwrap();
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

    // An expired lease (a worker died) makes the entry claimable again.
    let again = store
        .claim_outbox("web", now + Duration::seconds(200), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), [a2]);
    assert_eq!(again[0].attempts, 2);
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
