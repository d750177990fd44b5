//! Discord's gateway end to end against the local gateway in `tests/discord_gateway/`: messages,
//! replies, edits, deletions and 📌 reactions in a war room land once on the incident's timeline;
//! a dropped connection resumes its session and what was said meanwhile is replayed or back-filled
//! once; two engines on one PostgreSQL hold one connection, and the second takes over.

mod common;
// `tests/discord_gateway/` beside this file of the same name: named by path.
#[path = "discord_gateway/mod.rs"]
mod fake_gateway;

use common::{Backend, TestApp};
use fake_gateway::{BOT_USER, FakeGateway, Seen};
use serde_json::Value;
use warroom::store::ChatRoom;

const ALICE: (&str, &str) = ("111111111111111111", "alice_ng");
const GUEST: (&str, &str) = ("222222222222222222", "gus");
const PEOPLE: &str =
    "[[person]]\nid = \"alice\"\nname = \"Alice Ng\"\ndiscord = \"111111111111111111\"\n";

/// Warroom on `backend` with the people directory, pointed at `fake`; keep the folder alive.
async fn spawn(
    backend: Backend,
    fake: &FakeGateway,
    via_rest: bool,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, PEOPLE).unwrap();
    let fake = fake.clone();
    let app = TestApp::spawn_with(backend, move |c| {
        fake.configure(c, via_rest);
        c.catalog.path = path.display().to_string();
    })
    .await;
    (app, dir)
}

/// An incident with a Discord war room (the channel `fake` made), as the Discord deliverer leaves it.
async fn war_room(app: &TestApp, fake: &FakeGateway) -> (i64, String) {
    let id = common::declare(app, "Checkout errors", "P2").await;
    let channel = fake.add_channel();
    let room = ChatRoom {
        incident_id: id,
        platform: "discord".into(),
        room_id: channel.clone(),
        name: format!("inc-{id}-checkout-errors"),
    };
    app.engine()
        .store()
        .save_chat_room(&room, chrono::Utc::now())
        .await
        .unwrap();
    (id, channel)
}

/// Waits until the gateway's READY was handled (its session is kept).
async fn ready(app: &TestApp) {
    let engine = app.engine().clone();
    app.eventually("the gateway session", || {
        let engine = engine.clone();
        async move { engine.discord_gateway_session().await.unwrap().is_some() }
    })
    .await;
}

fn texts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn count_text(app: &TestApp, id: i64, text: &str) -> usize {
    let messages = app.events_of(id, "chat_message").await;
    texts(&messages).iter().filter(|t| *t == text).count()
}

async fn wait_for_text(app: &TestApp, id: i64, text: &str) {
    let what = format!("`{text}` on the timeline");
    app.eventually(&what, || async { count_text(app, id, text).await > 0 })
        .await;
}

async fn events_land_once(backend: Backend) {
    let fake = FakeGateway::start().await;
    let (app, _dir) = spawn(backend, &fake, true).await;
    let (id, ch) = war_room(&app, &fake).await;
    ready(&app).await;

    let first = fake.say(&ch, ALICE, "errors since 10:02");
    let said = fake.history(&ch)[0].clone();
    // Discord may deliver the same dispatch again: nothing new.
    fake.dispatch("MESSAGE_CREATE", said);
    let mention = format!("<@{}> is the card provider down?", ALICE.0);
    let second = fake.say(&ch, GUEST, &mention);
    fake.reply(&ch, ALICE, "yes, since 10:01", &second);
    fake.unfurl(&ch, &first);
    fake.edit(&ch, &first, "errors since 10:01");
    let edited = fake.history(&ch)[0].clone();
    fake.dispatch("MESSAGE_UPDATE", edited);
    fake.react(&ch, &first, ALICE, "📌");
    fake.react(&ch, &first, ALICE, "📌");
    fake.react(&ch, &first, GUEST, "😊");
    fake.say(&ch, (BOT_USER, "warroom"), "the bot's own post");
    let elsewhere = fake.add_channel();
    fake.say(&elsewhere, ALICE, "not a war room");
    fake.delete(&ch, &second);

    // Dispatches are handled in order: once the deletion is there, everything before it was handled.
    app.eventually("the deletion", || async {
        !app.events_of(id, "message_deleted").await.is_empty()
    })
    .await;
    let messages = app.events_of(id, "chat_message").await;
    assert_eq!(
        texts(&messages),
        vec![
            "errors since 10:02".to_string(),
            "@alice is the card provider down?".into(),
            "yes, since 10:01".into()
        ]
    );
    assert_eq!(messages[0]["actor"], "alice");
    assert_eq!(messages[0]["data"]["platform"], "discord");
    assert_eq!(messages[0]["data"]["message_id"], first.as_str());
    assert_eq!(messages[1]["actor"], format!("discord:{}", GUEST.0));
    assert_eq!(messages[2]["data"]["thread"], second.as_str());
    let edits = app.events_of(id, "message_edited").await;
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["text"], "errors since 10:01");
    assert_eq!(edits[0]["data"]["previous"], "errors since 10:02");
    assert_eq!(edits[0]["data"]["event"], messages[0]["id"]);
    let pins = app.events_of(id, "pinned").await;
    assert_eq!(pins.len(), 1, "{pins:?}");
    assert_eq!(pins[0]["actor"], "alice");
    assert_eq!(pins[0]["text"], "📌 errors since 10:02");
    let deleted = app.events_of(id, "message_deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["actor"], format!("discord:{}", GUEST.0));
    assert_eq!(deleted[0]["data"]["event"], messages[1]["id"]);
    // The guest is listed among the people.
    let (_, people) = app.get_json("/api/v1/people").await;
    let guest = format!("discord:{}", GUEST.0);
    assert!(
        people
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["id"] == guest.as_str())
            || people["people"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["id"] == guest.as_str()),
        "{people}"
    );
    // The client found the gateway through GET /gateway/bot and identified once.
    let calls = fake.state.lock().unwrap().calls.clone();
    assert!(calls.iter().any(|c| c == "GET /gateway/bot"), "{calls:?}");
    let seen = fake.seen();
    assert!(
        matches!(seen.as_slice(), [Seen::Identify { .. }]),
        "{seen:?}"
    );
}
both_backends!(events_land_once_on_the_timeline, events_land_once);

async fn resume_and_backfill(backend: Backend) {
    let fake = FakeGateway::start().await;
    let (app, _dir) = spawn(backend, &fake, false).await;
    let (id, ch) = war_room(&app, &fake).await;
    ready(&app).await;
    fake.say(&ch, ALICE, "one");
    wait_for_text(&app, id, "one").await;

    // Dropped: Discord keeps the session; the dispatch of "two" is replayed on RESUME, "three"
    // never had one (only the channel's history shows it).
    fake.set_open(false);
    fake.drop_connections();
    let two = fake.say(&ch, ALICE, "two");
    fake.say_unseen(&ch, GUEST, "three");
    fake.set_open(true);
    wait_for_text(&app, id, "three").await;
    assert_eq!(count_text(&app, id, "two").await, 1);

    // Dropped again, and this time Discord does not replay: the back-fill finds "four" (after
    // waiting out a 429's `retry_after`).
    fake.set_replay_on_resume(false);
    fake.state.lock().unwrap().rate_limited = 1;
    fake.set_open(false);
    fake.drop_connections();
    fake.say(&ch, ALICE, "four");
    fake.set_open(true);
    wait_for_text(&app, id, "four").await;
    for text in ["one", "two", "three", "four"] {
        assert_eq!(count_text(&app, id, text).await, 1, "{text}");
    }

    let seen = fake.seen();
    let [
        Seen::Identify { session },
        Seen::Resume {
            session: r1,
            seq: s1,
        },
        Seen::Resume {
            session: r2,
            seq: s2,
        },
    ] = seen.as_slice()
    else {
        panic!("one IDENTIFY, then two RESUMEs: {seen:?}");
    };
    assert_eq!((r1, r2), (session, session));
    assert!(*s1 > 0 && s2 > s1, "the sequence moves on: {s1} then {s2}");
    // The back-fill reads after the last message seen, not the whole channel.
    let calls = fake.state.lock().unwrap().calls.clone();
    let after_two = format!("GET /channels/{ch}/messages?after={two}");
    assert!(calls.contains(&after_two), "{calls:?}");
    let limited = calls
        .iter()
        .position(|c| c == "429")
        .expect("a 429 was answered");
    assert!(
        calls[limited + 1..]
            .iter()
            .any(|c| c.starts_with(&format!("GET /channels/{ch}/messages")))
    );
    assert_eq!(fake.state.lock().unwrap().max_live, 1);
}
both_backends!(
    a_dropped_connection_resumes_and_backfills_once,
    resume_and_backfill
);

async fn invalid_session(backend: Backend) {
    let fake = FakeGateway::start().await;
    let (app, _dir) = spawn(backend, &fake, false).await;
    let (id, ch) = war_room(&app, &fake).await;
    ready(&app).await;
    fake.say(&ch, ALICE, "before");
    wait_for_text(&app, id, "before").await;

    fake.set_open(false);
    fake.drop_connections();
    fake.forget_sessions();
    fake.say_unseen(&ch, GUEST, "while the session expired");
    fake.set_open(true);
    // Discord asks for 1–5 s before identifying again after an invalid session.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count_text(&app, id, "while the session expired").await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no back-fill after a new session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let seen = fake.seen();
    let [
        Seen::Identify { session: old },
        Seen::Refused(why),
        Seen::Identify { session: new },
    ] = seen.as_slice()
    else {
        panic!("IDENTIFY, a refused RESUME, IDENTIFY: {seen:?}");
    };
    assert_eq!(why, "Invalid session.");
    assert_ne!(old, new);
    let kept = app
        .engine()
        .discord_gateway_session()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&kept.session_id, new);
    assert_eq!(count_text(&app, id, "before").await, 1);
}
both_backends!(
    an_invalid_session_identifies_anew_and_backfills,
    invalid_session
);

/// Two engines on one PostgreSQL: one holds the gateway; when it is shut down the other takes
/// over, resumes the same session and records what was said in between once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_engines_holds_the_gateway_and_the_other_takes_over() {
    if common::postgres_url().is_none() {
        return;
    }
    let fake = FakeGateway::start().await;
    let (mut first, _dir) = spawn(Backend::Postgres, &fake, false).await;
    let (id, ch) = war_room(&first, &fake).await;
    ready(&first).await;
    let second = warroom::app::App::start(first.config.clone())
        .await
        .expect("second engine starts");
    // The first holds the leadership: the second cannot take it.
    assert!(
        second
            .engine
            .discord_gateway_leadership()
            .await
            .unwrap()
            .is_none()
    );
    fake.say(&ch, ALICE, "before");
    wait_for_text(&first, id, "before").await;
    assert_eq!(fake.live(), 1);

    fake.set_open(false);
    first.app.take().unwrap().stop().await.unwrap();
    fake.say(&ch, ALICE, "between");
    fake.say_unseen(&ch, GUEST, "unseen");
    fake.set_open(true);

    let store = second.engine.store().clone();
    let texts_of = || {
        let store = store.clone();
        async move {
            texts(
                &store
                    .timeline(id, 0, 1000)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.kind.as_str() == "chat_message")
                    .map(|e| serde_json::json!({"text": e.text}))
                    .collect::<Vec<_>>(),
            )
        }
    };
    first
        .eventually(
            "the second engine records what was said meanwhile",
            || async {
                let t = texts_of().await;
                t.contains(&"between".to_string()) && t.contains(&"unseen".to_string())
            },
        )
        .await;
    assert_eq!(texts_of().await, vec!["before", "between", "unseen"]);
    let seen = fake.seen();
    let [
        Seen::Identify { session },
        Seen::Resume {
            session: resumed, ..
        },
    ] = seen.as_slice()
    else {
        panic!("the second engine resumes the first one's session: {seen:?}");
    };
    assert_eq!(session, resumed);
    assert_eq!(fake.state.lock().unwrap().max_live, 1);
    second.stop().await.unwrap();
}
