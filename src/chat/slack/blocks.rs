//! Block Kit rendering: the pinned incident summary (edited in place), the topic and the declare modal.

use super::escape::{mrkdwn, plain};
use crate::domain::{Incident, Role, Severity, Status};
use serde_json::{Value, json};

/// Action ids of the buttons and the modal warroom puts in Slack.
pub mod actions {
    /// Opens the declare modal.
    pub const DECLARE: &str = "warroom_declare";
    /// Acknowledges the incident.
    pub const ACKNOWLEDGE: &str = "warroom_ack";
    /// Resolves the incident.
    pub const RESOLVE: &str = "warroom_resolve";
    /// The declare modal's callback id.
    pub const DECLARE_VIEW: &str = "warroom_declare_view";
}

/// What the summary shows beyond the incident itself, already rendered as mrkdwn.
#[derive(Debug, Clone, Default)]
pub struct SummaryContext {
    /// Role → holder (`<@U…>` or an escaped name).
    pub roles: Vec<(Role, String)>,
    /// The owning team of the service.
    pub owner: Option<String>,
    /// The service's runbook URL.
    pub runbook: Option<String>,
    /// Alerts still firing (names).
    pub firing: Vec<String>,
    /// The web war room's URL.
    pub web_url: Option<String>,
}

fn field(label: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")})
}

/// The summary message: fallback text and blocks, with Acknowledge / Resolve buttons while open.
pub fn summary(inc: &Incident, ctx: &SummaryContext) -> (String, Value) {
    let title = format!("🚨 Incident #{}: {}", inc.id, plain(&inc.title, 140));
    let text = format!(
        "Incident #{} {} {} — {}",
        inc.id,
        inc.severity,
        inc.status,
        mrkdwn(&inc.title)
    );
    let none = "_none_".to_string();
    let service = inc.service.as_deref().map(mrkdwn).unwrap_or(none.clone());
    let owner = ctx.owner.as_deref().map(mrkdwn).unwrap_or(none.clone());
    let runbook = ctx
        .runbook
        .as_deref()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| format!("<{}|runbook>", mrkdwn(u)))
        .unwrap_or(none.clone());
    let impact = inc.impact.as_deref().map(mrkdwn).unwrap_or(none.clone());
    let firing = if ctx.firing.is_empty() {
        none.clone()
    } else {
        ctx.firing
            .iter()
            .map(|a| format!("• {}", mrkdwn(a)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let roles = ctx
        .roles
        .iter()
        .map(|(role, who)| format!("• {role}: {who}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title}}),
        json!({"type": "section", "fields": [
            field("Severity", inc.severity.as_str()),
            field("Status", inc.status.as_str()),
            field("Service", &service),
            field("Owner", &owner),
            field("Type", inc.kind.as_str()),
            field("Runbook", &runbook),
        ]}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Impact*\n{impact}")}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Firing alerts*\n{firing}")}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Roles*\n{roles}")}}),
    ];
    if let Some(url) = &ctx.web_url {
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("<{}|Timeline on the web>", mrkdwn(url))}]}));
    }
    if inc.status.is_open() {
        let id = inc.id.to_string();
        let mut buttons = Vec::new();
        if inc.status == Status::Detected || inc.status == Status::Declared {
            buttons.push(
                json!({"type": "button", "action_id": actions::ACKNOWLEDGE, "value": id,
                "text": {"type": "plain_text", "text": "Acknowledge"}}),
            );
        }
        buttons.push(json!({"type": "button", "action_id": actions::RESOLVE, "value": id, "style": "primary",
            "text": {"type": "plain_text", "text": "Resolve"},
            "confirm": {"title": {"type": "plain_text", "text": "Resolve the incident?"},
                "text": {"type": "plain_text", "text": "Marks it resolved and starts the postmortem."},
                "confirm": {"type": "plain_text", "text": "Resolve"},
                "deny": {"type": "plain_text", "text": "Cancel"}}}));
        blocks.push(
            json!({"type": "actions", "block_id": "warroom_summary_actions", "elements": buttons}),
        );
    }
    (text, Value::Array(blocks))
}

/// The channel topic: severity, status and commander.
pub fn topic(inc: &Incident, commander: Option<&str>) -> String {
    let commander = commander.unwrap_or("nobody yet");
    plain(
        &format!(
            "{} · {} · commander: {commander} · {}",
            inc.severity, inc.status, inc.title
        ),
        250,
    )
}

/// The declare modal (title, severity, service, type), opened by the Declare button or `/inc declare`.
pub fn declare_modal(channel: Option<&str>) -> Value {
    let options = |values: Vec<&str>| -> Value {
        values
            .into_iter()
            .map(|v| json!({"text": {"type": "plain_text", "text": v}, "value": v}))
            .collect()
    };
    let sev: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = vec!["outage", "degradation", "security", "user-impact"];
    json!({
        "type": "modal",
        "callback_id": actions::DECLARE_VIEW,
        "private_metadata": channel.unwrap_or_default(),
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
             "element": {"type": "plain_text_input", "action_id": "value", "max_length": 200}},
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": "Severity"},
             "element": {"type": "static_select", "action_id": "value", "options": options(sev),
                "initial_option": {"text": {"type": "plain_text", "text": "P2"}, "value": "P2"}}},
            {"type": "input", "block_id": "service", "optional": true,
             "label": {"type": "plain_text", "text": "Service"},
             "element": {"type": "plain_text_input", "action_id": "value"}},
            {"type": "input", "block_id": "type", "label": {"type": "plain_text", "text": "Type"},
             "element": {"type": "static_select", "action_id": "value", "options": options(kinds),
                "initial_option": {"text": {"type": "plain_text", "text": "outage"}, "value": "outage"}}}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IncidentType, NewIncident};
    use chrono::Utc;

    #[test]
    fn the_summary_escapes_user_text_and_offers_buttons_while_open() {
        let mut inc = Incident::open(
            NewIncident {
                title: "<!channel> db down".into(),
                severity: Severity::P1,
                kind: IncidentType::Outage,
                service: Some("db".into()),
                status: Status::Declared,
                declared_by: None,
                detected_at: Utc::now(),
            },
            Utc::now(),
        );
        inc.id = 4;
        inc.impact = Some("checkout @here fails".into());
        let (text, blocks) = summary(&inc, &SummaryContext::default());
        let all = blocks.to_string();
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(!all.contains("<!channel>"), "{all}");
        assert!(all.contains("@\u{200B}here"));
        assert!(all.contains(actions::RESOLVE) && all.contains(actions::ACKNOWLEDGE));
        assert!(topic(&inc, Some("alice")).starts_with("P1 · declared · commander: alice"));
    }
}
