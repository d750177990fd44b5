//! The people directory end to end: `[[person]]`/`[[team]]` and Backstage imports listed by
//! `GET /api/v1/people` and `/teams`, durable guests, and Slack users linked by e-mail.

mod common;
mod slack_server;

use common::{Backend, TestApp};
use serde_json::Value;
use slack_server::FakeSlack;
use slack_server::helpers::*;

const TEAM_A: &str =
    "../shared/fixtures/realworld/backstage/examples-acme-team-a-group.multidoc.yaml";

fn person<'a>(people: &'a Value, id: &str) -> &'a Value {
    people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("`{id}` is listed: {people}"))
}

async fn people_and_teams_are_listed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let backstage = std::fs::canonicalize(TEAM_A).unwrap();
    let catalog = dir.path().join("services.toml");
    std::fs::write(
        &catalog,
        format!(
            "import = [{:?}]\n[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\nemail = \"alice@example.com\"\n\
             timezone = \"Europe/Berlin\"\nslack = \"U0123ABCD\"\ndiscord = 112233445566778899\n\
             notify = [{{ via = \"dm\", after = \"0m\" }}, {{ via = \"webhook\", after = \"2m\" }}]\n\
             [[person]]\nid = \"bob\"\n[[team]]\nid = \"payments\"\nmembers = [\"alice\", \"bob\"]\n",
            backstage.display().to_string()
        ),
    )
    .unwrap();
    let path = catalog.display().to_string();
    let app = TestApp::spawn_with(backend, move |c| c.catalog.path = path).await;

    let (status, people) = app.get_json("/api/v1/people").await;
    assert_eq!(status, 200, "{people}");
    let alice = person(&people, "alice");
    assert_eq!(alice["name"], "Alice Ng");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["timezone"], "Europe/Berlin");
    assert_eq!(alice["identities"]["slack"], "U0123ABCD");
    assert_eq!(alice["identities"]["discord"], "112233445566778899");
    assert_eq!(alice["teams"], serde_json::json!(["payments"]));
    assert_eq!(alice["notify"][1]["via"], "webhook");
    assert_eq!(alice["guest"], false);
    let janelle = person(&people, "janelle.dawe");
    assert_eq!(janelle["name"], "Janelle Dawe", "imported from Backstage");
    assert_eq!(janelle["teams"], serde_json::json!(["team-a"]));
    assert_eq!(people["people"].as_array().unwrap().len(), 6);

    let (status, teams) = app.get_json("/api/v1/teams").await;
    assert_eq!(status, 200);
    let teams = teams["teams"].as_array().unwrap();
    let payments = teams.iter().find(|t| t["id"] == "payments").unwrap();
    assert_eq!(payments["members"], serde_json::json!(["alice", "bob"]));
    let team_a = teams.iter().find(|t| t["id"] == "team-a").unwrap();
    assert_eq!(team_a["email"], "team-a@example.com");
    assert_eq!(team_a["members"].as_array().unwrap().len(), 4);
}
both_backends!(people_and_teams_test, people_and_teams_are_listed);

async fn the_directory_needs_a_token(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api.tokens = vec!["s3cret".into()]).await;
    for path in ["/api/v1/people", "/api/v1/teams"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let resp = app
            .client
            .get(app.url(path))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path} with the token");
    }
}
both_backends!(directory_token_test, the_directory_needs_a_token);

async fn guests_are_durable(backend: Backend) {
    let fake = FakeSlack::start().await;
    let (app, catalog) = spawn_with_catalog(backend, &fake, PEOPLE).await;
    let answer = slash(&app, "CGENERAL1", "UVISIT001", "vera", "/inc help").await;
    assert_eq!(answer["response_type"], "ephemeral");
    let (_, people) = app.get_json("/api/v1/people").await;
    let vera = person(&people, "slack:UVISIT001");
    assert_eq!(vera["guest"], true);
    assert_eq!(vera["name"], "vera");
    assert!(vera["first_seen"].is_string());
    assert_eq!(person(&people, "alice")["guest"], false);

    let app = app.restart().await;
    let (_, people) = app.get_json("/api/v1/people").await;
    assert_eq!(
        person(&people, "slack:UVISIT001")["guest"],
        true,
        "guests survive a restart"
    );

    // Once the catalog lists them, they are a person and no longer a guest.
    std::fs::write(
        catalog.path().join("services.toml"),
        format!("{PEOPLE}[[person]]\nid = \"vera\"\nslack = \"UVISIT001\"\n"),
    )
    .unwrap();
    let app = app.restart().await;
    let (_, people) = app.get_json("/api/v1/people").await;
    assert_eq!(person(&people, "vera")["guest"], false);
    assert!(!people.to_string().contains("slack:UVISIT001"), "{people}");
}
both_backends!(guests_durable_test, guests_are_durable);

const LINKED: &str = "[[person]]\nid = \"carol\"\nname = \"Carol\"\nemail = \"carol@example.com\"\n\
    [[person]]\nid = \"dave\"\nemail = \"dave@example.com\"\n\
    [[person]]\nid = \"alice\"\nemail = \"alice@example.com\"\nslack = \"UALICE001\"\n";

async fn slack_users_are_linked_by_email(backend: Backend) {
    let fake = FakeSlack::start().await;
    fake.add_user_with_email("UCAROL001", "Carol C", "Carol@Example.com");
    fake.add_user_with_email("UALICE001", "Alice", "alice@example.com");
    let (app, _catalog) = spawn_with_catalog(backend, &fake, LINKED).await;
    app.eventually("carol linked by users.lookupByEmail", || async {
        let (_, people) = app.get_json("/api/v1/people").await;
        person(&people, "carol")["identities"]["slack"] == "UCAROL001"
    })
    .await;
    let (_, people) = app.get_json("/api/v1/people").await;
    assert_eq!(person(&people, "carol")["linked"]["slack"], "email");
    assert!(
        person(&people, "dave")["identities"]["slack"].is_null(),
        "users_not_found links nobody"
    );
    assert_eq!(
        fake.calls("users.lookupByEmail"),
        2,
        "only people without a Slack id are looked up"
    );

    // The linked Slack user acts as carol, and a mention of her Slack id names her.
    let answer = slash(
        &app,
        "CGENERAL1",
        "UCAROL001",
        "cc",
        "/inc declare P2 Payments slow",
    )
    .await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let (_, list) = app.get_json("/api/v1/incidents").await;
    let id = list["incidents"][0]["id"].as_i64().unwrap();
    let ch = room_of(&app, id).await;
    let answer = slash(
        &app,
        &ch,
        "UALICE001",
        "alice",
        "/inc role commander <@UCAROL001>",
    )
    .await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let (_, inc) = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["roles"]["commander"], "carol");
    let events = timeline(&app, id).await;
    assert_eq!(events[0]["kind"], "declared");
    assert_eq!(events[0]["actor"], "carol");
    let cmd = events.iter().find(|e| e["kind"] == "command").unwrap();
    assert_eq!(cmd["actor"], "alice");
    drained(&app, id, 20).await;
    let room = fake.channels().into_iter().find(|c| c.id == ch).unwrap();
    assert!(
        room.messages
            .iter()
            .any(|m| m["text"] == "<@UALICE001> made <@UCAROL001> commander"),
        "people named in a post are mentioned by their (linked) Slack ids: {:?}",
        room.messages
    );
    assert!(
        room.members.contains(&"UCAROL001".to_string()),
        "the declarer is invited by her linked id: {:?}",
        room.members
    );

    // Answers are cached for a day: a restart asks Slack nothing new.
    let app = app.restart().await;
    let people = app.engine().people();
    assert!(people.emails_to_link().await.unwrap().is_empty());
    assert!(!people.schedule_slack_links().await.unwrap());
    assert_eq!(
        people.slack_person("UCAROL001").await.unwrap().as_deref(),
        Some("carol")
    );
}
both_backends!(slack_links_test, slack_users_are_linked_by_email);

async fn large_directories_link_in_batches(backend: Backend) {
    let fake = FakeSlack::start().await;
    let mut catalog = String::new();
    for i in 0..45 {
        catalog.push_str(&format!(
            "[[person]]\nid = \"p{i}\"\nemail = \"p{i}@example.com\"\n"
        ));
    }
    fake.add_user_with_email("UPEOPLE44", "P 44", "p44@example.com");
    let (app, _catalog) = spawn_with_catalog(backend, &fake, &catalog).await;
    app.eventually("every person looked up, over two batches", || async {
        app.engine()
            .people()
            .emails_to_link()
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    assert_eq!(fake.calls("users.lookupByEmail"), 45, "each address once");
    assert_eq!(
        app.engine()
            .people()
            .person_slack_id("p44")
            .await
            .unwrap()
            .as_deref(),
        Some("UPEOPLE44")
    );
}
both_backends!(link_batches_test, large_directories_link_in_batches);

async fn the_services_on_call_person_is_invited(backend: Backend) {
    let fake = FakeSlack::start().await;
    let catalog = "[[service]]\nname = \"checkout\"\noncall = \"payments-primary\"\n\
        [[person]]\nid = \"bob\"\nslack = \"UBOB00001\"\n\
        [[schedule]]\nname = \"payments-primary\"\ntimezone = \"UTC\"\n\
        [[schedule.layer]]\npeople = [\"bob\"]\nshift = \"1w\"\nstart = \"2026-01-05T09:00\"\n";
    let (app, _dir) = spawn_with_catalog(backend, &fake, catalog).await;
    let (s, body) = app
        .post_json(
            "/api/v1/incidents",
            serde_json::json!({"title": "Checkout slow", "severity": "P2", "service": "checkout"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let ch = room_of(&app, id).await;
    drained(&app, id, 20).await;
    let room = fake.channels().into_iter().find(|c| c.id == ch).unwrap();
    assert!(
        room.members.contains(&"UBOB00001".to_string()),
        "the person on call for the service's schedule is invited, not the schedule's name: {:?}",
        room.members
    );
}
both_backends!(oncall_invited, the_services_on_call_person_is_invited);
