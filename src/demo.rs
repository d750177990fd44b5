//! `warroom demo`: a scripted end-to-end run of the real service on a throw-away SQLite database — a
//! deploy, an alert storm, the incident it opens, the suspect change, the war room at work, the
//! resolution and the postmortem, all over HTTP as the outside world would do it.

mod client;
mod signals;

use crate::app::App;
use crate::config::Config;
use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use client::{Api, Person, wait_for};
use serde_json::Value;
use std::path::Path;

/// The catalog the demo runs with: `web` needs `checkout`, which needs `db`.
const CATALOG: &str = r#"[[service]]
name = "web"
owner = "storefront"
oncall = "storefront-primary"
depends_on = ["checkout"]
runbook = "https://runbooks.example.com/web"
tier = 1

[[service]]
name = "checkout"
owner = "payments"
oncall = "payments-primary"
depends_on = ["db"]
runbook = "https://runbooks.example.com/checkout"
tier = 1
slo = 99.9

[[service]]
name = "db"
owner = "data-platform"
oncall = "dba-primary"
runbook = "https://runbooks.example.com/db"
tier = 1
"#;

/// Runs the demo; `keep` leaves the temporary directory (database, catalog) in place and names it.
pub async fn run(keep: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "warroom-demo-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = run_in(&dir).await;
    if keep {
        println!(
            "\nThe demo's database and catalog are kept in {}",
            dir.display()
        );
    } else {
        if result.is_err() {
            eprintln!("(run `warroom demo --keep` to keep the database for a look)");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// The demo's configuration: built from defaults only, so no file and no `WARROOM_*` variable applies.
fn config(dir: &Path) -> anyhow::Result<Config> {
    let catalog = dir.join("services.toml");
    std::fs::write(&catalog, CATALOG).context("cannot write the catalog")?;
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.database.url = format!("sqlite://{}", dir.join("warroom.db").display());
    config.catalog.path = catalog.display().to_string();
    config.alerts.group_wait = "0s".into();
    config.alerts.group_interval = "0s".into();
    config.alerts.tick_ms = 100;
    config.changes.jobs_tick_ms = 200;
    config.outbox.poll_interval_ms = 100;
    Ok(config)
}

async fn run_in(dir: &Path) -> anyhow::Result<()> {
    let app = App::start(config(dir)?)
        .await
        .context("cannot start warroom")?;
    heading("warroom demo");
    println!(
        "A throw-away warroom on SQLite in {}, listening on http://{}.",
        dir.display(),
        app.addr
    );
    println!("Catalog: web → checkout → db (web depends on checkout, checkout on db).");
    let api = Api::new(format!("http://{}", app.addr))?;
    let result = script(&api).await;
    let stopped = app.stop().await.context("cannot stop warroom");
    result.and(stopped)?;
    println!("\nwarroom stopped; demo complete.");
    Ok(())
}

fn heading(title: &str) {
    println!("\n== {title} ==");
}

fn ago(now: DateTime<Utc>, minutes: i64) -> String {
    (now - TimeDelta::minutes(minutes)).to_rfc3339()
}

async fn script(api: &Api) -> anyhow::Result<()> {
    let now = Utc::now();
    signals::record_changes(api, now).await?;
    signals::storm(api, now).await?;
    let id = incident_opened(api).await?;
    let culprit = suspects(api, id).await?;
    war_room(api, id, culprit).await?;
    resolve(api, id, now).await?;
    heading("The war room's timeline (last 15 events)");
    let events = api.timeline(id).await?;
    for e in events.iter().skip(events.len().saturating_sub(15)) {
        println!("  {}", event_line(e));
    }
    println!("  ({} events in all)", events.len());
    heading(&format!(
        "The postmortem draft (GET /api/v1/incidents/{id}/postmortem?format=md)"
    ));
    let md = api
        .get_text(&format!("/api/v1/incidents/{id}/postmortem?format=md"))
        .await?;
    println!("{}", md.trim_end());
    Ok(())
}

async fn incident_opened(api: &Api) -> anyhow::Result<i64> {
    let incident = wait_for("the alerts to open an incident", || async {
        let list = api.get("/api/v1/incidents").await?;
        Ok(list["incidents"].as_array().and_then(|l| l.last()).cloned())
    })
    .await?;
    let id = incident["id"].as_i64().context("the incident has no id")?;
    heading(&format!("Incident #{id} opened"));
    println!(
        "  #{id} [{}] {} — service {}, status {}",
        str_of(&incident, "severity"),
        str_of(&incident, "title"),
        str_of(&incident, "service"),
        str_of(&incident, "status")
    );
    let events = api.timeline(id).await?;
    if let Some(d) = events
        .iter()
        .find(|e| e["kind"] == "declared")
        .map(|e| &e["data"])
    {
        let dependents: Vec<&str> = d["dependents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "  owner {}, on-call {}, runbook {}, impacted dependents: {}",
            str_of(d, "owner"),
            str_of(d, "oncall"),
            str_of(d, "runbook"),
            dependents.join(", ")
        );
    }
    let alerts = wait_for("every alert to be dispatched", || async {
        let list = api.get("/api/v1/alerts?limit=1000").await?;
        let mut alerts = list["alerts"].as_array().cloned().unwrap_or_default();
        alerts.sort_by_key(|a| (a["service"].to_string(), a["labels"].to_string()));
        let done =
            alerts.len() == signals::ALERTS.len() && alerts.iter().all(|a| a["pending"] == false);
        Ok(done.then_some(alerts))
    })
    .await?;
    let reports: i64 = alerts
        .iter()
        .map(|a| a["reports"].as_i64().unwrap_or(0))
        .sum();
    let inhibited = alerts
        .iter()
        .filter(|a| !a["inhibited_by"].is_null())
        .count();
    let joined = alerts.iter().filter(|a| a["incident_id"] == id).count();
    let incidents = api.get("/api/v1/incidents").await?["incidents"]
        .as_array()
        .map_or(0, Vec::len);
    println!(
        "  de-duplication: {reports} reports → {} distinct alerts (GET /api/v1/alerts) → {incidents} incident(s)",
        alerts.len()
    );
    println!(
        "  {joined} alerts feed incident #{id}; {inhibited} inhibited (web depends on checkout, which is firing)"
    );
    for a in &alerts {
        println!(
            "    {:<16} {:<9} {:<11} {} reports, grade {}{}",
            a["labels"]["alertname"].as_str().unwrap_or("?"),
            str_of(a, "service"),
            a["labels"]["instance"].as_str().unwrap_or("?"),
            a["reports"],
            str_of(a, "grade"),
            if a["inhibited_by"].is_null() {
                ""
            } else {
                ", inhibited"
            }
        );
    }
    Ok(id)
}

/// Prints the suspects; the change id of the most likely one.
async fn suspects(api: &Api, id: i64) -> anyhow::Result<i64> {
    let linked = wait_for("the suspect changes (change_linked events)", || async {
        let events = api.timeline(id).await?;
        let linked: Vec<Value> = events
            .into_iter()
            .filter(|e| e["kind"] == "change_linked")
            .collect();
        Ok((!linked.is_empty()).then_some(linked))
    })
    .await?;
    heading("Suspect changes (change_linked events on the timeline)");
    for e in &linked {
        let d = &e["data"];
        println!(
            "  {}. chg-{} — {} {} \"{}\"{} by {} (score {:.2})",
            d["rank"],
            d["change_id"],
            str_of(d, "kind"),
            str_of(d, "service"),
            str_of(d, "summary"),
            d["version"]
                .as_str()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default(),
            str_of(d, "author"),
            d["score"].as_f64().unwrap_or_default()
        );
        for evidence in d["evidence"].as_array().into_iter().flatten() {
            println!("       evidence: {}", evidence.as_str().unwrap_or_default());
        }
    }
    linked
        .iter()
        .min_by_key(|e| e["data"]["rank"].as_i64().unwrap_or(i64::MAX))
        .and_then(|e| e["data"]["change_id"].as_i64())
        .context("a change_linked event without a change_id")
}

async fn war_room(api: &Api, id: i64, culprit: i64) -> anyhow::Result<()> {
    heading(&format!("The war room (POST /incidents/{id}/messages)"));
    let alice = Person::join(api, "alice", id).await?;
    let bob = Person::join(api, "bob", id).await?;
    let script: [(&Person, String); 8] = [
        (&alice, "/inc role commander @me".into()),
        (
            &bob,
            "checkout 5xx started right after the v2.3.1 deploy".into(),
        ),
        (
            &alice,
            "/inc update Checkout 5xx since the v2.3.1 deploy; rolling back".into(),
        ),
        (&alice, "/inc changes".into()),
        (&alice, format!("/inc changes confirm chg-{culprit}")),
        (&alice, "/inc mitigate".into()),
        (&bob, "rolled back to v2.3.0, error rate falling".into()),
        (
            &alice,
            "/inc action Add a canary stage to the checkout pipeline @bob".into(),
        ),
    ];
    for (who, text) in &script {
        type_line(who, text).await?;
    }
    Ok(())
}

/// `who` types `text` into the room; prints it with the reply, and fails if a command did not succeed.
async fn type_line(who: &Person, text: &str) -> anyhow::Result<()> {
    let answer = who.say(text).await?;
    println!("  {:>5}> {text}", who.name);
    if answer["ok"] != true {
        bail!("`{text}` failed: {}", answer["reply"]["text"]);
    }
    for line in answer["reply"]["text"].as_str().unwrap_or_default().lines() {
        println!("         | {line}");
    }
    Ok(())
}

async fn resolve(api: &Api, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    heading("Resolution");
    let answer = signals::resolve_all(api, now).await?;
    println!(
        "  monitoring sends the {} alerts as resolved: {} changed",
        answer["received"], answer["changed"]
    );
    wait_for("the alerts_resolved event", || async {
        let events = api.timeline(id).await?;
        Ok(events.into_iter().find(|e| e["kind"] == "alerts_resolved"))
    })
    .await?;
    println!("  timeline: all alerts of #{id} resolved");
    let alice = Person::join(api, "alice", id).await?;
    type_line(&alice, "/inc resolve").await?;
    let incident = wait_for("the incident to be resolved", || async {
        let i = api.get(&format!("/api/v1/incidents/{id}")).await?;
        Ok((i["status"] == "resolved").then_some(i))
    })
    .await?;
    println!(
        "  incident #{id} status: {} (MTTA {} s, MTTR {} s, {} action item(s))",
        str_of(&incident, "status"),
        incident["mtta_seconds"],
        incident["mttr_seconds"],
        incident["action_items"].as_array().map_or(0, Vec::len)
    );
    wait_for("the postmortem event", || async {
        let events = api.timeline(id).await?;
        Ok(events.into_iter().find(|e| e["kind"] == "postmortem"))
    })
    .await?;
    println!("  postmortem draft built on resolve");
    Ok(())
}

/// `HH:MM:SS kind actor: text` for one timeline event.
fn event_line(e: &Value) -> String {
    let at = e["at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default();
    let text = e["text"].as_str().unwrap_or_default();
    let first = text.lines().next().unwrap_or_default();
    let mut short: String = first.chars().take(90).collect();
    if short.len() < first.len() || text.lines().count() > 1 {
        short.push('…');
    }
    format!(
        "{at} {:<16} {:<8} {short}",
        str_of(e, "kind"),
        str_of(e, "actor")
    )
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("—")
}
