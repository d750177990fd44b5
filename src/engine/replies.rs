//! The text of command answers.

use crate::domain::{Incident, Role, TimelineEvent};

/// The answer to a declare.
pub fn declared(inc: &Incident) -> String {
    let service = inc
        .service
        .as_deref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default();
    format!(
        "Declared incident #{}: {} ({} {}{service}). War room: /incidents/{}",
        inc.id, inc.title, inc.severity, inc.kind, inc.id
    )
}

/// Who holds which role.
pub fn roles(inc: &Incident) -> String {
    let mut lines = vec![format!("Roles for incident #{}:", inc.id)];
    for role in Role::ALL {
        lines.push(format!(
            "• {role}: {}",
            inc.holder(role).unwrap_or("(unassigned)")
        ));
    }
    lines.join("\n")
}

/// A compact rendering of timeline events.
pub fn timeline(events: &[TimelineEvent]) -> String {
    if events.is_empty() {
        return "The timeline is empty.".into();
    }
    events
        .iter()
        .map(|e| {
            let text = e.text.as_deref().unwrap_or_default();
            let actor = e.actor.as_deref().unwrap_or("warroom");
            format!("{} [{}] {actor}: {text}", e.at.format("%H:%M:%S"), e.kind)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
