//! The sentences and formats of the postmortem draft: durations, local times, timeline lines.

use super::EventKind;
use super::postmortem::{AlertInfo, Factor};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// `45s`, `4m 10s`, `1h 05m`, `2d 03h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 if s % 60 == 0 => format!("{}m", s / 60),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in `tz`.
pub fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `HH:MM` in `tz`, for sentences.
pub fn clock(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// A timeline line for an alert firing or resolving.
pub fn alert_line(a: &AlertInfo, firing: bool, inhibited: bool) -> String {
    let service = a
        .service
        .as_deref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default();
    if firing {
        let sev = a
            .severity
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        let summary = a
            .summary
            .as_deref()
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        let inhibited = if inhibited { " (inhibited)" } else { "" };
        format!(
            "Alert {}{service} fired{sev} ({}){summary}{inhibited}",
            a.alertname, a.source
        )
    } else {
        format!("Alert {}{service} resolved ({})", a.alertname, a.source)
    }
}

/// A timeline line for a change linked as a suspect or confirmed as the cause.
pub fn change_line(f: &Factor, confirmed: bool) -> String {
    let version = f
        .version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let what = format!(
        "{} {} on {}{version} ({}): {}",
        f.kind,
        f.change_id,
        f.service,
        f.author.as_deref().unwrap_or("unknown author"),
        f.summary
    );
    if confirmed {
        format!("Change confirmed as the cause: {what}")
    } else {
        let score = f
            .score
            .map(|s| format!(", score {s:.2}"))
            .unwrap_or_default();
        let rank = f.rank.map(|r| format!("#{r} ")).unwrap_or_default();
        format!("Suspect change {rank}linked: {what}{score}")
    }
}

/// A timeline line for a rollback phase.
pub fn rollback_line(change_id: &str, phase: &str, rollback_id: Option<String>) -> String {
    let by = rollback_id
        .map(|r| format!(" (as {r})"))
        .unwrap_or_default();
    match phase {
        "requested" => format!("Rollback of {change_id} requested"),
        "executed" => format!("Rollback of {change_id} executed{by}"),
        "failed" => format!("Rollback of {change_id} failed{by}"),
        "verified" => format!("Rollback of {change_id} verified: the alerts cleared{by}"),
        "not_verified" => format!("Rollback of {change_id} did not clear the alerts{by}"),
        other => format!("Rollback of {change_id}: {other}{by}"),
    }
}

/// A timeline line for a page.
pub fn page_line(kind: EventKind, data: &Value, text: &str) -> String {
    let target = data
        .get("user")
        .and_then(Value::as_str)
        .or_else(|| data.get("target").and_then(Value::as_str))
        .unwrap_or("someone");
    let level = data
        .get("level")
        .and_then(Value::as_i64)
        .map(|l| format!(" (level {l})"))
        .unwrap_or_default();
    if data.get("reason").and_then(Value::as_str) == Some("nobody_reached") {
        let n = data
            .get("level")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        return format!("Level {n} reached nobody ({target})");
    }
    if let Some(status) = data
        .get("reason")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("incident_"))
    {
        return format!("Page to {target} stopped: the incident was {status}{level}");
    }
    match kind {
        EventKind::PageSent => format!("Paged {target}{level}"),
        EventKind::PageAcknowledged => format!("{target} acknowledged the page{level}"),
        EventKind::PageEscalated => format!("Page to {target} escalated{level}"),
        EventKind::PageExhausted => {
            format!("Page to {target} went unanswered: escalation exhausted{level}")
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(240), "4m");
        assert_eq!(duration(250), "4m 10s");
        assert_eq!(duration(3900), "1h 05m");
        assert_eq!(duration(93600), "1d 02h");
    }

    #[test]
    fn local_times_follow_the_zone() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        assert_eq!(local(t, Tz::Europe__Berlin), "2026-11-01 13:00:00");
        assert_eq!(clock(t, Tz::America__New_York), "07:00");
    }
}
