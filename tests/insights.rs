//! Insights against hand-computed figures on a fixture of deploys, incidents and alerts, on both
//! backends: incidents per week, MTTA/MTTR median and p90, the four DORA keys, the risk charts and
//! the noise lists, as JSON (page and API), CSV and SVG (one mark per value).

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::rig::Rig;
use common::{Backend, TestApp, TestClock, TestDb, test_config};
use serde_json::{Value, json};
use sqlx::Connection;
use warroom::domain::change::{Change, ChangeKind, ChangeStatus};
use warroom::domain::{IncidentType, NewIncident, Severity, Status};

fn t(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

impl Rig {
    /// A `service` outage opened from alerts at `when`.
    async fn incident(&self, when: DateTime<Utc>, severity: Severity, service: &str) -> i64 {
        let title = format!("trouble on {service}");
        let data = json!({"title": title, "severity": severity, "service": service});
        let new = NewIncident {
            title,
            severity,
            kind: IncidentType::Outage,
            service: Some(service.into()),
            status: Status::Detected,
            declared_by: None,
            detected_at: when,
        };
        self.opened_from_alerts(new, data).await
    }

    async fn change(
        &self,
        kind: ChangeKind,
        service: &str,
        started: DateTime<Utc>,
        committed: Option<DateTime<Utc>>,
    ) -> i64 {
        let c = Change {
            id: 0,
            source: "native".into(),
            external_id: None,
            kind,
            service: service.into(),
            services: vec![service.into()],
            environment: Some("production".into()),
            summary: format!("{kind} {service}"),
            author: Some("dev".into()),
            version: None,
            links: vec![],
            status: ChangeStatus::Done,
            rollback_of: None,
            rollback_plan: None,
            started_at: Some(started),
            ended_at: Some(started + Duration::minutes(5)),
            created_at: started,
            updated_at: started,
            committed_at: committed,
        };
        let mut tx = self.store.begin().await.unwrap();
        let id = tx.insert_change(&c).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    async fn link(&self, incident: i64, change: i64, rank: i64, confirmed: bool) {
        let mut tx = self.store.begin().await.unwrap();
        tx.link_change(incident, change, 0.9, rank, &[], t(20, 0, 0))
            .await
            .unwrap();
        if confirmed {
            tx.confirm_change(incident, change, t(20, 0, 0))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// (fingerprint, alertname, reports, flaps, incident, first seen in ms).
type AlertFixture = (&'static str, &'static str, i64, i64, Option<i64>, i64);

/// Alert rows as the alert pipeline leaves them (current state per fingerprint).
async fn alerts(url: &str, incidents: (i64, i64)) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let ms = |d: DateTime<Utc>| d.timestamp_millis();
    let rows: [AlertFixture; 5] = [
        (
            "a1",
            "HighLatency",
            5,
            1,
            Some(incidents.0),
            ms(t(2, 10, 15)),
        ),
        (
            "a2",
            "HighLatency",
            3,
            0,
            Some(incidents.1),
            ms(t(10, 16, 5)),
        ),
        ("a3", "DiskFull", 10, 4, None, ms(t(5, 3, 0))),
        ("a4", "CPUHot", 1, 0, None, ms(t(6, 3, 0))),
        (
            "a5",
            "Old",
            100,
            9,
            None,
            ms(t(1, 0, 0) - Duration::days(31)),
        ),
    ];
    for (fp, name, reports, flaps, incident, seen) in rows {
        sqlx::query(
            "INSERT INTO alerts (fingerprint, source, status, alertname, grade, labels, annotations, \
             starts_at, group_key, incident_id, flaps, reports, first_seen, updated_at, dirty) \
             VALUES ($1, 'alertmanager', 'resolved', $2, 'page', '{}', '{}', $3, 'g', $4, $5, $6, $7, $8, 0)",
        )
        .bind(fp)
        .bind(name)
        .bind(seen)
        .bind(incident)
        .bind(flaps)
        .bind(reports)
        .bind(seen)
        .bind(seen)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO alert_duplicates (fingerprint, reports) VALUES ('a3', 2)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Two weeks (Mon 2 – Sun 15 November 2026): four deploys and a config change, five incidents.
async fn seed(r: &Rig, url: &str) {
    use ChangeKind::*;
    let d1 = r
        .change(Deploy, "checkout", t(2, 10, 0), Some(t(2, 8, 0)))
        .await;
    let d2 = r
        .change(Deploy, "checkout", t(3, 14, 0), Some(t(3, 13, 30)))
        .await;
    let d3 = r.change(Deploy, "payments", t(4, 9, 0), None).await;
    let d4 = r
        .change(Deploy, "search", t(10, 16, 0), Some(t(10, 12, 0)))
        .await;
    let c1 = r.change(Config, "payments", t(12, 9, 0), None).await;
    // Outside the period: counted nowhere.
    r.change(
        Deploy,
        "checkout",
        t(1, 10, 0) - Duration::days(2),
        Some(t(1, 0, 0) - Duration::days(3)),
    )
    .await;

    let i1 = r.incident(t(2, 10, 20), Severity::P1, "checkout").await;
    r.status(i1, t(2, 10, 25), "declared").await;
    r.status(i1, t(2, 11, 20), "resolved").await;
    let i2 = r.incident(t(4, 9, 30), Severity::P2, "payments").await;
    r.status(i2, t(4, 9, 32), "declared").await;
    r.status(i2, t(4, 10, 0), "resolved").await;
    let i3 = r.incident(t(10, 16, 10), Severity::P1, "search").await;
    r.status(i3, t(10, 16, 20), "declared").await;
    r.status(i3, t(10, 18, 10), "resolved").await;
    let i4 = r.incident(t(11, 12, 0), Severity::P3, "checkout").await;
    r.status(i4, t(11, 12, 1), "declared").await;
    let i5 = r.incident(t(12, 9, 10), Severity::P2, "payments").await;
    r.status(i5, t(12, 9, 15), "declared").await;
    r.status(i5, t(12, 9, 45), "resolved").await;

    r.link(i1, d1, 1, true).await;
    r.link(i1, d2, 2, false).await;
    r.link(i2, d3, 1, false).await;
    r.link(i3, d4, 1, true).await;
    r.link(i5, c1, 1, false).await;
    alerts(url, (i1, i3)).await;
}

fn series<'a>(chart: &'a Value, name: &str) -> &'a Value {
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .map(|s| &s["values"])
        .unwrap_or_else(|| panic!("no series {name} in {chart}"))
}

fn check(charts: &Value) {
    let chart = |id: &str| -> &Value {
        charts
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no chart {id}"))
    };
    let weeks = json!(["2026-11-02", "2026-11-09"]);

    let c = chart("incidents-per-week");
    assert_eq!(c["x"], weeks);
    assert_eq!(*series(c, "P0"), json!([0.0, 0.0]));
    assert_eq!(*series(c, "P1"), json!([1.0, 1.0]));
    assert_eq!(*series(c, "P2"), json!([1.0, 1.0]));
    assert_eq!(*series(c, "P3"), json!([0.0, 1.0]));
    assert_eq!(c["figures"]["incidents"], 5.0);

    // MTTA [300, 120, 600, 60, 300]: median 300, p90 rank ⌈4.5⌉ = 5 → 600.
    // MTTR [3600, 1800, 7200, 2100]: median (2100+3600)/2, p90 rank ⌈3.6⌉ = 4 → 7200.
    let c = chart("mtta-mttr");
    assert_eq!(c["figures"]["mtta_median_seconds"], 300.0);
    assert_eq!(c["figures"]["mtta_p90_seconds"], 600.0);
    assert_eq!(c["figures"]["mttr_median_seconds"], 2850.0);
    assert_eq!(c["figures"]["mttr_p90_seconds"], 7200.0);
    assert_eq!(*series(c, "mtta_median"), json!([210.0, 300.0]));
    assert_eq!(*series(c, "mtta_p90"), json!([300.0, 600.0]));
    assert_eq!(*series(c, "mttr_median"), json!([2700.0, 4650.0]));
    assert_eq!(*series(c, "mttr_p90"), json!([3600.0, 7200.0]));

    let c = chart("time-in-status");
    let i = c["x"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| x == "detected")
        .unwrap();
    assert_eq!(
        series(c, "seconds")[i],
        300.0 + 120.0 + 600.0 + 60.0 + 300.0
    );

    // DORA: 4 deploys in 14 days; lead times [7200, 1800, 14400] (one deploy has no commit time).
    let c = chart("deployment-frequency");
    assert_eq!(*series(c, "deploys"), json!([3.0, 1.0]));
    assert_eq!(c["figures"]["deploys"], 4.0);
    assert_eq!(c["figures"]["per_week"], 2.0);
    assert_eq!(c["figures"]["per_day"], 4.0 / 14.0);
    let c = chart("lead-time");
    assert_eq!(c["figures"]["deploys_with_commit_time"], 3.0);
    assert_eq!(c["figures"]["median_seconds"], 7200.0);
    assert_eq!(c["figures"]["p90_seconds"], 14400.0);
    assert_eq!(*series(c, "median_seconds"), json!([4500.0, 14400.0]));
    assert_eq!(*series(c, "p90_seconds"), json!([7200.0, 14400.0]));
    // Two deploys confirmed as a cause (a top suspect not confirmed does not count).
    let c = chart("change-failure-rate");
    assert_eq!(c["figures"]["deploys"], 4.0);
    assert_eq!(c["figures"]["failed"], 2.0);
    assert_eq!(c["figures"]["rate"], 0.5);
    assert_eq!(*series(c, "rate"), json!([1.0 / 3.0, 1.0]));
    // Incidents caused by a confirmed change: detected → resolved [3600, 7200].
    let c = chart("time-to-restore");
    assert_eq!(c["figures"]["restored"], 2.0);
    assert_eq!(c["figures"]["median_seconds"], 5400.0);
    assert_eq!(c["figures"]["p90_seconds"], 7200.0);

    // Risk: each incident's confirmed change, else its top suspect.
    let c = chart("risky-kinds");
    assert_eq!(c["x"], json!(["config", "deploy"]));
    assert_eq!(*series(c, "changes"), json!([1.0, 4.0]));
    assert_eq!(*series(c, "incidents"), json!([1.0, 3.0]));
    assert_eq!(*series(c, "incident_rate"), json!([1.0, 0.75]));
    let c = chart("risky-services");
    assert_eq!(c["x"], json!(["payments", "search", "checkout"]));
    assert_eq!(*series(c, "changes"), json!([2.0, 1.0, 2.0]));
    assert_eq!(*series(c, "incidents"), json!([2.0, 1.0, 1.0]));
    let c = chart("risky-hours");
    assert_eq!(c["x"].as_array().unwrap().len(), 24);
    assert_eq!(c["series"].as_array().unwrap().len(), 7);
    assert_eq!(c["figures"]["incidents"], 4.0);
    assert_eq!(series(c, "Mon")[10], 1.0);
    assert_eq!(series(c, "Tue")[16], 1.0);
    assert_eq!(series(c, "Wed")[9], 1.0);
    assert_eq!(series(c, "Thu")[9], 1.0);
    assert_eq!(series(c, "Tue")[14], 0.0);

    // Noise: reports include duplicates; the October alert is outside the period.
    let c = chart("alert-noise");
    assert_eq!(c["x"], json!(["DiskFull", "HighLatency", "CPUHot"]));
    assert_eq!(*series(c, "reports"), json!([12.0, 8.0, 1.0]));
    assert_eq!(*series(c, "incidents"), json!([0.0, 2.0, 0.0]));
    assert_eq!(*series(c, "flaps"), json!([4.0, 1.0, 0.0]));
    let c = chart("tuning-candidates");
    assert_eq!(c["x"], json!(["DiskFull", "CPUHot"]));
    assert_eq!(*series(c, "reports"), json!([12.0, 1.0]));
}

/// The `class="mark"` elements of an SVG document (which must parse as XML).
fn marks(svg: &str) -> usize {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut n = 0;
    let mut root = false;
    loop {
        match reader.read_event().expect("the SVG parses") {
            Event::Start(e) | Event::Empty(e) => {
                root |= e.name().as_ref() == b"svg";
                let class = e
                    .try_get_attribute("class")
                    .unwrap()
                    .map(|a| a.unescape_value().unwrap().to_string());
                if class.as_deref() == Some("mark") {
                    n += 1;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(root, "no <svg> element");
    n
}

async fn insights_match_hand_computed_figures(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    config
        .roles
        .insert("admin".into(), warroom::config::Grants(vec!["ic".into()]));
    let rig = Rig::new(&db, &config, t(1, 0, 0)).await;
    seed(&rig, &db.url).await;
    let charts = rig
        .at(t(20, 0, 0))
        .insights(t(2, 0, 0), t(16, 0, 0))
        .await
        .unwrap();
    check(&serde_json::to_value(&charts).unwrap());
    rig.store.close().await;

    // The app's clock stands still, so that the running time of incidents not yet closed
    // (time-in-status) is the same in every request of this test.
    let app = TestApp::start_with_clock(db, config, Some(TestClock::at(t(20, 0, 0)))).await;
    let period = "from=2026-11-02&to=2026-11-15";
    let mut all = Vec::new();
    for id in warroom::domain::insights::CHARTS {
        let (s, c) = app
            .get_json(&format!("/api/v1/reports/{id}?{period}&format=json"))
            .await;
        assert_eq!(s, 200, "{c}");
        let (s, page_c) = app
            .get_json(&format!("/reports/{id}?{period}&format=json"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(c, page_c);
        // One mark per value, in an SVG that parses.
        let svg = app.get_text(&format!("/reports/{id}?{period}")).await;
        let points: usize = c["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| !v.is_null())
                    .count()
            })
            .sum();
        assert_eq!(marks(&svg), points, "{id}: {svg}");
        all.push(c);
    }
    check(&Value::Array(all));

    let resp = reqwest::get(app.url(&format!("/api/v1/reports/alert-noise?{period}&format=csv")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(
        resp.text().await.unwrap(),
        "alertname,reports,incidents,flaps\nDiskFull,12,0,4\nHighLatency,8,2,1\nCPUHot,1,0,0\n"
    );
    let csv = app
        .get_text(&format!("/reports/lead-time?{period}&format=csv"))
        .await;
    assert_eq!(
        csv,
        "week,median_seconds,p90_seconds\n2026-11-02,4500,7200\n2026-11-09,14400,14400\n"
    );
    let csv = app
        .get_text(&format!("/reports/risky-hours?{period}&format=csv"))
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "hour,Mon,Tue,Wed,Thu,Fri,Sat,Sun");
    assert_eq!(lines.len(), 25);
    assert_eq!(lines[11], "10,1,0,0,0,0,0,0");

    let (s, e) = app
        .get_json(&format!("/api/v1/reports/bogus?{period}"))
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("chart"),
        "{e}"
    );
    let (s, e) = app
        .get_json(&format!("/api/v1/reports/lead-time?{period}&format=svg"))
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        e["error"]["message"],
        "format: `svg` is not one of json, csv"
    );
}
both_backends!(insights_figures, insights_match_hand_computed_figures);
