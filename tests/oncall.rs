//! On-call through the real app, on both backends: who is on call, overrides from the API and chat,
//! and calendars read back by the icalendar crate and by Python's `icalendar` package.

mod common;

use common::{Backend, TestApp, split, web_ctx};
use serde_json::{Value, json};

/// A catalog with two schedules: a weekly Berlin rotation with a business-hours layer, and a team rota.
const CATALOG: &str = r#"
[[service]]
name = "checkout"
owner = "payments"
oncall = "payments-primary"
escalation = "payments"

[[person]]
id = "alice"
name = "Alice Ng"
email = "alice@example.com"
slack = "U0ALICE"

[[person]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"

[[person]]
id = "carol"
name = "Carol Diaz"
email = "carol@example.com"

[[person]]
id = "dave"

[[team]]
id = "payments"
members = ["alice", "bob"]

[[team]]
id = "dba"
members = ["dave"]

[[schedule]]
name = "payments-primary"
timezone = "Europe/Berlin"
[[schedule.layer]]
people = ["alice", "bob"]
shift = "1w"
start = "2026-01-05T09:00"
[[schedule.layer]]
people = ["carol"]
shift = "1d"
start = "2026-01-05T00:00"
restrict = ["mon-fri 09:00-18:00"]

[[schedule]]
name = "dba"
timezone = "America/New_York"
[[schedule.layer]]
teams = ["dba", "payments"]
shift = "1d"
start = "2026-01-01T09:00"

[[escalation]]
name = "payments"
repeat = 1
[[escalation.level]]
targets = ["schedule:payments-primary"]
wait = "5m"
"#;

async fn spawn(
    backend: Backend,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut warroom::config::Config),
) -> TestApp {
    let path = dir.join("services.toml");
    std::fs::write(&path, CATALOG).unwrap();
    let path = path.to_str().unwrap().to_string();
    TestApp::spawn_with(backend, move |c| {
        c.catalog.path = path;
        tweak(c);
    })
    .await
}

fn schedule<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

async fn who_is_on_call(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, dir.path(), |_| {}).await;
    // Tuesday 1 December 2026 is in week 47 since 5 January: bob; 10:00 Berlin is carol's window.
    let (status, body) = app.get_json("/api/v1/oncall?at=2026-12-01T09:00:00Z").await;
    assert_eq!(status, 200, "{body}");
    let p = schedule(&body, "payments-primary");
    assert_eq!(p["on_call"], json!(["carol"]));
    assert_eq!(
        p["next"][0],
        json!({"at": "2026-12-01T17:00:00Z", "person": "bob", "people": ["bob"]})
    );
    assert_eq!(p["calendar"], "/oncall/payments-primary.ics");
    let (_, body) = app.get_json("/api/v1/oncall?at=2026-12-01T20:00:00Z").await;
    assert_eq!(
        schedule(&body, "payments-primary")["on_call"],
        json!(["bob"])
    );
    // A team's turn puts all its members on call.
    let (_, body) = app.get_json("/api/v1/oncall?at=2026-12-02T15:00:00Z").await;
    let members = &schedule(&body, "dba")["on_call"];
    assert!(
        members == &json!(["alice", "bob"]) || members == &json!(["dave"]),
        "{body}"
    );
    let (status, one) = app
        .get_json("/api/v1/oncall/payments-primary?at=2026-12-01T20:00:00Z&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{one}");
    let people: Vec<&str> = one["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["people"][0].as_str().unwrap())
        .collect();
    assert_eq!(people, ["bob", "carol", "bob"]);
    // Refusals name what is wrong.
    let (status, err) = app.get_json("/api/v1/oncall?at=yesterday").await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    assert!(
        err["error"]["message"].as_str().unwrap().starts_with("at:"),
        "{err}"
    );
    let (status, _) = app.get_json("/api/v1/oncall/nope").await;
    assert_eq!(status, 404);
    // In chat: who is on now, privately.
    let reply = app
        .command("/oncall payments-primary", &web_ctx(None, "alice"))
        .await;
    assert!(
        reply.ok && reply.text.contains("payments-primary") && reply.text.contains("Next:"),
        "{}",
        reply.text
    );
    let reply = app.command("/oncall", &web_ctx(None, "alice")).await;
    assert!(
        reply.text.contains("payments-primary") && reply.text.contains("dba"),
        "{}",
        reply.text
    );
    let reply = app.command("/oncall nope", &web_ctx(None, "alice")).await;
    assert!(
        !reply.ok && reply.text.contains("known: dba, payments-primary"),
        "{}",
        reply.text
    );
}
both_backends!(who_is_on_call_now_and_next, who_is_on_call);

async fn overrides_through_the_api(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, dir.path(), |_| {}).await;
    let path = "/api/v1/oncall/payments-primary/overrides";
    let (status, o) = app
        .post_json(path, json!({"person": "dave", "from": "2030-01-08T19:00:00Z", "until": "2030-01-08T23:00:00Z", "reason": "swap"}))
        .await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(
        (o["person"].as_str(), o["created_by"].as_str()),
        (Some("dave"), Some("api"))
    );
    let (_, body) = app.get_json("/api/v1/oncall?at=2030-01-08T20:00:00Z").await;
    let p = schedule(&body, "payments-primary");
    assert_eq!(p["on_call"], json!(["dave"]));
    assert_eq!(p["source"], json!({"kind": "override", "id": o["id"]}));
    assert_eq!(p["next"][0]["at"], "2030-01-08T23:00:00Z");
    // Bad input answers 400/422 naming the field, and writes nothing.
    for (body, code, field) in [
        (
            json!({"person": "mallory", "duration": "1h"}),
            422,
            "person:",
        ),
        (
            json!({"person": "dave", "duration": "soon"}),
            400,
            "duration:",
        ),
        (
            json!({"person": "dave", "duration": "1h", "until": "2030-01-01T00:00:00Z"}),
            422,
            "until:",
        ),
        (json!({"person": "dave"}), 422, "until:"),
        (
            json!({"person": "dave", "until": "2001-01-01T00:00:00Z"}),
            422,
            "until:",
        ),
        (
            json!({"person": "dave", "from": "later", "duration": "1h"}),
            400,
            "from:",
        ),
        (
            json!({"person": "dave", "duration": "400d"}),
            422,
            "duration:",
        ),
        (
            json!({"person": "dave", "duration": "1h", "who": "x"}),
            400,
            "invalid request body",
        ),
    ] {
        let (status, err) = app.post_json(path, body.clone()).await;
        assert_eq!(status, code, "{body} → {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{body} → {message}");
    }
    let (status, _) = app
        .post_json(
            "/api/v1/oncall/nope/overrides",
            json!({"person": "dave", "duration": "1h"}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get_json(path).await;
    assert_eq!(list["overrides"].as_array().unwrap().len(), 1, "{list}");
    // Overrides live in the database: a restart keeps them.
    let app = app.restart().await;
    let (_, body) = app.get_json("/api/v1/oncall?at=2030-01-08T20:00:00Z").await;
    assert_eq!(
        schedule(&body, "payments-primary")["on_call"],
        json!(["dave"])
    );
    let url = app.url(&format!("{path}/{}", o["id"]));
    let (status, removed) = split(app.client.delete(&url).send().await.unwrap()).await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["removed_by"], "api");
    let (status, _) = split(app.client.delete(&url).send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (status, _) = split(
        app.client
            .delete(app.url(&format!("{path}/x")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let (_, body) = app.get_json("/api/v1/oncall?at=2030-01-08T20:00:00Z").await;
    assert_eq!(
        schedule(&body, "payments-primary")["on_call"],
        json!(["bob"])
    );
}
both_backends!(
    overrides_are_stored_listed_and_removed,
    overrides_through_the_api
);

async fn overrides_from_chat(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, dir.path(), |_| {}).await;
    // Two schedules; carol belongs to payments-primary only, so that is the one meant.
    let reply = app
        .command("/oncall override @carol 4h", &web_ctx(None, "alice"))
        .await;
    assert!(reply.ok, "{}", reply.text);
    assert!(
        reply
            .text
            .contains("Carol Diaz is on call for *payments-primary*"),
        "{}",
        reply.text
    );
    let (_, body) = app.get_json("/api/v1/oncall").await;
    let p = schedule(&body, "payments-primary");
    assert_eq!(p["on_call"], json!(["carol"]));
    assert_eq!(p["source"]["kind"], "override");
    let (_, list) = app
        .get_json("/api/v1/oncall/payments-primary/overrides")
        .await;
    assert_eq!(list["overrides"][0]["created_by"], "alice");
    // A Slack mention maps to the person (alice is on both schedules, and zed on call for neither, so
    // chat cannot tell which is meant); somebody unknown, and guests, are refused.
    let reply = app
        .command("/oncall override <@U0ALICE> 1h", &web_ctx(None, "zed"))
        .await;
    assert!(
        !reply.ok && reply.text.contains("several schedules"),
        "{}",
        reply.text
    );
    let reply = app
        .command("/oncall override @mallory 1h", &web_ctx(None, "alice"))
        .await;
    assert!(
        !reply.ok && reply.text.contains("`mallory` is not a person"),
        "{}",
        reply.text
    );
    let guest = warroom::engine::CommandContext {
        actor: warroom::domain::Actor::guest("slack", "U0GUEST", Some("Eve")),
        incident_id: None,
    };
    let reply = app.command("/oncall override @carol 1h", &guest).await;
    assert!(
        !reply.ok && reply.text.contains("may not change on-call"),
        "{}",
        reply.text
    );
    let (_, list) = app
        .get_json("/api/v1/oncall/payments-primary/overrides")
        .await;
    assert_eq!(list["overrides"].as_array().unwrap().len(), 1);
    // In a war room the incident's service decides the schedule, and the room sees the override.
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"title": "checkout down", "severity": "P2", "service": "checkout"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    let id = inc["id"].as_i64().unwrap();
    let reply = app.command("/oncall", &web_ctx(Some(id), "alice")).await;
    assert!(
        reply.ok && reply.text.contains("payments-primary") && !reply.text.contains("dba"),
        "{}",
        reply.text
    );
    let reply = app
        .command("/oncall override @dave 30m", &web_ctx(Some(id), "alice"))
        .await;
    assert!(reply.ok, "{}", reply.text);
    assert_eq!(reply.visibility, warroom::engine::Visibility::InChannel);
    assert!(reply.text.contains("*payments-primary*"), "{}", reply.text);
    let commands = app.events_of(id, "command").await;
    assert!(
        commands
            .iter()
            .any(|e| e["text"] == "/oncall override @dave 30m" && e["data"]["ok"] == true),
        "{commands:?}"
    );
    let (_, body) = app.get_json("/api/v1/oncall").await;
    assert_eq!(
        schedule(&body, "payments-primary")["on_call"],
        json!(["dave"])
    );
}
both_backends!(overrides_from_chat_use_the_actor, overrides_from_chat);

/// The events of a calendar as (start, end, summary, uid), read by Python's `icalendar` package.
fn python_events(ics: &str) -> Vec<(String, String, String, String)> {
    use std::io::Write;
    let script = "import sys, json, icalendar\n\
        cal = icalendar.Calendar.from_ical(sys.stdin.read())\n\
        out = [[e.decoded('DTSTART').isoformat(), e.decoded('DTEND').isoformat(), str(e['SUMMARY']), str(e['UID'])]\n\
               for e in cal.walk('VEVENT')]\n\
        print(json.dumps(out))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 icalendar (pip install icalendar) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn calendars(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, dir.path(), |_| {}).await;
    let from = chrono::Utc::now() + chrono::Duration::days(3);
    let from = from.format("%Y-%m-%dT%H:00:00Z").to_string();
    let (status, o) = app
        .post_json(
            "/api/v1/oncall/payments-primary/overrides",
            json!({"person": "dave", "from": from, "duration": "4h"}),
        )
        .await;
    assert_eq!(status, 201, "{o}");
    let resp = app
        .client
        .get(app.url("/oncall/payments-primary.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ics = resp.text().await.unwrap();
    // Read back by the same crate …
    let cal: icalendar::Calendar = ics.parse().unwrap();
    use icalendar::Component;
    let events: Vec<&icalendar::Event> = cal.events().collect();
    assert!(events.len() > 100, "120 days of shifts: {}", events.len());
    let uids: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e.get_uid()).collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique");
    let start = chrono::DateTime::parse_from_rfc3339(&from)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let dave: Vec<&&icalendar::Event> = events
        .iter()
        .filter(|e| e.get_summary().is_some_and(|s| s.contains("dave")))
        .collect();
    assert_eq!(dave.len(), 1, "one override shift");
    assert_eq!(
        dave[0].get_start(),
        Some(icalendar::DatePerhapsTime::DateTime(
            icalendar::CalendarDateTime::Utc(start)
        ))
    );
    // … and by a second reader.
    let py = python_events(&ics);
    assert_eq!(py.len(), events.len());
    let d: Vec<_> = py.iter().filter(|e| e.2.contains("dave")).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&d[0].0).unwrap(),
        start
    );
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&d[0].1).unwrap(),
        start + chrono::Duration::hours(4)
    );
    assert_eq!(d[0].3, dave[0].get_uid().unwrap());
    // The same calendar twice has the same UIDs (calendar apps update instead of duplicating).
    let again = app.get_text("/oncall/payments-primary.ics").await;
    let again: icalendar::Calendar = again.parse().unwrap();
    let again: std::collections::BTreeSet<&str> =
        again.events().filter_map(|e| e.get_uid()).collect();
    assert_eq!(again, uids);
    // A person's calendar holds only their shifts, across schedules.
    let mine = app.get_text("/oncall/people/dave.ics").await;
    let py = python_events(&mine);
    assert!(
        !py.is_empty() && py.iter().all(|e| e.2.contains("dave")),
        "{mine}"
    );
    assert!(
        py.iter().any(|e| e.2.contains("(dba)"))
            && py.iter().any(|e| e.2.contains("(payments-primary)"))
    );
    for (path, code) in [
        ("/oncall/nope.ics", 404),
        ("/oncall/people/nobody.ics", 404),
        ("/oncall/payments-primary", 404),
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), code, "{path}");
    }
}
both_backends!(calendars_export_every_shift_with_overrides, calendars);

async fn calendar_keys(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(backend, dir.path(), |c| {
        c.api.tokens = vec!["tok".into()];
        c.oncall.calendar_secret = Some("calendar-secret".into());
    })
    .await;
    let get = |path: &str, bearer: bool| {
        let req = app.client.get(app.url(path));
        let req = if bearer { req.bearer_auth("tok") } else { req };
        async move { req.send().await.unwrap() }
    };
    let (status, body) = split(get("/api/v1/oncall/people/alice", true).await).await;
    assert_eq!(status, 200, "{body}");
    let url = body["calendar"].as_str().unwrap().to_string();
    assert!(url.starts_with("/oncall/people/alice.ics?key="), "{url}");
    assert_eq!(get(&url, false).await.status(), 200);
    assert_eq!(get("/oncall/people/alice.ics", false).await.status(), 401);
    assert_eq!(get("/oncall/people/alice.ics", true).await.status(), 200);
    let (_, all) = split(get("/api/v1/oncall", true).await).await;
    let schedule_url = schedule(&all, "dba")["calendar"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&schedule_url, false).await.status(), 200);
    // One calendar's key opens no other.
    let other = url.replace("/people/alice.ics", "/people/bob.ics");
    assert_eq!(get(&other, false).await.status(), 401);
    assert_eq!(get("/api/v1/oncall", false).await.status(), 401);
}
both_backends!(calendar_keys_open_one_calendar_each, calendar_keys);
