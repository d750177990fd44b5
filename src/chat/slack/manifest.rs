//! `warroom slack manifest`: a Slack app manifest for the configured public URL.

use serde_json::{Value, json};

/// Bot scopes warroom needs, one per Web API method family it calls or event it receives.
pub const BOT_SCOPES: [&str; 18] = [
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:write",
    "metadata.message:read",
    "pins:write",
    "reactions:read",
    "users:read",
    "users:read.email",
    "files:read",
    "team:read",
];

/// The manifest (JSON, which Slack's "create from manifest" accepts) for `public_url`.
pub fn manifest(public_url: &str) -> Result<Value, String> {
    let base = public_url.trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) || base.len() < 10 {
        return Err(format!(
            "server.public_url `{public_url}` is not an http(s) URL Slack can reach"
        ));
    }
    let command = |name: &str, description: &str, hint: &str| {
        json!({"command": name, "url": format!("{base}/slack/commands"), "description": description,
            "usage_hint": hint, "should_escape": true})
    };
    Ok(json!({
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "warroom",
            "description": "Incident war rooms, alerts and changes in one place",
            "background_color": "#8b0000"
        },
        "features": {
            "bot_user": {"display_name": "warroom", "always_online": true},
            "slash_commands": [
                command("/inc", "Declare and run incidents", "declare [P0-P3] [service:NAME] <title> | sev | status | role | update | note | help"),
                command("/oncall", "Who is on call", "[schedule] | override @user <duration>"),
                command("/change", "Change gates and freezes", "gate <service> | freeze <service|all> <duration> <reason> | approve <id>")
            ]
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "event_subscriptions": {
                "request_url": format!("{base}/slack/events"),
                "bot_events": ["message.channels", "message.groups", "reaction_added"],
                "metadata_subscriptions": []
            },
            "interactivity": {"is_enabled": true, "request_url": format!("{base}/slack/interactions")},
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_points_every_url_at_the_public_url() {
        let m = manifest("https://warroom.example.com/").unwrap();
        assert_eq!(
            m["settings"]["event_subscriptions"]["request_url"],
            "https://warroom.example.com/slack/events"
        );
        assert_eq!(
            m["settings"]["interactivity"]["request_url"],
            "https://warroom.example.com/slack/interactions"
        );
        assert_eq!(m["features"]["slash_commands"][0]["command"], "/inc");
        assert!(manifest("warroom.local").is_err());
    }
}
