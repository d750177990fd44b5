//! Alert ingest: classify each report against what is known, write the batch in one transaction,
//! schedule its groups, and wake the dispatcher. Acknowledged only after commit.

use super::{Engine, EngineError};
use crate::config::Config;
use crate::domain::alert::{Alert, Change, Known, classify};
use crate::domain::alert_policy::AlertPolicy;
use crate::domain::alert_rules::group_key;
use crate::store::AlertWrite;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Notify;

/// The alert policy and the dispatcher's wake-up, shared by every clone of the engine.
#[derive(Clone)]
pub struct AlertsRuntime {
    /// The parsed `[alerts]` policy.
    pub policy: Arc<AlertPolicy>,
    /// Wakes the dispatcher after an ingest commits.
    pub wake: Arc<Notify>,
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

impl Engine {
    /// The alert policy.
    pub fn alert_policy(&self) -> &AlertPolicy {
        &self.alerts.policy
    }

    /// Stores a batch of alerts in one transaction and schedules their groups; idempotent by
    /// (fingerprint, starts_at): the same batch twice changes nothing the second time.
    pub async fn ingest_alerts(&self, alerts: Vec<Alert>) -> Result<Ingested, EngineError> {
        let now = self.now();
        let policy = self.alerts.policy.clone();
        let mut out = Ingested {
            received: alerts.len(),
            ..Ingested::default()
        };
        let source = alerts
            .first()
            .map(|a| a.source.as_str())
            .unwrap_or("none");
        let mut fps: Vec<&str> = alerts.iter().map(|a| a.fingerprint.as_str()).collect();
        fps.sort_unstable();
        fps.dedup();
        let mut tx = self.store.begin().await?;
        let mut known: HashMap<String, (Known, i64)> = tx
            .known_alerts(&fps)
            .await?
            .into_iter()
            .map(|(fp, k)| {
                (
                    fp,
                    (
                        Known {
                            status: k.status,
                            starts_at: k.starts_at,
                        },
                        k.flaps,
                    ),
                )
            })
            .collect();
        // Last report of each fingerprint wins.
        let mut changed: BTreeMap<String, (Alert, String, String, i64)> = BTreeMap::new();
        let mut duplicates: Vec<String> = Vec::new();
        for mut alert in alerts {
            let prev = known.get(&alert.fingerprint);
            let change = classify(prev.map(|(k, _)| k), &alert);
            match change {
                Change::Duplicate => {
                    out.duplicates += 1;
                    duplicates.push(alert.fingerprint.clone());
                    continue;
                }
                Change::Stale => {
                    out.stale += 1;
                    continue;
                }
                _ => {}
            }
            let mut flaps = prev.map(|(_, f)| *f).unwrap_or(0);
            if change == Change::Refired {
                flaps += 1;
            }
            if let (Change::Resolved, Some((k, _))) = (change, prev) {
                alert.starts_at = k.starts_at;
            }
            known.insert(
                alert.fingerprint.clone(),
                (
                    Known {
                        status: alert.status,
                        starts_at: alert.starts_at,
                    },
                    flaps,
                ),
            );
            let grade = policy
                .grade(alert.source, alert.severity_label())
                .as_str()
                .to_string();
            let key = group_key(&alert.labels, &policy.group_by);
            changed.insert(alert.fingerprint.clone(), (alert, grade, key, flaps));
        }
        // Written in fingerprint order (the order rows are locked in on PostgreSQL).
        let rows: Vec<_> = changed.into_values().collect();
        out.changed = rows.len();
        let writes: Vec<AlertWrite<'_>> = rows
            .iter()
            .map(|(alert, grade, key, flaps)| AlertWrite {
                alert,
                grade,
                group_key: key,
                flaps: *flaps,
            })
            .collect();
        tx.write_alerts(&writes, now).await?;
        let mut dups: Vec<&str> = duplicates.iter().map(String::as_str).collect();
        dups.sort_unstable();
        tx.count_duplicates(&dups).await?;
        let mut groups: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for (alert, _, key, _) in &rows {
            groups
                .entry(key.as_str())
                .or_insert(alert.service.as_deref());
        }
        for (key, service) in groups {
            tx.touch_group(
                key,
                service,
                now,
                policy.group_wait,
                policy.group_interval,
            )
            .await?;
        }
        tx.commit().await?;
        if out.changed > 0 {
            self.alerts.wake.notify_one();
        }
        metrics::counter!("warroom_alerts_received_total", "source" => source)
            .increment(out.received as u64);
        metrics::counter!("warroom_alerts_deduplicated_total", "source" => source)
            .increment((out.duplicates + out.stale) as u64);
        Ok(out)
    }

    /// Records a PagerDuty `acknowledge` for a dedup key; false when the key is unknown.
    pub async fn acknowledge_alert(&self, fingerprint: &str) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let found = tx.acknowledge_alert(fingerprint, now).await?;
        tx.commit().await?;
        Ok(found)
    }
}
