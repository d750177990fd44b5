//! The periodic job tick: claims due jobs (safe with several replicas) and runs them.

use super::Engine;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How long a claimed job stays ours before another replica may take it.
const LEASE_SECS: i64 = 60;
/// Attempts before a failing job is given up on.
const MAX_ATTEMPTS: i64 = 20;

/// Ticks every `changes.jobs_tick_ms` until `shutdown` turns true.
pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(engine.config().changes.jobs_tick_ms.max(10));
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = tick(&engine).await {
            tracing::warn!(error = %e, "job tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Claims and runs the due jobs once; returns how many ran.
pub async fn tick(engine: &Engine) -> Result<usize, crate::store::StoreError> {
    let jobs = engine
        .store()
        .claim_jobs(engine.now(), chrono::Duration::seconds(LEASE_SECS), 16)
        .await?;
    for job in &jobs {
        let span =
            tracing::info_span!("job.run", id = job.id, kind = %job.kind, attempt = job.attempts);
        let run = if Engine::is_paging_job(&job.kind) {
            engine.run_paging_job(job).instrument(span).await
        } else {
            engine.run_job(job).instrument(span).await
        };
        if let Err(e) = run {
            tracing::warn!(job = job.id, error = %e, "job failed");
            let backoff = chrono::Duration::seconds(1i64 << job.attempts.clamp(0, 8));
            let give_up = job.attempts >= MAX_ATTEMPTS;
            engine
                .store()
                .fail_job(job.id, &e.to_string(), engine.now() + backoff, give_up)
                .await?;
        }
    }
    Ok(jobs.len())
}
