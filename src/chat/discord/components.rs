//! Buttons and the declare modal, with the custom ids the interactions endpoint reads back.

use serde_json::{Value, json};

/// Button style: primary (blurple).
const PRIMARY: u8 = 1;
/// Button style: secondary (grey).
const SECONDARY: u8 = 2;
/// Button style: success (green).
const SUCCESS: u8 = 3;
/// Button style: danger (red).
const DANGER: u8 = 4;
/// Button style: link.
const LINK: u8 = 5;

/// The declare modal's custom id (also the "Declare an incident" button's).
pub const DECLARE: &str = "declare";

/// What a pressed button asks for, read from its custom id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pressed {
    /// `ack:<incident>`.
    Acknowledge(i64),
    /// `resolve:<incident>`.
    Resolve(i64),
    /// `rollback:<incident>:<change>`.
    Rollback(i64, String),
    /// `confirm:<incident>:<change>`.
    ConfirmCause(i64, String),
    /// `page_ack:<page>:<incident>` (the contract's page button).
    PageAck(String, i64),
    /// `declare`: open the declare form.
    Declare,
}

impl Pressed {
    /// Reads a custom id.
    pub fn parse(custom_id: &str) -> Option<Pressed> {
        let parts: Vec<&str> = custom_id.split(':').collect();
        let id = |s: &str| s.parse::<i64>().ok();
        Some(match parts.as_slice() {
            ["ack", i] => Pressed::Acknowledge(id(i)?),
            ["resolve", i] => Pressed::Resolve(id(i)?),
            ["rollback", i, c] => Pressed::Rollback(id(i)?, c.to_string()),
            ["confirm", i, c] => Pressed::ConfirmCause(id(i)?, c.to_string()),
            ["page_ack", p, i] => Pressed::PageAck(p.to_string(), id(i)?),
            [DECLARE] => Pressed::Declare,
            _ => return None,
        })
    }

    /// The incident it acts on and the command line it runs, in the one grammar.
    pub fn command(&self) -> Option<(i64, String)> {
        Some(match self {
            Pressed::Acknowledge(i) | Pressed::PageAck(_, i) => (*i, "/inc ack".into()),
            Pressed::Resolve(i) => (*i, "/inc resolve".into()),
            Pressed::Rollback(i, c) => (*i, format!("/inc rollback {c}")),
            Pressed::ConfirmCause(i, c) => (*i, format!("/inc changes confirm {c}")),
            Pressed::Declare => return None,
        })
    }
}

fn button(style: u8, label: &str, custom_id: &str) -> Value {
    json!({"type": 2, "style": style, "label": label, "custom_id": custom_id})
}

/// The summary message's buttons: Acknowledge and Resolve.
pub fn summary_buttons(incident: i64) -> Value {
    json!([{"type": 1, "components": [
        button(PRIMARY, "Acknowledge", &format!("ack:{incident}")),
        button(SUCCESS, "Resolve", &format!("resolve:{incident}")),
    ]}])
}

/// A Confirm-cause and a Roll-back button for each suspect change (at most five rows).
pub fn change_buttons(incident: i64, changes: &[(String, String)]) -> Value {
    let rows: Vec<Value> = changes
        .iter()
        .take(5)
        .map(|(id, label)| {
            let short: String = label.chars().take(60).collect();
            json!({"type": 1, "components": [
                button(SECONDARY, &format!("Confirm cause: {short}"), &format!("confirm:{incident}:{id}")),
                button(DANGER, "Roll back", &format!("rollback:{incident}:{id}")),
            ]})
        })
        .collect();
    Value::Array(rows)
}

/// A page DM's buttons: Acknowledge (`page_ack:<page>:<incident>`) and a link to the war room.
pub fn page_buttons(page: &str, incident: i64, url: Option<&str>) -> Value {
    let mut row = vec![button(
        DANGER,
        "Acknowledge",
        &format!("page_ack:{page}:{incident}"),
    )];
    if let Some(url) = url.filter(|u| u.starts_with("http")) {
        row.push(json!({"type": 2, "style": LINK, "label": "Open war room", "url": url}));
    }
    json!([{"type": 1, "components": row}])
}

/// The "Declare an incident" button (under help outside a war room).
pub fn declare_button() -> Value {
    json!([{"type": 1, "components": [button(DANGER, "Declare an incident", DECLARE)]}])
}

fn text_input(id: &str, label: &str, style: u8, required: bool, placeholder: &str) -> Value {
    json!({"type": 1, "components": [{"type": 4, "custom_id": id, "label": label, "style": style,
        "required": required, "max_length": if id == "title" { 200 } else { 100 },
        "placeholder": placeholder}]})
}

/// The declare modal (interaction response type 9's data).
pub fn declare_modal() -> Value {
    json!({"custom_id": DECLARE, "title": "Declare an incident", "components": [
        text_input("title", "Title", 1, true, "Checkout returns 500s"),
        text_input("severity", "Severity (P0–P3)", 1, false, "P2"),
        text_input("service", "Service", 1, false, "checkout"),
        text_input("type", "Type (outage, degradation, security, user-impact)", 1, false, "outage"),
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_to_commands() {
        assert_eq!(
            Pressed::parse("ack:7").unwrap().command(),
            Some((7, "/inc ack".into()))
        );
        assert_eq!(
            Pressed::parse("page_ack:p-3:7"),
            Some(Pressed::PageAck("p-3".into(), 7))
        );
        assert_eq!(
            Pressed::parse("confirm:7:12").unwrap().command(),
            Some((7, "/inc changes confirm 12".into()))
        );
        assert_eq!(Pressed::parse("declare"), Some(Pressed::Declare));
        assert_eq!(Pressed::parse("click_one"), None);
        assert_eq!(Pressed::parse("ack:x"), None);
        let b = page_buttons("p", 1, Some("https://w/incidents/1"));
        assert_eq!(b[0]["components"][1]["url"], "https://w/incidents/1");
    }
}
