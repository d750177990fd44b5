//! The jobs worker: claims due jobs (safe with several replicas) and runs them; a job that keeps
//! failing backs off alone (doubling, capped) and is given up on after too many failures in a row,
//! while the others go on. Its last error shows in `GET /api/v1/jobs` and `/metrics`.

use super::{Engine, EngineError, unit};
use crate::store::{Job, JobCounts, JobView, StoreError};
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How long a claimed job stays ours before another replica may take it.
const LEASE_SECS: i64 = 60;
/// Failures in a row before a job is given up on.
const MAX_FAILURES: i64 = 20;
/// The longest a failing job waits before its next try.
const MAX_BACKOFF_SECS: i64 = 300;
/// Jobs claimed per tick.
const BATCH: i64 = 16;

/// Ticks every `changes.jobs_tick_ms` (and when follow-ups are committed) until `shutdown` turns true.
pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(engine.config().changes.jobs_tick_ms.max(10));
    let mut woken = engine.hub().jobs_woken();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = tick(&engine).await {
            tracing::warn!(error = %e, "job tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = woken.changed() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Claims and runs the due jobs once; returns how many ran.
pub async fn tick(engine: &Engine) -> Result<usize, StoreError> {
    let jobs = engine
        .store()
        .claim_jobs(engine.now(), chrono::Duration::seconds(LEASE_SECS), BATCH)
        .await?;
    for job in &jobs {
        run_claimed(engine, job).await?;
    }
    Ok(jobs.len())
}

/// Runs the follow-up jobs `ids` right after the commit that enqueued them, each if nobody else
/// has it; what fails is retried by the tick.
pub(crate) async fn run_now(engine: &Engine, ids: &[i64]) {
    for id in ids {
        let lease = chrono::Duration::seconds(LEASE_SECS);
        match engine.store().claim_job(*id, engine.now(), lease).await {
            Ok(Some(job)) => {
                if let Err(e) = run_claimed(engine, &job).await {
                    tracing::warn!(job = id, error = %e, "could not record a follow-up's failure");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(job = id, error = %e, "follow-up left to the jobs tick");
            }
        }
    }
}

/// The wait before a job's next try after `failures` failures in a row (1 s, 2 s … 300 s).
fn backoff(failures: i64) -> chrono::Duration {
    let secs = 1i64 << (failures - 1).clamp(0, 16);
    chrono::Duration::seconds(secs.min(MAX_BACKOFF_SECS))
}

/// Runs one claimed job; a failure is recorded on the job with its own backoff.
async fn run_claimed(engine: &Engine, job: &Job) -> Result<(), StoreError> {
    let span =
        tracing::info_span!("job.run", id = job.id, kind = %job.kind, attempt = job.attempts);
    let result = if Engine::is_paging_job(&job.kind) {
        engine.run_paging_job(job).instrument(span).await
    } else {
        engine.run_job(job).instrument(span).await
    };
    let Err(e) = result else {
        return Ok(());
    };
    let failures = job.failures + 1;
    let give_up = failures >= MAX_FAILURES;
    let now = engine.now();
    let run_at = now + backoff(failures);
    metrics::counter!("warroom_job_failures_total", "kind" => job.kind.clone()).increment(1);
    if give_up {
        tracing::error!(job = job.id, kind = %job.kind, failures, error = %e, "job given up on");
    } else {
        tracing::warn!(job = job.id, kind = %job.kind, failures, error = %e, retry_at = %run_at,
            "job failed; it backs off alone while the others go on");
    }
    engine
        .store()
        .fail_job(job.id, &e.to_string(), now, run_at, give_up)
        .await
}

impl Engine {
    /// Runs one claimed job; its work commits with its completion.
    pub(crate) async fn run_job(&self, job: &Job) -> Result<(), EngineError> {
        let num = |k: &str| job.payload[k].as_i64();
        let incident =
            || num("incident").ok_or_else(|| EngineError::invalid("payload", "names no incident"));
        match job.kind.as_str() {
            super::rollback::WATCH | super::rollback::VERIFY => self.run_rollback_job(job).await,
            super::heartbeats::CHECK => self.run_heartbeat_check(job).await,
            unit::POSTMORTEM => {
                let reason = job.payload["reason"].as_str().unwrap_or("resolve");
                let cause = num("cause").unwrap_or_default();
                self.generate_postmortem_job(incident()?, reason, cause, Some(job.id))
                    .await
                    .map(drop)
            }
            unit::CORRELATE => self
                .correlate_job(incident()?, Some(job.id))
                .await
                .map(drop),
            super::reminders::REMIND => self.run_reminder_job(job).await,
            super::reminders::REMIND_ACTION => self.run_action_reminder_job(job).await,
            unit::CORRELATE_CHANGE => {
                let change = num("change")
                    .ok_or_else(|| EngineError::invalid("payload", "names no change"))?;
                self.correlate_change_job(change, job.id).await
            }
            other => {
                tracing::warn!(job = job.id, kind = other, "unknown job kind; dropping it");
                let mut unit = self.unit().await?;
                unit.complete_job(job.id).await?;
                self.commit(unit).await
            }
        }
    }

    /// Jobs that are retrying after failures (`state` = `retrying`) or were given up on
    /// (`failed`), most recent failure first, at most `limit` (1–1000, default 100).
    pub async fn troubled_jobs(
        &self,
        state: &str,
        limit: Option<i64>,
    ) -> Result<Vec<JobView>, EngineError> {
        let failed = match state {
            "retrying" => false,
            "failed" => true,
            other => {
                return Err(EngineError::invalid(
                    "state",
                    format!("`{other}` is not one of retrying, failed"),
                ));
            }
        };
        let limit = limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(EngineError::invalid("limit", "must be between 1 and 1000"));
        }
        Ok(self.store().job_troubles(failed, limit).await?)
    }

    /// Jobs per state.
    pub async fn job_counts(&self) -> Result<JobCounts, EngineError> {
        Ok(self.store().job_counts().await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        let secs: Vec<i64> = [1, 2, 3, 9, 10, 30]
            .into_iter()
            .map(|f| super::backoff(f).num_seconds())
            .collect();
        assert_eq!(secs, [1, 2, 4, 256, 300, 300]);
    }
}
