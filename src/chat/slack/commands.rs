//! Slash commands (`/inc`, `/oncall`, `/change`) → the one grammar → an answer within Slack's 3 s.

use super::blocks;
use super::client::SlackClient;
use super::escape::mrkdwn;
use super::{SLACK, channel_name, users};
use crate::engine::{CommandContext, Engine, EngineError, Visibility};
use serde::Deserialize;
use serde_json::{Value, json};

/// The form fields of a slash-command request that warroom reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SlashCommand {
    /// `/inc`, `/oncall` or `/change`.
    pub command: String,
    /// What followed the command.
    #[serde(default)]
    pub text: String,
    /// Who typed it.
    pub user_id: String,
    /// Their handle.
    #[serde(default)]
    pub user_name: String,
    /// Where it was typed.
    #[serde(default)]
    pub channel_id: String,
    /// Lets warroom open a modal within 3 s.
    #[serde(default)]
    pub trigger_id: Option<String>,
}

/// Reads a slash-command request body (`application/x-www-form-urlencoded`).
pub fn parse_form(body: &[u8]) -> Result<SlashCommand, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(body)
}

/// An answer only the typist sees.
pub fn ephemeral(text: &str) -> Value {
    json!({"response_type": "ephemeral", "text": mrkdwn(text)})
}

/// Runs a slash command; the JSON is Slack's inline response (ephemeral or in-channel).
///
/// `/inc declare` with no title opens the declare modal: `views.open` needs the `trigger_id`
/// within 3 s, so it is the one Web API call made inline (the platform's own request/response).
pub async fn handle(
    engine: &Engine,
    client: Option<&SlackClient>,
    cmd: SlashCommand,
) -> Result<Value, EngineError> {
    let now = engine.now();
    // The actor is the Slack user id resolved through the directory, never the `user_name` field.
    let actor = users::actor(engine, &cmd.user_id, Some(&cmd.user_name), now).await?;
    let args = cmd.text.trim();
    if args.eq_ignore_ascii_case("declare")
        && cmd.command == "/inc"
        && let (Some(client), Some(trigger)) = (client, cmd.trigger_id.as_deref())
    {
        let view = blocks::declare_modal(Some(&cmd.channel_id));
        return Ok(
            match client
                .call("views.open", json!({"trigger_id": trigger, "view": view}))
                .await
            {
                Ok(_) => {
                    json!({"response_type": "ephemeral", "text": "Opening the declare form…"})
                }
                Err(e) => {
                    tracing::warn!(error = %e, "views.open failed");
                    ephemeral(&format!(
                        "Could not open the declare form ({e}). Usage: {}",
                        crate::domain::command::usage("inc declare").unwrap_or_default()
                    ))
                }
            },
        );
    }
    let text = users::normalize_mentions(
        engine,
        &format!("{} {args}", cmd.command),
        users::Unknown::Id,
        now,
    )
    .await?;
    let incident_id = engine.incident_of_room(SLACK, &cmd.channel_id).await?;
    if incident_id.is_none() {
        // Inside a room the command's timeline event records a guest; outside one, this does.
        engine.people().seen(&actor).await?;
    }
    let ctx = CommandContext { actor, incident_id };
    let reply = engine.run_command(&text, &ctx).await?;
    let mut answer = reply.text.clone();
    if let (None, Some(id), true) = (incident_id, reply.incident_id, reply.ok)
        && let Ok(inc) = engine.incident(id).await
    {
        let name = channel_name(&engine.config().slack.channel_prefix, id, &inc.title);
        answer.push_str(&format!("\nSlack channel: #{name} (opening now)"));
    }
    let response_type = match reply.visibility {
        Visibility::Ephemeral => "ephemeral",
        Visibility::InChannel => "in_channel",
    };
    let mut body = json!({"response_type": response_type, "text": mrkdwn(&answer)});
    let asked_for_help = cmd.command == "/inc" && (args.is_empty() || args.starts_with("help"));
    if incident_id.is_none() && asked_for_help {
        // Outside a war room, help comes with a Declare button (opens the declare form).
        body["blocks"] = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(&answer)}},
            {"type": "actions", "elements": [{"type": "button", "action_id": blocks::actions::DECLARE,
                "style": "danger", "text": {"type": "plain_text", "text": "Declare an incident"}}]}
        ]);
    }
    Ok(body)
}
