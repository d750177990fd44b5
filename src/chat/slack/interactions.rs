//! Interactivity: the Acknowledge / Resolve / Declare buttons and the declare modal's submission.

use super::blocks::{self, actions};
use super::client::SlackClient;
use super::{SLACK, users};
use crate::domain::{IncidentType, Severity, Status};
use crate::engine::{Declare, Engine, EngineError};
use serde_json::{Value, json};

/// Tells the clicker privately why their click did nothing (through the outbox).
async fn tell(
    engine: &Engine,
    incident: Option<i64>,
    channel: &str,
    user: &str,
    text: &str,
) -> Result<(), EngineError> {
    if channel.is_empty() || user.is_empty() {
        return Ok(());
    }
    engine
        .tell_privately(SLACK, incident, channel, user, text)
        .await
}

fn input<'a>(values: &'a Value, block: &str) -> Option<&'a str> {
    let v = &values[block]["value"];
    v["value"]
        .as_str()
        .or(v["selected_option"]["value"].as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The `payload=` form field of an interaction request.
#[derive(serde::Deserialize)]
struct InteractionForm {
    payload: String,
}

/// Reads an interaction request body: the form's `payload` field, as JSON; the error says which.
pub fn parse_form(body: &[u8]) -> Result<Value, String> {
    let form: InteractionForm =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("interaction form: {e}"))?;
    serde_json::from_str(&form.payload).map_err(|e| format!("payload is not JSON: {e}"))
}

/// Handles one interaction payload; the JSON (if any) is the HTTP response body Slack expects.
///
/// The Declare button opens the modal with `views.open` inline: the `trigger_id` expires after
/// 3 s, so this is the platform's own request/response, the one allowed exception to the outbox.
pub async fn handle(
    engine: &Engine,
    client: Option<&SlackClient>,
    payload: &Value,
) -> Result<Option<Value>, EngineError> {
    let user_id = payload["user"]["id"].as_str().unwrap_or_default();
    let handle = payload["user"]["username"]
        .as_str()
        .or(payload["user"]["name"].as_str());
    let actor = users::actor(engine, user_id, handle, engine.now()).await?;
    engine.people().seen(&actor).await?;
    match payload["type"].as_str() {
        Some("block_actions") => {
            let action = &payload["actions"][0];
            let channel = payload["channel"]["id"].as_str().unwrap_or_default();
            let mut id: Option<i64> = action["value"].as_str().and_then(|v| v.parse().ok());
            let page_ack = action["action_id"]
                .as_str()
                .and_then(|a| a.strip_prefix(super::PAGE_ACK))
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|rest| rest.split_once(':'))
                .and_then(|(_page, incident)| incident.parse::<i64>().ok());
            if page_ack.is_some() {
                id = page_ack;
            }
            let result = match (action["action_id"].as_str(), id) {
                // A page's Acknowledge button (`page_ack:<page>:<incident>`): `/inc ack` as the presser.
                (Some(_), Some(id)) if page_ack.is_some() => engine.acknowledge(id, &actor).await,
                (Some(actions::DECLARE), _) => {
                    let trigger = payload["trigger_id"].as_str().unwrap_or_default();
                    if let Some(client) = client {
                        let view = blocks::declare_modal(Some(channel));
                        if let Err(e) = client
                            .call("views.open", json!({"trigger_id": trigger, "view": view}))
                            .await
                        {
                            tracing::warn!(error = %e, "views.open failed");
                        }
                    }
                    return Ok(None);
                }
                (Some(actions::ACKNOWLEDGE), Some(id)) => engine.acknowledge(id, &actor).await,
                (Some(actions::RESOLVE), Some(id)) => {
                    engine.set_status(id, Status::Resolved, &actor).await
                }
                _ => return Ok(None),
            };
            match result {
                Ok(_) => Ok(None),
                Err(EngineError::Store(e)) => Err(EngineError::Store(e)),
                Err(e) => {
                    tell(engine, id, channel, user_id, &format!("⚠️ {e}")).await?;
                    Ok(None)
                }
            }
        }
        Some("view_submission")
            if payload["view"]["callback_id"].as_str() == Some(actions::DECLARE_VIEW) =>
        {
            let values = &payload["view"]["state"]["values"];
            let title = input(values, "title").unwrap_or_default().to_string();
            let severity = match input(values, "severity")
                .unwrap_or("P2")
                .parse::<Severity>()
            {
                Ok(s) => s,
                Err(e) => return Ok(Some(field_error("severity", &e.to_string()))),
            };
            let kind = match input(values, "type")
                .unwrap_or("outage")
                .parse::<IncidentType>()
            {
                Ok(k) => k,
                Err(e) => return Ok(Some(field_error("type", &e.to_string()))),
            };
            let req = Declare {
                title,
                severity,
                kind,
                service: input(values, "service").map(str::to_string),
            };
            match engine.declare(req, &actor).await {
                Ok(_) => Ok(None),
                Err(EngineError::Invalid { message, .. }) => {
                    Ok(Some(field_error("title", &message)))
                }
                // Refused by the policy (a P0/P1 needs the commander or an admin): said on the form.
                Err(EngineError::Forbidden { reason, .. }) => {
                    Ok(Some(field_error("severity", &reason)))
                }
                Err(e) => Err(e),
            }
        }
        _ => Ok(None),
    }
}

fn field_error(block: &str, message: &str) -> Value {
    json!({"response_action": "errors", "errors": {block: message}})
}
