//! Reports against hand-computed figures, on both backends: MTTA/MTTR median and p90 by severity and
//! service, counts by type and service, time in each status, action items, the API and the page.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::rig::Rig;
use common::{Backend, TestApp, TestDb, test_config};
use serde_json::{Value, json};
use warroom::domain::Actor;
use warroom::domain::{ActionItem, IncidentType, NewIncident, Severity, Status};
use warroom::engine::Declare;

fn t(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

impl Rig {
    /// An incident opened from alerts (status `detected`), as the alert pipeline opens them.
    async fn detected(
        &self,
        when: DateTime<Utc>,
        severity: Severity,
        kind: IncidentType,
        service: Option<&str>,
    ) -> i64 {
        let title = format!("{kind} of {}", service.unwrap_or("something"));
        let data = json!({"title": title, "severity": severity, "type": kind,
            "service": service, "alerts": ["fp"]});
        let new = NewIncident {
            title,
            severity,
            kind,
            service: service.map(String::from),
            status: Status::Detected,
            declared_by: None,
            detected_at: when,
        };
        self.opened_from_alerts(new, data).await
    }

    async fn item(&self, id: i64, when: DateTime<Utc>, status: &str) {
        let mut tx = self.store.begin().await.unwrap();
        let item = ActionItem {
            id: 0,
            incident_id: id,
            text: "follow up".into(),
            owner: None,
            status: status.into(),
            created_by: Some("ic".into()),
            created_at: when,
            due_at: None,
        };
        tx.add_action_item(&item).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// Five incidents in November 2026 and one in October that no November report may count.
async fn seed(r: &Rig) {
    use IncidentType::*;
    use Severity::*;
    let i1 = r.detected(t(2, 10, 0), P1, Outage, Some("checkout")).await;
    r.status(i1, t(2, 10, 4), "declared").await;
    r.status(i1, t(2, 10, 10), "triaging").await;
    r.status(i1, t(2, 10, 20), "mitigating").await;
    r.status(i1, t(2, 10, 40), "resolved").await;
    r.status(i1, t(2, 11, 40), "closed").await;
    r.item(i1, t(2, 11, 0), "open").await;
    r.item(i1, t(2, 11, 1), "open").await;

    let i2 = r
        .detected(t(3, 9, 0), P1, Degradation, Some("checkout"))
        .await;
    r.status(i2, t(3, 9, 10), "declared").await;
    r.status(i2, t(3, 9, 30), "mitigating").await;
    r.status(i2, t(3, 10, 30), "resolved").await;

    let i3 = r.detected(t(4, 12, 0), P2, Outage, Some("payments")).await;
    r.status(i3, t(4, 12, 2), "declared").await;
    r.status(i3, t(4, 12, 32), "resolved").await;
    r.item(i3, t(4, 13, 0), "done").await;

    let i4 = r
        .at(t(5, 8, 0))
        .declare(
            Declare {
                title: "Leaked token".into(),
                severity: P1,
                kind: Security,
                service: None,
            },
            &Actor::named("sec", "sec", "api"),
        )
        .await
        .unwrap()
        .id;
    r.status(i4, t(5, 8, 30), "triaging").await;

    let i5 = r
        .detected(t(6, 0, 0), P3, Degradation, Some("search"))
        .await;
    r.status(i5, t(6, 0, 5), "cancelled").await;

    let old = r
        .detected(
            Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap(),
            P1,
            Outage,
            Some("checkout"),
        )
        .await;
    r.status(
        old,
        Utc.with_ymd_and_hms(2026, 10, 20, 1, 0, 0).unwrap(),
        "resolved",
    )
    .await;
    r.item(
        old,
        Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap(),
        "open",
    )
    .await;
}

fn timing(v: &Value, incidents: i64, mtta: (Value, Value, i64), mttr: (Value, Value, i64)) {
    assert_eq!(v["incidents"], incidents, "{v}");
    assert_eq!(v["mtta"]["median_seconds"], mtta.0, "mtta median {v}");
    assert_eq!(v["mtta"]["p90_seconds"], mtta.1, "mtta p90 {v}");
    assert_eq!(v["mtta"]["count"], mtta.2, "{v}");
    assert_eq!(v["mttr"]["median_seconds"], mttr.0, "mttr median {v}");
    assert_eq!(v["mttr"]["p90_seconds"], mttr.1, "mttr p90 {v}");
    assert_eq!(v["mttr"]["count"], mttr.2, "{v}");
}

/// Every figure that does not depend on the time the report is asked at.
fn check_figures(r: &Value) {
    assert_eq!(r["incidents"], 5);
    // MTTA [240, 600, 120, 0] → median (120+240)/2, p90 rank ⌈3.6⌉=4; MTTR [2400, 5400, 1920].
    timing(
        &r["overall"],
        5,
        (json!(180.0), json!(600), 4),
        (json!(2400.0), json!(5400), 3),
    );
    timing(
        &r["by_severity"]["P1"],
        3,
        (json!(240.0), json!(600), 3),
        (json!(3900.0), json!(5400), 2),
    );
    timing(
        &r["by_severity"]["P2"],
        1,
        (json!(120.0), json!(120), 1),
        (json!(1920.0), json!(1920), 1),
    );
    timing(
        &r["by_severity"]["P3"],
        1,
        (Value::Null, Value::Null, 0),
        (Value::Null, Value::Null, 0),
    );
    timing(
        &r["by_service"]["checkout"],
        2,
        (json!(420.0), json!(600), 2),
        (json!(3900.0), json!(5400), 2),
    );
    timing(
        &r["by_service"]["payments"],
        1,
        (json!(120.0), json!(120), 1),
        (json!(1920.0), json!(1920), 1),
    );
    timing(
        &r["by_service"]["(none)"],
        1,
        (json!(0.0), json!(0), 1),
        (Value::Null, Value::Null, 0),
    );
    assert_eq!(
        r["count_by_type"],
        json!({"outage": 2, "degradation": 2, "security": 1})
    );
    assert_eq!(
        r["count_by_service"],
        json!({"checkout": 2, "payments": 1, "search": 1, "(none)": 1})
    );
    assert_eq!(
        r["count_by_status"],
        json!({"closed": 1, "resolved": 2, "triaging": 1, "cancelled": 1})
    );
    assert_eq!(r["action_items"], json!({"open": 2, "done": 1}));
    let tis = &r["time_in_status"];
    assert_eq!(tis["detected"], 240 + 600 + 120 + 300);
    assert_eq!(tis["declared"], 360 + 1200 + 1800 + 1800);
    assert_eq!(tis["mitigating"], 1200 + 3600);
    assert!(tis.get("closed").is_none() && tis.get("cancelled").is_none());
}

async fn report_figures_match_hand_computed_values(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config = test_config(&db);
    // The incident manager and the security lead run these incidents: admins.
    config.roles.insert(
        "admin".into(),
        warroom::config::Grants(vec!["ic".into(), "sec".into()]),
    );
    let rig = Rig::new(&db, &config, t(1, 0, 0)).await;
    seed(&rig).await;

    // Asked on Nov 6 at noon: statuses still current count up to then.
    let report = rig
        .at(t(6, 12, 0))
        .report(t(1, 0, 0), t(30, 0, 0) + chrono::Duration::days(1))
        .await
        .unwrap();
    let r = serde_json::to_value(&report).unwrap();
    check_figures(&r);
    let tis = &r["time_in_status"];
    assert_eq!(tis["triaging"], 600 + 99_000);
    assert_eq!(tis["resolved"], 3600 + 264_600 + 170_880);
    rig.store.close().await;

    // The same through the API and the page of the running app.
    let app = TestApp::start(db, config).await;
    let (s, r) = app
        .get_json("/api/v1/reports?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["from"], "2026-11-01T00:00:00Z");
    assert_eq!(r["to"], "2026-12-01T00:00:00Z");
    check_figures(&r);
    let (s, r) = app
        .get_json("/api/v1/reports?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z")
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["incidents"], 1);
    assert_eq!(r["action_items"], json!({"open": 1}));
    let (s, e) = app.get_json("/api/v1/reports?from=yesterday").await;
    assert_eq!(s, 400);
    assert_eq!(
        e["error"]["message"],
        "from: `yesterday` is not a date (YYYY-MM-DD) or an RFC 3339 time"
    );
    let (s, e) = app
        .get_json("/api/v1/reports?from=2026-11-05&to=2026-11-01")
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["message"], "from: must be before `to`");
    let html = app.get_text("/reports?from=2026-11-01&to=2026-11-30").await;
    assert!(
        html.contains("5 incidents from 2026-11-01 to 2026-11-30"),
        "{html}"
    );
    assert!(
        html.contains(r#"<strong id="mtta-median">3m</strong>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<strong id="mttr-median">40m</strong>"#),
        "{html}"
    );
    assert!(html.contains("open: 2 · done: 1"), "{html}");
}
both_backends!(report_figures, report_figures_match_hand_computed_values);
