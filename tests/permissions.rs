//! Permissions: every guarded action allowed and refused through the API, chat commands and Slack,
//! each refusal on the incident's timeline or in `GET /api/v1/audit`; unfreeze; the approved-status holes.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use slack_server::FakeSlack;
use warroom::config::Grants;
use warroom::domain::Actor;
use warroom::engine::CommandContext;

/// The harness's `api` caller is an admin; erin approves; alice and bob are plain responders.
fn grants(c: &mut warroom::config::Config) {
    c.roles
        .insert("approver".into(), Grants(vec!["erin".into()]));
}

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, grants).await
}

async fn patch_as(app: &TestApp, id: i64, user: &str, body: Value) -> (u16, Value) {
    app.json_as(
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        user,
        Some(body),
    )
    .await
}

async fn incident_as(app: &TestApp, user: &str, severity: &str) -> (u16, Value) {
    app.post_as(
        "/api/v1/incidents",
        user,
        json!({"title": "Checkout errors", "severity": severity, "service": "checkout"}),
    )
    .await
}

async fn refusals(app: &TestApp, id: i64) -> Vec<(String, String, String)> {
    app.events_of(id, "refused")
        .await
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["data"]["action"].as_str().unwrap_or_default().to_string(),
                e["data"]["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, b) = app.get_json(&format!("/api/v1/audit?{query}")).await;
    assert_eq!(s, 200, "{b}");
    b["entries"].as_array().unwrap().clone()
}

fn forbidden(s: u16, b: &Value, reason: &str) {
    assert_eq!(s, 403, "{b}");
    assert_eq!(b["error"]["code"], "forbidden", "{b}");
    assert_eq!(b["error"]["message"], reason, "{b}");
}

async fn incidents_through_the_api(backend: Backend) {
    let app = spawn(backend).await;

    // declare_major: only an admin (or a configured commander); the refusal has no incident → audit log.
    let (s, b) = incident_as(&app, "alice", "P1").await;
    forbidden(
        s,
        &b,
        "declaring a P0/P1 incident needs the commander or an admin; alice is a responder",
    );
    let (s, b) = incident_as(&app, "api", "P1").await;
    assert_eq!(s, 201, "{b}");
    let major = b["id"].as_i64().unwrap();
    let refused = audit(&app, "actor=alice&allowed=false").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["action"], "declare_major");
    assert_eq!(refused[0]["platform"], "api");
    assert_eq!(refused[0]["incident_id"], Value::Null);
    let allowed = audit(&app, "actor=api&allowed=true").await;
    assert_eq!(allowed[0]["action"], "declare_major");
    assert_eq!(allowed[0]["incident_id"], major);

    // Ordinary things need no role: a P2 declare, resolving, a note, a P2 → P3 severity.
    let (s, b) = incident_as(&app, "alice", "P2").await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_i64().unwrap();
    let (s, b) = patch_as(&app, id, "alice", json!({"severity": "P3"})).await;
    assert_eq!(s, 200, "{b}");

    // set_severity to or from P0/P1.
    let (s, b) = patch_as(&app, id, "alice", json!({"severity": "P1"})).await;
    forbidden(
        s,
        &b,
        "changing the severity to or from P0/P1 needs the commander or an admin; alice is a responder",
    );
    let (s, b) = patch_as(&app, id, "alice", json!({"status": "resolved"})).await;
    assert_eq!(s, 200, "{b}");

    // close: refused for a responder, on the timeline; allowed for the incident's commander.
    let (s, b) = patch_as(&app, id, "alice", json!({"status": "closed"})).await;
    forbidden(
        s,
        &b,
        "closing an incident needs the commander or an admin; alice is a responder",
    );
    let (s, b) = patch_as(&app, id, "bob", json!({"roles": {"commander": "bob"}})).await;
    assert_eq!(s, 200, "{b}");
    // reassign_commander: taking the role from its holder.
    let (s, b) = patch_as(&app, id, "alice", json!({"roles": {"commander": "alice"}})).await;
    forbidden(
        s,
        &b,
        "taking over the commander role needs the commander (bob) or an admin; alice is a responder",
    );
    // reopen: the commander may, alice may not.
    let (s, b) = patch_as(&app, id, "alice", json!({"status": "mitigating"})).await;
    forbidden(
        s,
        &b,
        "re-opening an incident needs the commander (bob) or an admin; alice is a responder",
    );
    let (s, b) = patch_as(&app, id, "bob", json!({"status": "mitigating"})).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("mitigating")), "{b}");
    // cancel: refused for alice, allowed for bob.
    let (s, b) = patch_as(&app, id, "alice", json!({"status": "cancelled"})).await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = patch_as(&app, id, "bob", json!({"status": "cancelled"})).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    let (s, b) = patch_as(&app, major, "api", json!({"status": "resolved"})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = patch_as(&app, major, "alice", json!({"status": "closed"})).await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = patch_as(&app, major, "api", json!({"status": "closed"})).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("closed")), "{b}");

    let seen = refusals(&app, id).await;
    let actions: Vec<&str> = seen.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "set_severity",
            "close",
            "reassign_commander",
            "reopen",
            "cancel"
        ]
    );
    assert!(
        seen.iter().all(|(actor, _, _)| actor == "alice"),
        "{seen:?}"
    );
    // Every refusal is in the audit log too, and the allowed guarded ones beside them.
    let all = audit(&app, "limit=500").await;
    let line = |e: &Value| {
        format!(
            "{} {} {} {}",
            e["actor"].as_str().unwrap(),
            e["action"].as_str().unwrap(),
            e["allowed"],
            e["incident_id"]
        )
    };
    let lines: Vec<String> = all.iter().map(line).collect();
    for expected in [
        format!("alice close false {id}"),
        format!("bob reopen true {id}"),
        format!("bob cancel true {id}"),
        format!("api close true {major}"),
        format!("alice close false {major}"),
    ] {
        assert!(lines.contains(&expected), "{expected} in {lines:#?}");
    }
    // Paging: `after` and `limit`, `next` is the cursor.
    let (_, page) = app.get_json("/api/v1/audit?limit=2").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = app
        .get_json(&format!("/api/v1/audit?after={next}&limit=500"))
        .await;
    assert_eq!(rest["entries"].as_array().unwrap().len(), all.len() - 2);
    let (s, b) = app.get_json("/api/v1/audit?limit=0").await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = app.get_json("/api/v1/audit?allowed=maybe").await;
    assert_eq!(s, 400, "{b}");
}
both_backends!(api_incidents, incidents_through_the_api);

async fn changes_through_the_api(backend: Backend) {
    let app = spawn(backend).await;
    let (s, c) = app
        .post_as(
            "/api/v1/changes",
            "alice",
            json!({"service": "db", "summary": "Add index", "status": "planned"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let n = c["id"].as_i64().unwrap();
    let approve_refused = "approving a change needs an approver; alice is a responder".to_string();
    // approve_change: the approve endpoint, and PATCH to approved, both ask the approvers.
    let (s, b) = app
        .post_as(&format!("/api/v1/changes/{n}/approve"), "alice", json!({}))
        .await;
    forbidden(s, &b, &approve_refused);
    let (s, b) = app
        .json_as(
            Method::PATCH,
            &format!("/api/v1/changes/{n}"),
            "alice",
            Some(json!({"status": "approved"})),
        )
        .await;
    forbidden(s, &b, &approve_refused);
    let (s, b) = app
        .json_as(
            Method::PATCH,
            &format!("/api/v1/changes/{n}"),
            "erin",
            Some(json!({"status": "approved"})),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("approved")), "{b}");
    // Recording a change as approved is approving it: by the caller through the API …
    let approved = json!({"service": "db", "summary": "Drop column", "status": "approved"});
    let (s, b) = app
        .post_as("/api/v1/changes", "alice", approved.clone())
        .await;
    forbidden(s, &b, &approve_refused);
    let (s, b) = app
        .post_as("/api/v1/changes", "erin", approved.clone())
        .await;
    assert_eq!((s, b["status"].as_str()), (201, Some("approved")), "{b}");
    // … and by the ingest source (a service account, not the `author` it names) through a hook.
    let mut hooked = approved.clone();
    hooked["author"] = json!("erin");
    let (s, b) = app.post_json("/hooks/changes", hooked).await;
    forbidden(
        s,
        &b,
        "approving a change needs an approver; native is a responder",
    );
    let refused = audit(&app, "allowed=false").await;
    let who: Vec<(&str, &str)> = refused
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        who,
        [
            ("alice", "approve_change"),
            ("alice", "approve_change"),
            ("alice", "approve_change"),
            ("native", "approve_change")
        ]
    );
    assert_eq!(refused[0]["subject"], format!("chg-{n}"));

    // override_gate: the caller overrides; a responder is refused and audited.
    let (s, b) = app
        .post_as(
            "/api/v1/changes/freezes",
            "alice",
            json!({"scope": "checkout", "duration": "2h", "reason": "soak"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = app
        .post_as(
            "/api/v1/changes/gate",
            "alice",
            json!({"service": "checkout", "override": {"reason": "hotfix"}}),
        )
        .await;
    assert_eq!((s, &b["allowed"]), (200, &json!(false)), "{b}");
    let (s, b) = app
        .post_as(
            "/api/v1/changes/gate",
            "api",
            json!({"service": "checkout", "override": {"reason": "hotfix"}}),
        )
        .await;
    assert_eq!((s, b["overridden_by"].as_str()), (200, Some("api")), "{b}");
    let o = audit(&app, "actor=alice&allowed=false").await;
    assert_eq!(o.last().unwrap()["action"], "override_gate");
    assert_eq!(o.last().unwrap()["subject"], "checkout");

    // freeze: anyone who responds, up to changes.max_freeze (30 days by default).
    let (s, b) = app
        .post_as(
            "/api/v1/changes/freezes",
            "alice",
            json!({"scope": "all", "duration": "31d", "reason": "forever"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("duration: must be between 1s and 30days (changes.max_freeze)"),
        "{b}"
    );
    for (scope, reason) in [
        ("all", "black friday"),
        ("search", "reindex"),
        ("checkout", "again"),
    ] {
        let (s, b) = app
            .post_as(
                "/api/v1/changes/freezes",
                "bob",
                json!({"scope": scope, "duration": "1d", "reason": reason}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    // unfreeze: refused for a responder; an admin lifts by id, by service and all.
    let (s, b) = app
        .json_as(Method::DELETE, "/api/v1/changes/freezes/1", "alice", None)
        .await;
    forbidden(
        s,
        &b,
        "lifting a freeze needs the commander or an admin; alice is a responder",
    );
    let (s, b) = app
        .json_as(Method::DELETE, "/api/v1/changes/freezes/1", "api", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["lifted"][0]["id"], 1);
    let (s, b) = app
        .post_as(
            "/api/v1/changes/unfreeze",
            "api",
            json!({"scope": "checkout"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let ids: Vec<i64> = b["lifted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4]);
    let (_, f) = app.get_json("/api/v1/changes/freezes").await;
    assert_eq!(f["freezes"].as_array().unwrap().len(), 2, "{f}");
    let (s, b) = app
        .post_as("/api/v1/changes/unfreeze", "api", json!({"scope": "all"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["lifted"].as_array().unwrap().len(), 2, "{b}");
    let (_, f) = app.get_json("/api/v1/changes/freezes").await;
    assert_eq!(f["freezes"], json!([]), "{f}");
    let (s, _) = app
        .post_as("/api/v1/changes/unfreeze", "api", json!({"scope": "all"}))
        .await;
    assert_eq!(s, 409);
    let open = app
        .post_as(
            "/api/v1/changes/gate",
            "alice",
            json!({"service": "checkout"}),
        )
        .await;
    assert_eq!(open.1["allowed"], true, "{}", open.1);
    let lifted = audit(&app, "actor=api&allowed=true").await;
    let unfreezes = lifted.iter().filter(|e| e["action"] == "unfreeze").count();
    assert_eq!(unfreezes, 3);
}
both_backends!(api_changes, changes_through_the_api);

fn ctx(actor: &Actor, incident: Option<i64>) -> CommandContext {
    CommandContext {
        actor: actor.clone(),
        incident_id: incident,
    }
}

async fn chat_commands_ask_the_same_policy(backend: Backend) {
    let app = spawn(backend).await;
    let alice = Actor::named("alice", "Alice Ng", "web");
    let bob = Actor::named("bob", "bob", "web");
    let erin = Actor::named("erin", "erin", "web");
    let root = Actor::named("api", "api", "web");
    let guest = Actor::guest("slack", "U0GUEST", Some("mallory"));

    let reply = app
        .command(
            "/inc declare P0 service:checkout All down",
            &ctx(&alice, None),
        )
        .await;
    assert!(!reply.ok, "{reply:?}");
    assert_eq!(
        reply.text,
        "⚠️ declaring a P0/P1 incident needs the commander or an admin; alice (Alice Ng) is a responder"
    );
    let reply = app
        .command("/inc declare P2 service:checkout Slow", &ctx(&alice, None))
        .await;
    assert!(reply.ok, "{reply:?}");
    let id = reply.incident_id.unwrap();
    let room = |a: &Actor| ctx(a, Some(id));

    // Guests work the incident but do nothing guarded, and never take the commander role.
    let reply = app.command("/inc note looking at it", &room(&guest)).await;
    assert!(reply.ok, "{reply:?}");
    let reply = app.command("/inc mitigate", &room(&guest)).await;
    assert!(reply.ok, "{reply:?}");
    let reply = app.command("/inc role commander @me", &room(&guest)).await;
    assert!(!reply.ok, "{reply:?}");
    let reply = app.command("/inc cancel", &room(&guest)).await;
    assert_eq!(
        reply.text,
        "⚠️ cancelling an incident needs the commander or an admin; slack:U0GUEST (mallory) is a guest (not in the people directory)"
    );

    for cmd in ["/inc sev P1", "/inc cancel"] {
        let reply = app.command(cmd, &room(&alice)).await;
        assert!(!reply.ok, "{cmd}: {reply:?}");
    }
    let reply = app.command("/inc resolve", &room(&alice)).await;
    assert!(reply.ok, "{reply:?}");
    let reply = app.command("/inc close", &room(&alice)).await;
    assert_eq!(
        reply.text,
        "⚠️ closing an incident needs the commander or an admin; alice (Alice Ng) is a responder"
    );
    let reply = app.command("/inc role commander @me", &room(&bob)).await;
    assert!(reply.ok, "{reply:?}");
    let reply = app.command("/inc reopen", &room(&alice)).await;
    assert!(!reply.ok, "{reply:?}");
    let reply = app.command("/inc reopen", &room(&bob)).await;
    assert!(reply.ok, "{reply:?}");
    let reply = app.command("/inc sev P1", &room(&bob)).await;
    assert!(reply.ok, "{reply:?}");

    // Freezes from chat: the room's commander may lift them, a responder may not.
    let reply = app
        .command("/change freeze all 400d forever", &room(&alice))
        .await;
    assert!(
        !reply.ok && reply.text.contains("changes.max_freeze"),
        "{reply:?}"
    );
    let reply = app
        .command("/change freeze checkout 2h soak", &room(&alice))
        .await;
    assert!(reply.ok, "{reply:?}");
    let reply = app
        .command("/change unfreeze checkout", &room(&alice))
        .await;
    assert!(!reply.ok, "{reply:?}");
    let reply = app.command("/change unfreeze checkout", &room(&bob)).await;
    assert!(
        reply.ok
            && reply
                .text
                .starts_with("🌤️ bob lifted freeze #1 on checkout"),
        "{reply:?}"
    );
    // Outside a room there is no incident commander: an admin lifts by id.
    app.command("/change freeze search 1h reindex", &ctx(&alice, None))
        .await;
    let reply = app.command("/change unfreeze 2", &ctx(&bob, None)).await;
    assert!(!reply.ok, "{reply:?}");
    let reply = app.command("/change unfreeze #2", &ctx(&root, None)).await;
    assert!(reply.ok, "{reply:?}");

    // Approvals from chat.
    let (_, c) = app
        .post_json(
            "/api/v1/changes",
            json!({"service": "db", "summary": "Add index", "status": "planned"}),
        )
        .await;
    let change = format!("/change approve chg-{}", c["id"]);
    let reply = app.command(&change, &room(&alice)).await;
    assert!(!reply.ok, "{reply:?}");
    let reply = app.command(&change, &room(&erin)).await;
    assert!(reply.ok, "{reply:?}");

    let seen = refusals(&app, id).await;
    let actions: Vec<(&str, &str)> = seen
        .iter()
        .map(|(who, a, _)| (who.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("slack:U0GUEST", "reassign_commander"),
            ("slack:U0GUEST", "cancel"),
            ("alice", "set_severity"),
            ("alice", "cancel"),
            ("alice", "close"),
            ("alice", "reopen"),
            ("alice", "unfreeze"),
        ]
    );
    let events = app.events_of(id, "refused").await;
    assert_eq!(events[0]["data"]["identity"]["guest"], true);
    assert_eq!(events[0]["data"]["actor_kind"], "guest");
    let outside = audit(&app, "actor=alice&allowed=false").await;
    assert_eq!(outside[0]["action"], "declare_major");
    assert_eq!(outside[0]["incident_id"], Value::Null);
    assert_eq!(outside.last().unwrap()["action"], "approve_change");
    let bob_refused = audit(&app, "actor=bob&allowed=false").await;
    assert_eq!(bob_refused.len(), 1);
    assert_eq!(bob_refused[0]["subject"], "freeze #2");
}
both_backends!(chat, chat_commands_ask_the_same_policy);

async fn slash(app: &TestApp, channel: &str, user: (&str, &str), text: &str) -> Value {
    slack_server::helpers::slash(app, channel, user.0, user.1, text).await
}

async fn slack_commands_ask_the_same_policy(backend: Backend) {
    let fake = FakeSlack::start().await;
    // Slack users act as the people the directory maps their user ids to.
    let people = "[[person]]\nid = \"alice\"\nslack = \"UALICE001\"\n\
                  [[person]]\nid = \"bob\"\nslack = \"UBOB00001\"\n";
    let (app, _catalog) =
        slack_server::helpers::spawn_with_catalog_and(backend, &fake, people, grants).await;
    let alice = ("UALICE001", "alice");
    let answer = slash(&app, "CGENERAL1", alice, "/inc declare P1 Checkout down").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_eq!(
        answer["text"],
        "⚠️ declaring a P0/P1 incident needs the commander or an admin; alice is a responder"
    );
    let answer = slash(&app, "CGENERAL1", alice, "/inc declare P3 Checkout slow").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let id = list["incidents"][0]["id"].as_i64().unwrap();
    let ch = slack_server::helpers::room_of(&app, id).await;
    let answer = slash(&app, &ch, alice, "/inc cancel").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("cancelling an incident needs the commander or an admin"),
        "{answer}"
    );
    let answer = slash(&app, &ch, alice, "/change unfreeze all").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let answer = slash(&app, &ch, alice, "/inc role commander @me").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let answer = slash(&app, &ch, alice, "/inc cancel").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["status"], "cancelled");
    let seen = refusals(&app, id).await;
    let actions: Vec<&str> = seen.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(actions, ["cancel", "unfreeze"]);
    // The declare form says a refusal on the form itself.
    let submission = json!({"type": "view_submission", "user": {"id": "UBOB00001", "username": "bob"},
        "view": {"callback_id": "warroom_declare_view", "state": {"values": {
            "title": {"value": {"type": "plain_text_input", "value": "Everything down"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "P0"}}},
            "service": {"value": {"type": "plain_text_input", "value": null}},
            "type": {"value": {"type": "static_select", "selected_option": {"value": "outage"}}}}}}});
    let form = serde_urlencoded::to_string([("payload", submission.to_string())]).unwrap();
    let resp = slack_server::send_signed(
        &app.client,
        &app.url("/slack/interactions"),
        &form,
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["response_action"], "errors", "{answer}");
    assert_eq!(
        answer["errors"]["severity"],
        "declaring a P0/P1 incident needs the commander or an admin; bob is a responder"
    );
    let refused = audit(&app, "allowed=false").await;
    assert!(
        refused.iter().all(|e| e["platform"] == "slack"),
        "{refused:?}"
    );
    assert_eq!(refused[0]["action"], "declare_major");
    assert_eq!(refused.last().unwrap()["actor"], "bob");
}
both_backends!(slack, slack_commands_ask_the_same_policy);

async fn teams_grant_roles_through_the_directory(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(
        &path,
        "[[service]]\nname = \"checkout\"\n\
         [[person]]\nid = \"carol\"\n[[person]]\nid = \"dave\"\n\
         [[team]]\nid = \"incident-managers\"\nmembers = [\"carol\"]\n",
    )
    .unwrap();
    let catalog = path.display().to_string();
    let app = TestApp::spawn_with(backend, move |c| {
        c.catalog.path = catalog;
        c.roles.insert(
            "commander".into(),
            Grants(vec!["team:incident-managers".into()]),
        );
    })
    .await;
    // A member of the team is a commander of every incident: declares a P1 and closes it.
    let (s, b) = incident_as(&app, "carol", "P1").await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_i64().unwrap();
    let (s, b) = incident_as(&app, "dave", "P1").await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = patch_as(&app, id, "dave", json!({"status": "resolved"})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = patch_as(&app, id, "dave", json!({"status": "closed"})).await;
    forbidden(
        s,
        &b,
        "closing an incident needs the commander or an admin; dave is a responder",
    );
    let (s, b) = patch_as(&app, id, "carol", json!({"status": "closed"})).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("closed")), "{b}");
    let allowed = audit(&app, "actor=carol&allowed=true").await;
    let actions: Vec<&str> = allowed
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["declare_major", "close"]);
    assert_eq!(
        allowed[1]["reason"], "carol is the commander",
        "{allowed:?}"
    );
}
both_backends!(teams, teams_grant_roles_through_the_directory);
