//! No poison in jobs: a job that always fails backs off alone while the others run, and shows its
//! last error in `GET /api/v1/jobs` and `/metrics`.

mod common;

use chrono::Utc;
use common::{Backend, TestApp, declare};
use serde_json::json;
use warroom::engine::jobs;

async fn a_job_that_always_fails_backs_off_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = declare(&app, "Search is slow", "P2").await;
    let store = app.engine().store();
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    // Its incident does not exist: no retry can make it succeed.
    let poison = json!({"incident": 999_999, "reason": "resolve", "cause": 1});
    tx.schedule_job("postmortem", "test:poison", &poison, now, now)
        .await
        .unwrap();
    tx.schedule_job(
        "correlate",
        "test:good:1",
        &json!({"incident": id}),
        now,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The app's own worker ticks too: either may take a job, never both at once.
    jobs::tick(app.engine()).await.unwrap();
    app.eventually("the good job ran, the poison failed", || async {
        let (_, b) = app.get_json("/api/v1/jobs").await;
        store.pending_jobs("correlate").await.unwrap() == 0
            && b["jobs"][0]["failures"].as_i64() >= Some(1)
    })
    .await;

    let (s, b) = app.get_json("/api/v1/jobs").await;
    assert_eq!(s, 200, "{b}");
    let listed = b["jobs"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{b}");
    let job = &listed[0];
    assert_eq!(job["key"], "test:poison");
    assert_eq!(job["status"], "pending");
    assert!(job["failures"].as_i64().unwrap() >= 1, "{job}");
    assert_eq!(job["last_error"], "incident 999999 not found");
    let next: chrono::DateTime<Utc> = job["run_at"].as_str().unwrap().parse().unwrap();
    assert!(next > now, "it waits out a backoff of its own: {job}");
    assert_eq!(b["counts"]["retrying"], 1, "{b}");

    // While it waits, another job runs at once.
    let mut tx = store.begin().await.unwrap();
    tx.schedule_job(
        "correlate",
        "test:good:2",
        &json!({"incident": id}),
        now,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    jobs::tick(app.engine()).await.unwrap();
    app.eventually("the second good job ran", || async {
        store.pending_jobs("correlate").await.unwrap() == 0
    })
    .await;
    assert_eq!(store.pending_jobs("postmortem").await.unwrap(), 1);

    let metrics = app.get_text("/metrics").await;
    assert!(metrics.contains("warroom_jobs_retrying"), "{metrics}");
    assert!(
        metrics.contains("warroom_job_failures_total{kind=\"postmortem\"}"),
        "{metrics}"
    );
    let (s, b) = app.get_json("/api/v1/jobs?state=failed").await;
    assert_eq!((s, b["jobs"].as_array().map(Vec::len)), (200, Some(0)));
    let (s, b) = app.get_json("/api/v1/jobs?state=stuck").await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"]["code"], "invalid", "{b}");
}
both_backends!(poison, a_job_that_always_fails_backs_off_alone);
