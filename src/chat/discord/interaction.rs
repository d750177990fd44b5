//! The interaction objects Discord sends to the endpoint (PING, application commands with
//! subcommand groups, autocomplete, components, modal submits), read leniently: unknown fields are
//! ignored and every field warroom does not need may be absent.

use serde::Deserialize;
use serde_json::Value;

/// `PING`: Discord checks the endpoint.
pub const PING: u8 = 1;
/// `APPLICATION_COMMAND`: a slash command.
pub const APPLICATION_COMMAND: u8 = 2;
/// `MESSAGE_COMPONENT`: a button or select.
pub const MESSAGE_COMPONENT: u8 = 3;
/// `APPLICATION_COMMAND_AUTOCOMPLETE`: an option being typed.
pub const AUTOCOMPLETE: u8 = 4;
/// `MODAL_SUBMIT`: a submitted modal.
pub const MODAL_SUBMIT: u8 = 5;

/// Option type `SUB_COMMAND`.
pub const SUB_COMMAND: u8 = 1;
/// Option type `SUB_COMMAND_GROUP`.
pub const SUB_COMMAND_GROUP: u8 = 2;
/// Option type `STRING`.
pub const STRING: u8 = 3;
/// Option type `INTEGER`.
pub const INTEGER: u8 = 4;
/// Option type `USER`.
pub const USER: u8 = 6;

/// A Discord user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    /// The snowflake.
    pub id: String,
    /// The unique username.
    pub username: Option<String>,
    /// The display name.
    pub global_name: Option<String>,
}

/// A guild member (an interaction in a guild carries the user inside it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Member {
    /// The user.
    pub user: Option<User>,
    /// The guild nickname.
    pub nick: Option<String>,
}

/// One application-command option, possibly nesting subcommands.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CommandOption {
    /// Its name.
    pub name: String,
    /// Its type (`SUB_COMMAND`, `STRING`, `USER` …).
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its value (string, integer, number, boolean, or a snowflake for users).
    pub value: Option<Value>,
    /// Nested options of a subcommand (group).
    pub options: Vec<CommandOption>,
    /// Whether the user is typing it (autocomplete).
    pub focused: bool,
}

impl CommandOption {
    /// The value as text (numbers and booleans written out).
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// The `data` of an interaction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InteractionData {
    /// The command's name (application commands, autocomplete).
    pub name: Option<String>,
    /// The options typed.
    pub options: Vec<CommandOption>,
    /// The component's or modal's custom id.
    pub custom_id: Option<String>,
    /// The component type (2 = button, 3 = string select …).
    pub component_type: Option<u8>,
    /// Values chosen in a select.
    pub values: Vec<String>,
    /// The rows of a submitted modal.
    pub components: Vec<Value>,
}

/// An interaction as the endpoint receives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Interaction {
    /// Its id (the natural key).
    pub id: String,
    /// Its type (`PING` …).
    #[serde(rename = "type")]
    pub kind: u8,
    /// The token for the response and follow-ups (valid 15 minutes).
    pub token: String,
    /// The application.
    pub application_id: Option<String>,
    /// The guild, if in one.
    pub guild_id: Option<String>,
    /// The channel it happened in.
    pub channel_id: Option<String>,
    /// The member (in a guild).
    pub member: Option<Member>,
    /// The user (in a DM).
    pub user: Option<User>,
    /// The command, component or modal data.
    pub data: Option<InteractionData>,
    /// The message a component is attached to.
    pub message: Option<Value>,
}

impl Interaction {
    /// Parses an interaction body.
    pub fn parse(body: &[u8]) -> Result<Interaction, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Who acted: the member's user in a guild, the user in a DM.
    pub fn who(&self) -> Option<&User> {
        self.member
            .as_ref()
            .and_then(|m| m.user.as_ref())
            .or(self.user.as_ref())
    }

    /// The name to show for who acted: nickname, display name, username.
    pub fn display_name(&self) -> Option<String> {
        let nick = self.member.as_ref().and_then(|m| m.nick.clone());
        let user = self.who();
        nick.or_else(|| user.and_then(|u| u.global_name.clone()))
            .or_else(|| user.and_then(|u| u.username.clone()))
    }

    /// The data, empty when absent.
    pub fn data(&self) -> InteractionData {
        self.data.clone().unwrap_or_default()
    }
}

/// The text inputs of a submitted modal: custom id → value.
pub fn modal_values(components: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for row in components {
        let inputs = row["components"].as_array().cloned().unwrap_or_default();
        for input in std::iter::once(row.clone()).chain(inputs) {
            if let (Some(id), Some(v)) = (input["custom_id"].as_str(), input["value"].as_str()) {
                out.push((id.to_string(), v.to_string()));
            }
        }
    }
    out
}
