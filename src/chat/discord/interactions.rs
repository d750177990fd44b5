//! The interactions endpoint's work: PING, application commands, buttons, the declare modal and
//! autocomplete, each mapped onto the engine through the one grammar (`Engine::run_command`), and
//! answered in the interaction response — within Discord's 3 s, or deferred with the answer
//! following through the outbox when the work takes longer.

use super::commands::{self, Kind};
use super::components::{self, Pressed};
use super::interaction::{self, Interaction};
use super::{DISCORD, channel_name, text};
use crate::domain::Actor;
use crate::engine::{
    AnswerFacts, CommandContext, Deferral, Engine, EngineError, FollowUp, Reply, Visibility,
};
use crate::store::NewOutbox;
use serde_json::{Value, json};
use std::time::Duration;

/// Response type `PONG`.
const PONG: u8 = 1;
/// Response type `CHANNEL_MESSAGE_WITH_SOURCE`.
const MESSAGE: u8 = 4;
/// Response type `DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE`.
const DEFERRED: u8 = 5;
/// Response type `APPLICATION_COMMAND_AUTOCOMPLETE_RESULT`.
const CHOICES: u8 = 8;
/// Response type `MODAL`.
const MODAL: u8 = 9;
/// Message flag `EPHEMERAL`.
const EPHEMERAL: u64 = 64;

/// The longest `discord.answer_within_ms` may be: Discord allows 3 s in all, and the answer must travel.
pub const ANSWER_WITHIN_MAX: Duration = Duration::from_millis(2900);

/// The outbox action that edits a deferred answer (`PATCH /webhooks/{app}/{token}/messages/@original`).
pub const FOLLOWUP: &str = "followup";

/// A message response: escaped, no mentions parsed, ephemeral when `private`.
pub fn message(content: &str, private: bool, components: Option<Value>) -> Value {
    let mut data =
        json!({"content": text::escape(content), "allowed_mentions": text::allowed_mentions(&[])});
    if private {
        data["flags"] = json!(EPHEMERAL);
    }
    if let Some(c) = components {
        data["components"] = c;
    }
    json!({"type": MESSAGE, "data": data})
}

/// Handles one verified interaction; the JSON is the HTTP response body Discord expects.
pub async fn handle(engine: &Engine, i: Interaction) -> Result<Value, EngineError> {
    if i.kind == interaction::PING {
        return Ok(json!({"type": PONG}));
    }
    if i.kind == interaction::AUTOCOMPLETE {
        // Autocomplete changes nothing; it is asked again on every keystroke.
        return autocomplete(engine, &i).await;
    }
    if !engine.first_interaction(DISCORD, &i.id).await? {
        tracing::info!(interaction = %i.id, "interaction handled before; not repeated");
        return Ok(message("This was handled already.", true, None));
    }
    let Some(user) = i.who().filter(|u| !u.id.is_empty()) else {
        return Ok(message("warroom could not tell who sent this.", true, None));
    };
    let people = engine.people();
    let actor = people
        .resolve(DISCORD, &user.id, i.display_name().as_deref())
        .await?;
    let room = match i.channel_id.as_deref() {
        Some(c) => engine.incident_of_room(DISCORD, c).await?,
        None => None,
    };
    if room.is_none() {
        // Inside a room the command's timeline event records a guest; outside one, this does.
        people.seen(&actor).await?;
    }
    let data = i.data();
    match i.kind {
        interaction::APPLICATION_COMMAND => {
            let family = data.name.clone().unwrap_or_default();
            let directory = people.directory();
            let person = |snowflake: &str| {
                directory
                    .by_discord(snowflake)
                    .map(|p| p.id.clone())
                    .unwrap_or_else(|| snowflake.to_string())
            };
            let Some(line) = commands::line(&family, &data.options, &person) else {
                let usage = crate::domain::command::usage(&family).unwrap_or_default();
                return Ok(message(
                    &format!(
                        "warroom does not know `/{family}` with these options.\nUsage: {usage}"
                    ),
                    true,
                    None,
                ));
            };
            if line.wants_form {
                return Ok(json!({"type": MODAL, "data": components::declare_modal()}));
            }
            let incident_id = line.incident.or(room);
            let ctx = CommandContext { actor, incident_id };
            let extras = Extras {
                sub: line.sub.clone(),
                outside_room: room.is_none(),
            };
            run(engine, &i, line.text, ctx, extras).await
        }
        interaction::MESSAGE_COMPONENT => {
            let custom = data.custom_id.clone().unwrap_or_default();
            match Pressed::parse(&custom) {
                Some(Pressed::Declare) => {
                    Ok(json!({"type": MODAL, "data": components::declare_modal()}))
                }
                Some(pressed) => {
                    let Some((id, line)) = pressed.command() else {
                        return Ok(message("Nothing to do.", true, None));
                    };
                    let ctx = CommandContext {
                        actor,
                        incident_id: Some(id),
                    };
                    run(engine, &i, line, ctx, Extras::default()).await
                }
                None => Ok(message(
                    &format!("This control (`{custom}`) is not one of warroom's."),
                    true,
                    None,
                )),
            }
        }
        interaction::MODAL_SUBMIT => {
            if data.custom_id.as_deref() != Some(components::DECLARE) {
                return Ok(message("This form is not one of warroom's.", true, None));
            }
            let values = interaction::modal_values(&data.components);
            let field = |name: &str| {
                values
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|v| !v.is_empty())
            };
            let mut line = vec!["/inc declare".to_string()];
            if let Some(s) = field("severity") {
                line.push(s.to_uppercase());
            }
            if let Some(s) = field("service") {
                line.push(format!("service:{s}"));
            }
            if let Some(t) = field("type") {
                line.push(format!("type:{}", t.to_lowercase()));
            }
            line.push(field("title").unwrap_or_default());
            let ctx = CommandContext {
                actor,
                incident_id: None,
            };
            let extras = Extras {
                sub: "declare".into(),
                outside_room: true,
            };
            run(engine, &i, line.join(" "), ctx, extras).await
        }
        other => Ok(message(
            &format!("warroom does not handle interactions of type {other}."),
            true,
            None,
        )),
    }
}

/// What an answer may carry besides its text.
#[derive(Debug, Clone, Default)]
struct Extras {
    /// The subcommand (`changes`, `declare`, `help`).
    sub: String,
    /// Whether the command came from outside a war room.
    outside_room: bool,
}

/// Runs `line` for `ctx`: answered inline when done within `discord.answer_within_ms` (0: never), else deferred;
/// the deferred answer's follow-up is written in the command's own unit of work, with what it did.
async fn run(
    engine: &Engine,
    i: &Interaction,
    line: String,
    ctx: CommandContext,
    extras: Extras,
) -> Result<Value, EngineError> {
    let deferral = Deferral::new();
    let id = i.id.clone();
    let app = i
        .application_id
        .clone()
        .or_else(|| engine.config().discord.application_id.clone())
        .unwrap_or_default();
    let entry = |data: Value| NewOutbox {
        destination: DISCORD.into(),
        action: FOLLOWUP.into(),
        incident_id: None,
        channel_key: format!("{DISCORD}:followup:{id}"),
        payload: json!({"application_id": app, "token": i.token, "data": data}),
        idempotency_key: Some(format!("{DISCORD}:followup:{id}")),
    };
    let render_engine = engine.clone();
    let render_extras = extras.clone();
    let mut follow_up = Some(FollowUp {
        entry: entry(Value::Null),
        render: Box::new(move |reply, facts| {
            answer(&render_engine, reply, &render_extras, facts)["data"].clone()
        }),
    });
    let within =
        Duration::from_millis(engine.config().discord.answer_within_ms).min(ANSWER_WITHIN_MAX);
    if within.is_zero() {
        // No time to answer inline: the answer always follows, deferred before the command runs.
        if let Some(follow_up) = follow_up.take() {
            deferral.defer(follow_up).await;
        }
    }
    let worker = engine.clone();
    let pending = deferral.clone();
    let mut task = tokio::spawn(async move {
        let reply = worker.run_command_deferrable(&line, &ctx, &pending).await?;
        let facts = worker.answer_facts(&reply).await?;
        Ok::<Value, EngineError>(answer(&worker, &reply, &extras, &facts))
    });
    if let Some(follow_up) = follow_up {
        if let Ok(joined) = tokio::time::timeout(within, &mut task).await {
            return joined
                .map_err(|e| EngineError::Conflict(format!("the command failed: {e}")))?;
        }
        if !deferral.defer(follow_up).await {
            // The command committed just as the wait ran out: its answer is ready to give inline.
            return task
                .await
                .map_err(|e| EngineError::Conflict(format!("the command failed: {e}")))?;
        }
    }
    let (engine, failed, interaction) = (engine.clone(), entry(Value::Null), id.clone());
    tokio::spawn(async move {
        // A command that succeeded wrote its follow-up with its work. One that failed wrote
        // nothing: its error follows on its own (a no-op when the follow-up exists, by its key).
        let error = match task.await {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => format!("⚠️ {e}"),
            Err(e) => format!("⚠️ the command failed: {e}"),
        };
        let mut entry = failed;
        entry.payload["data"] = message(&error, true, None)["data"].clone();
        if let Err(e) = engine.enqueue_one(entry).await {
            tracing::warn!(error = %e, %interaction, "could not queue the follow-up");
        }
    });
    Ok(json!({"type": DEFERRED}))
}

/// The interaction response for a command's reply and the facts of its incident.
fn answer(engine: &Engine, reply: &Reply, extras: &Extras, facts: &AnswerFacts) -> Value {
    let private = reply.visibility == Visibility::Ephemeral;
    let mut content = reply.text.clone();
    let mut buttons = None;
    match (extras.sub.as_str(), reply.incident_id, reply.ok) {
        ("declare", Some(id), true) if extras.outside_room => {
            if let Some(inc) = &facts.incident {
                let name = channel_name(&engine.config().discord.channel_prefix, id, &inc.title);
                content.push_str(&format!("\nDiscord war room: #{name} (opening now)"));
            }
        }
        ("changes", Some(id), true) => {
            let changes: Vec<(String, String)> = facts
                .linked
                .iter()
                .filter(|l| !l.confirmed)
                .map(|l| (l.change.id.to_string(), l.change.label()))
                .collect();
            if !changes.is_empty() {
                buttons = Some(components::change_buttons(id, &changes));
            }
        }
        ("help", None, _) if extras.outside_room => buttons = Some(components::declare_button()),
        _ => {}
    }
    message(&content, private, buttons)
}

/// Choices for the option being typed: services of the catalog, or open incidents.
async fn autocomplete(engine: &Engine, i: &Interaction) -> Result<Value, EngineError> {
    let data = i.data();
    let family = data.name.clone().unwrap_or_default();
    let (kind, typed) =
        commands::focused(&family, &data.options).unwrap_or((Kind::Text, String::new()));
    let typed = typed.trim().trim_start_matches('#').to_lowercase();
    let choices: Vec<Value> = match kind {
        Kind::Service => {
            let mut names: Vec<&str> = engine
                .catalog()
                .services()
                .map(|s| s.name.as_str())
                .collect();
            if family == "change" {
                names.push("all");
            }
            names
                .into_iter()
                .filter(|n| n.to_lowercase().contains(&typed))
                .take(25)
                .map(|n| json!({"name": n, "value": n}))
                .collect()
        }
        Kind::Incident => engine
            .open_incidents(100)
            .await?
            .into_iter()
            .filter(|inc| {
                inc.id.to_string().starts_with(&typed) || inc.title.to_lowercase().contains(&typed)
            })
            .take(25)
            .map(|inc| {
                let name = format!(
                    "#{} {} ({} {})",
                    inc.id, inc.title, inc.severity, inc.status
                );
                json!({"name": name.chars().take(100).collect::<String>(), "value": inc.id})
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(json!({"type": CHOICES, "data": {"choices": choices}}))
}

/// Who a Discord user is, for callers outside this module (the gateway).
pub async fn actor(
    engine: &Engine,
    user_id: &str,
    name: Option<&str>,
) -> Result<Actor, EngineError> {
    engine.people().resolve(DISCORD, user_id, name).await
}
