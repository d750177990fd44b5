//! Durable jobs: two workers (replicas) claiming from one database never take the same job.

mod common;

use chrono::Utc;
use common::{Backend, TestDb};
use std::collections::BTreeSet;
use warroom::store::Store;

async fn each_job_is_claimed_once_by_racing_workers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = Store::connect(&db.url, 4).await.unwrap();
    a.migrate().await.unwrap();
    let b = Store::connect(&db.url, 4).await.unwrap();
    let now = Utc::now();
    let mut tx = a.begin().await.unwrap();
    for i in 0..60 {
        let key = format!("race:{i}");
        let id = tx
            .schedule_job("test", &key, &serde_json::json!({"i": i}), now, now)
            .await
            .unwrap();
        assert!(id.is_some());
    }
    assert_eq!(
        tx.schedule_job("test", "race:0", &serde_json::json!({}), now, now)
            .await
            .unwrap(),
        None,
        "a job key is scheduled once"
    );
    tx.commit().await.unwrap();
    let worker = |store: Store| async move {
        let mut mine = Vec::new();
        loop {
            let jobs = store
                .claim_jobs(Utc::now(), chrono::Duration::seconds(60), 4)
                .await
                .unwrap();
            if jobs.is_empty() {
                return mine;
            }
            for j in jobs {
                let mut tx = store.begin().await.unwrap();
                tx.complete_job(j.id, Utc::now()).await.unwrap();
                tx.commit().await.unwrap();
                mine.push(j.id);
            }
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(worker(a.clone())),
        tokio::spawn(worker(b.clone()))
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    let all: BTreeSet<i64> = x.iter().chain(y.iter()).copied().collect();
    assert_eq!(all.len(), 60, "every job ran");
    assert_eq!(x.len() + y.len(), 60, "no job ran twice");
    assert_eq!(a.pending_jobs("test").await.unwrap(), 0);
    a.close().await;
    b.close().await;
}
both_backends!(race, each_job_is_claimed_once_by_racing_workers);
