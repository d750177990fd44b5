//! Alert ingest: classify each report against what is known, write the batch in one transaction,
//! schedule its groups, and wake the dispatcher. Acknowledged only after commit.

use super::unit::Unit;
use super::{Clock, Engine, EngineError};
use crate::config::Config;
use crate::domain::alert::{Alert, AlertStatus, Change, Known, classify};
use crate::domain::alert_policy::{AlertPolicy, Grade};
use crate::domain::alert_rules::group_key;
use crate::store::{AlertWrite, Backend, GroupTiming, Repeat, Store, StoreError, Tx};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

/// The alert policy and the dispatcher's wake-up, shared by every clone of the engine.
#[derive(Clone)]
pub struct AlertsRuntime {
    /// The parsed `[alerts]` policy.
    pub policy: Arc<AlertPolicy>,
    /// Wakes the dispatcher after an ingest commits.
    pub wake: Arc<Notify>,
    /// The group-commit queue, started on first use.
    queue: Arc<OnceLock<mpsc::Sender<Job>>>,
}

impl AlertsRuntime {
    /// The runtime for `config` (a config that fails validation falls back to the default policy).
    pub fn new(config: &Config) -> AlertsRuntime {
        let policy = config.alerts.policy().unwrap_or_else(|problems| {
            tracing::error!(?problems, "invalid [alerts] section; using the defaults");
            crate::config::AlertsConfig::default()
                .policy()
                .expect("the default alert policy is valid")
        });
        AlertsRuntime {
            policy: Arc::new(policy),
            wake: Arc::new(Notify::new()),
            queue: Arc::new(OnceLock::new()),
        }
    }
}

/// What an ingest did with a request's alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ingested {
    /// Alerts in the request.
    pub received: usize,
    /// New alerts or changes of state, stored and queued for dispatch.
    pub changed: usize,
    /// Reports that repeated what was known (counted, nothing changes).
    pub duplicates: usize,
    /// Late reports older than what was known (ignored).
    pub stale: usize,
}

/// One request's alerts waiting for the group commit, and where its answer goes.
struct Job {
    alerts: Vec<Alert>,
    reply: oneshot::Sender<Result<Ingested, EngineError>>,
}

/// Alerts merged into one transaction at most (several requests share a commit).
const MAX_MERGED_ALERTS: usize = 2000;

/// Starts the group-commit writers: one on SQLite (one writer anyway), four on PostgreSQL.
fn spawn_batcher(
    store: Store,
    clock: Arc<dyn Clock>,
    policy: Arc<AlertPolicy>,
    wake: Arc<Notify>,
) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(4096);
    let rx = Arc::new(Mutex::new(rx));
    let writers = match store.backend() {
        Backend::Sqlite => 1,
        // Measured best with the default pool of 8 connections (`bench ingest --no-peer`: 2 writers
        // 43,000, 4 writers 63,000, 8 writers 50,000 alerts/s).
        Backend::Postgres => 4,
    };
    for _ in 0..writers {
        let (store, clock, policy, wake, rx) = (
            store.clone(),
            clock.clone(),
            policy.clone(),
            wake.clone(),
            rx.clone(),
        );
        tokio::spawn(async move {
            loop {
                let jobs = {
                    let mut rx = rx.lock().await;
                    let Some(first) = rx.recv().await else {
                        return;
                    };
                    let mut n = first.alerts.len();
                    let mut jobs = vec![first];
                    while n < MAX_MERGED_ALERTS {
                        match rx.try_recv() {
                            Ok(j) => {
                                n += j.alerts.len();
                                jobs.push(j);
                            }
                            Err(_) => break,
                        }
                    }
                    jobs
                };
                commit_jobs(&store, clock.now(), &policy, &wake, jobs).await;
            }
        });
    }
    tx
}

/// Writes several requests in one transaction and answers each after the commit; if that fails, each
/// request is retried alone so that every caller gets its own answer.
async fn commit_jobs(
    store: &Store,
    now: DateTime<Utc>,
    policy: &AlertPolicy,
    wake: &Notify,
    jobs: Vec<Job>,
) {
    let merged = async {
        let mut unit = Unit::begin(store, now).await?;
        let all: Vec<&[Alert]> = jobs.iter().map(|j| j.alerts.as_slice()).collect();
        let outs = store_batch(unit.tx(), policy, &all, now).await?;
        unit.commit(None).await?;
        Ok::<_, StoreError>(outs)
    }
    .await;
    match merged {
        Ok(outs) => {
            if outs.iter().any(|o| o.changed > 0) {
                wake.notify_one();
            }
            for (job, out) in jobs.into_iter().zip(outs) {
                count(&job.alerts, &out);
                let _ = job.reply.send(Ok(out));
            }
        }
        Err(e) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e.into()));
            }
        }
        Err(_) => {
            for job in jobs {
                let single = async {
                    let mut unit = Unit::begin(store, now).await?;
                    let out = store_batch(unit.tx(), policy, &[job.alerts.as_slice()], now)
                        .await?
                        .remove(0);
                    unit.commit(None).await?;
                    Ok::<_, StoreError>(out)
                }
                .await;
                if let Ok(out) = &single {
                    if out.changed > 0 {
                        wake.notify_one();
                    }
                    count(&job.alerts, out);
                }
                let _ = job.reply.send(single.map_err(EngineError::from));
            }
        }
    }
}

fn count(alerts: &[Alert], out: &Ingested) {
    let source = alerts.first().map(|a| a.source.as_str()).unwrap_or("none");
    metrics::counter!("warroom_alerts_received_total", "source" => source)
        .increment(out.received as u64);
    metrics::counter!("warroom_alerts_deduplicated_total", "source" => source)
        .increment((out.duplicates + out.stale) as u64);
}

/// A status, a start and how many reports stated them.
type Stated = (AlertStatus, DateTime<Utc>, i64);

/// The fast path for re-sent alerts: a fingerprint whose reports in this commit all state one
/// (status, start) is a pure duplicate if the database holds exactly that state, whatever its source
/// (`classify` answers `Duplicate` for equal status and start). One conditional statement checks and
/// counts them all; the fingerprints it counted are returned, and the others take the classifying path.
async fn count_pure_duplicates(
    tx: &mut Tx,
    jobs: &[&[Alert]],
) -> Result<HashSet<String>, StoreError> {
    // fingerprint -> (status, start, reports); None once its reports disagree or need classifying.
    let mut uniform: BTreeMap<&str, Option<Stated>> = BTreeMap::new();
    for a in jobs.iter().flat_map(|j| j.iter()) {
        // Only stored precision (ms) can equal a stored start exactly.
        let exact = a.starts_at.timestamp_subsec_nanos() % 1_000_000 == 0;
        uniform
            .entry(a.fingerprint.as_str())
            .and_modify(|u| match u {
                Some((s, t, n)) if *s == a.status && *t == a.starts_at => *n += 1,
                _ => *u = None,
            })
            .or_insert(exact.then_some((a.status, a.starts_at, 1)));
    }
    // In fingerprint order (the order the counter rows are locked in on PostgreSQL).
    let repeats: Vec<Repeat<'_>> = uniform
        .into_iter()
        .filter_map(|(fingerprint, u)| {
            u.map(|(status, starts_at, reports)| Repeat {
                fingerprint,
                status,
                starts_at,
                reports,
            })
        })
        .collect();
    Ok(tx.count_if_unchanged(&repeats).await?.into_iter().collect())
}

/// Classifies several requests' alerts (in order) against what is stored and writes the changes inside
/// `tx` with a handful of statements, whatever the number of requests; one answer per request.
async fn store_batch(
    tx: &mut Tx,
    policy: &AlertPolicy,
    jobs: &[&[Alert]],
    now: DateTime<Utc>,
) -> Result<Vec<Ingested>, StoreError> {
    let counted = count_pure_duplicates(tx, jobs).await?;
    let mut fps: Vec<&str> = jobs
        .iter()
        .flat_map(|j| j.iter().map(|a| a.fingerprint.as_str()))
        .filter(|fp| !counted.contains(*fp))
        .collect();
    fps.sort_unstable();
    fps.dedup();
    let mut known: HashMap<String, (Known, i64)> = tx
        .known_alerts(&fps)
        .await?
        .into_iter()
        .map(|(fp, k)| {
            let known = Known {
                status: k.status,
                starts_at: k.starts_at,
            };
            (fp, (known, k.flaps))
        })
        .collect();
    // Last report of each fingerprint wins; `reports` counts every accepted report merged into a write.
    let mut changed: BTreeMap<String, (Alert, String, String, i64, i64)> = BTreeMap::new();
    let mut duplicates: BTreeMap<&str, i64> = BTreeMap::new();
    let mut outs = Vec::with_capacity(jobs.len());
    for alerts in jobs {
        let mut out = Ingested {
            received: alerts.len(),
            ..Ingested::default()
        };
        for incoming in alerts.iter() {
            if counted.contains(incoming.fingerprint.as_str()) {
                // Already counted by `count_pure_duplicates`: the stored state is what it repeats.
                out.duplicates += 1;
                continue;
            }
            let prev = known.get(&incoming.fingerprint);
            let change = classify(prev.map(|(k, _)| k), incoming);
            match change {
                Change::Duplicate => {
                    out.duplicates += 1;
                    *duplicates.entry(incoming.fingerprint.as_str()).or_insert(0) += 1;
                    continue;
                }
                Change::Stale => {
                    out.stale += 1;
                    continue;
                }
                _ => {}
            }
            out.changed += 1;
            let mut alert = incoming.clone();
            let mut flaps = prev.map(|(_, f)| *f).unwrap_or(0);
            if change == Change::Refired {
                flaps += 1;
            }
            if let (Change::Resolved, Some((k, _))) = (change, prev) {
                alert.starts_at = k.starts_at;
            }
            let known_now = Known {
                status: alert.status,
                starts_at: alert.starts_at,
            };
            known.insert(alert.fingerprint.clone(), (known_now, flaps));
            let grade = policy
                .grade(alert.source, alert.severity_label())
                .as_str()
                .to_string();
            let key = group_key(&alert.labels, &policy.group_by);
            let reports = changed.get(&alert.fingerprint).map(|c| c.4).unwrap_or(0) + 1;
            changed.insert(
                alert.fingerprint.clone(),
                (alert, grade, key, flaps, reports),
            );
        }
        outs.push(out);
    }
    // Written in fingerprint order (the order rows are locked in on PostgreSQL).
    let rows: Vec<_> = changed.into_values().collect();
    let writes: Vec<AlertWrite<'_>> = rows
        .iter()
        .map(|(alert, grade, key, flaps, reports)| AlertWrite {
            alert,
            grade,
            group_key: key,
            flaps: *flaps,
            reports: *reports,
        })
        .collect();
    tx.write_alerts(&writes, now).await?;
    let mut by_count: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (fp, n) in duplicates {
        by_count.entry(n).or_default().push(fp);
    }
    for (n, fps) in by_count {
        tx.count_duplicates(&fps, n).await?;
    }
    // Group once: a group its sender grouped already, or one that declares at once, is due now (its later
    // changes coalesced in `coalesce`); the others wait `group_wait` / `group_interval` as in Alertmanager.
    let mut groups: BTreeMap<&str, (Option<&str>, bool)> = BTreeMap::new();
    for (alert, grade, key, _, _) in &rows {
        let grade = grade.parse().unwrap_or(Grade::Record);
        let at_once = policy.dispatch_at_once([(alert, grade)]);
        let g = groups
            .entry(key.as_str())
            .or_insert((alert.service.as_deref(), false));
        g.1 |= at_once;
    }
    let split = |want: bool| -> Vec<(&str, Option<&str>)> {
        groups
            .iter()
            .filter(|(_, (_, at_once))| *at_once == want)
            .map(|(k, (service, _))| (*k, *service))
            .collect()
    };
    let timing = |wait, interval| GroupTiming {
        wait,
        interval,
        joined: policy.coalesce,
    };
    tx.touch_groups(
        &split(true),
        now,
        timing(TimeDelta::zero(), policy.coalesce),
    )
    .await?;
    tx.touch_groups(
        &split(false),
        now,
        timing(policy.group_wait, policy.group_interval),
    )
    .await?;
    Ok(outs)
}

impl Engine {
    /// The alert policy.
    pub fn alert_policy(&self) -> &AlertPolicy {
        &self.alerts.policy
    }

    /// Stores a request's alerts and schedules their groups; answers after the commit. Requests that
    /// arrive together share one transaction (group commit). Idempotent by (fingerprint, starts_at):
    /// the same batch twice changes nothing the second time.
    pub async fn ingest_alerts(&self, alerts: Vec<Alert>) -> Result<Ingested, EngineError> {
        let queue = self.alerts.queue.get_or_init(|| {
            spawn_batcher(
                self.store.clone(),
                self.clock.clone(),
                self.alerts.policy.clone(),
                self.alerts.wake.clone(),
            )
        });
        let (reply, answer) = oneshot::channel();
        queue
            .send(Job { alerts, reply })
            .await
            .map_err(|_| EngineError::Conflict("alert ingest is shutting down".into()))?;
        answer
            .await
            .map_err(|_| EngineError::Conflict("alert ingest is shutting down".into()))?
    }

    /// Records a PagerDuty `acknowledge` for a dedup key; false when the key is unknown.
    pub async fn acknowledge_alert(&self, fingerprint: &str) -> Result<bool, EngineError> {
        let mut unit = self.unit().await?;
        let now = unit.now();
        let result = unit.tx().acknowledge_alert(fingerprint, now).await;
        self.finish(unit, None, result.map_err(Into::into)).await
    }
}
