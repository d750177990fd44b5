//! Load against warroom's address while it is killed and restarted: Alertmanager webhooks (v4) with
//! alerts never sent before, so every acknowledged alert must be stored with exactly one report.
//! Bulk writers send `info` alerts (stored, never an incident: the ingest path at full speed); the
//! critical writer sends a few batches a second to a handful of services, which open incidents and
//! keep joining them (room creation, greetings, digests and summary refreshes for Slack).

use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the writers sent and what warroom answered.
#[derive(Default)]
pub struct Tally {
    /// Alerts sent (in requests that reached warroom or not).
    pub sent: AtomicU64,
    /// Fingerprints of alerts acknowledged with a 2xx.
    pub acked: Mutex<Vec<String>>,
    /// 503 answers, each with a `Retry-After` in seconds.
    pub unavailable: AtomicU64,
    /// 503 answers without a usable `Retry-After` or without the JSON error body.
    pub bad_unavailable: AtomicU64,
    /// Any other non-2xx answer (a 500 would be one), with its body.
    pub other: Mutex<Vec<String>>,
    /// Requests that got no answer (refused while warroom is down, or cut by a kill).
    pub unanswered: AtomicU64,
}

impl Tally {
    /// How many alerts were acknowledged.
    pub fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }
}

/// The writers of one round: stopped (and awaited) with [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What they sent and got.
    pub tally: Arc<Tally>,
}

/// One Alertmanager webhook body: `alerts` as (fingerprint, alertname, service, severity).
pub fn webhook(alerts: &[(String, &str, String, &str)]) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    let items: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(fp, name, service, severity)| {
            json!({"status": "firing",
                "labels": {"alertname": name, "service": service, "severity": severity, "instance": fp},
                "annotations": {"summary": format!("{name} on {service}")},
                "startsAt": now, "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com/graph", "fingerprint": fp})
        })
        .collect();
    let (name, service) = alerts
        .first()
        .map(|a| (a.1, a.2.clone()))
        .unwrap_or_default();
    json!({"receiver": "warroom", "status": "firing", "alerts": items,
        "groupLabels": {"alertname": name, "service": service},
        "commonLabels": {"alertname": name, "service": service},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{name}\", service=\"{service}\"}}"),
        "truncatedAlerts": 0})
    .to_string()
}

/// Sends one webhook to each of `bases` and records the answers; true when any acknowledged it.
async fn send(
    client: &reqwest::Client,
    bases: &[String],
    body: String,
    fingerprints: &[String],
    tally: &Tally,
) -> bool {
    tally
        .sent
        .fetch_add(fingerprints.len() as u64, Ordering::Relaxed);
    let sends = bases.iter().map(|base| {
        client
            .post(format!("{base}/hooks/alertmanager"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    });
    let mut acked = false;
    for answer in futures::future::join_all(sends).await {
        let Ok(resp) = answer else {
            tally.unanswered.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let Ok(text) = resp.text().await else {
            tally.unanswered.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match status {
            200..=299 => acked = true,
            503 => {
                let json_error = serde_json::from_str::<serde_json::Value>(&text)
                    .is_ok_and(|v| v["error"]["code"].is_string());
                if retry_after.is_some() && json_error {
                    tally.unavailable.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.bad_unavailable.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => tally.other.lock().unwrap().push(format!("{status} {text}")),
        }
    }
    if acked {
        tally.acked.lock().unwrap().extend_from_slice(fingerprints);
    }
    acked
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

impl Load {
    /// Starts `bulk` writers of 10 `info` alerts a request, and (with `services` > 0) one writer of
    /// 3 critical alerts every `every` to services `svc-0` …, one more service every `spread`.
    /// Each request goes to every address in `bases` (replicas behind an HA Alertmanager pair).
    pub fn start(
        bases: Vec<String>,
        bulk: usize,
        services: usize,
        every: Duration,
        spread: Duration,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let mut tasks = Vec::new();
        for w in 0..bulk {
            let (stop, tally, bases) = (stop.clone(), tally.clone(), bases.clone());
            tasks.push(tokio::spawn(async move {
                let client = client();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let alerts: Vec<(String, &str, String, &str)> = (0..10)
                        .map(|j| {
                            (
                                format!("bulk-{w}-{i}-{j}"),
                                "DiskFilling",
                                "bulk".to_string(),
                                "info",
                            )
                        })
                        .collect();
                    let fps: Vec<String> = alerts.iter().map(|a| a.0.clone()).collect();
                    if !send(&client, &bases, webhook(&alerts), &fps, &tally).await {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                    i += 1;
                }
            }));
        }
        if services > 0 {
            let (stop, tally, bases) = (stop.clone(), tally.clone(), bases.clone());
            tasks.push(tokio::spawn(async move {
                let client = client();
                let started = Instant::now();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let open = (1
                        + (started.elapsed().as_millis() / spread.as_millis().max(1)) as usize)
                        .min(services);
                    let service = format!("svc-{}", i as usize % open);
                    let alerts: Vec<(String, &str, String, &str)> = (0..3)
                        .map(|j| {
                            (
                                format!("crit-{service}-{i}-{j}"),
                                "HighErrorRate",
                                service.clone(),
                                "critical",
                            )
                        })
                        .collect();
                    let fps: Vec<String> = alerts.iter().map(|a| a.0.clone()).collect();
                    send(&client, &bases, webhook(&alerts), &fps, &tally).await;
                    i += 1;
                    tokio::time::sleep(every).await;
                }
            }));
        }
        Load { stop, tasks, tally }
    }

    /// Stops the writers and waits for their last requests.
    pub async fn finish(self) -> Arc<Tally> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.tally
    }
}
