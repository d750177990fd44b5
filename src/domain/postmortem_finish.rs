//! Assembling the draft from what the builder gathered: impact, detection, figures, summary, questions.

use super::postmortem::{
    ActionInfo, AlertInfo, Detection, FORMAT_VERSION, Factor, Impact, IncidentRef, KeyEvent,
    Metrics, Moment, Participant, Postmortem, Question, RoleInfo, Settings, SeverityInfo, Span,
};
use super::postmortem_text::{clock, duration, local};
use super::{ActionItem, Catalog, Incident, IncidentType, Severity};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// What the builder gathered from the timeline.
pub(super) struct Parts {
    pub settings: Settings,
    pub incident: Incident,
    pub events_total: usize,
    pub key_events: Vec<KeyEvent>,
    pub omitted: usize,
    pub participants: Vec<Participant>,
    pub roles: Vec<RoleInfo>,
    pub alerts: Vec<AlertInfo>,
    pub factors: Vec<Factor>,
    pub impacts: Vec<String>,
    pub severities: Vec<Severity>,
    pub time_in_status: BTreeMap<String, i64>,
    pub gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub affected: BTreeSet<String>,
    pub declared_by: Option<String>,
    pub review: super::postmortem_review::Review,
}

fn span(d: Option<chrono::Duration>) -> Option<Span> {
    d.map(Span::of)
}

/// Builds the draft.
pub(super) fn finish(
    p: Parts,
    action_items: &[ActionItem],
    catalog: &Catalog,
    reason: &str,
    now: DateTime<Utc>,
) -> Postmortem {
    let tz = p.settings.time_zone;
    let moment = |at: DateTime<Utc>| Moment {
        at,
        local: local(at, tz),
    };
    let inc = &p.incident;

    let first_alert = p.alerts.iter().min_by_key(|a| a.fired.at).cloned();
    let first_signal = first_alert
        .as_ref()
        .map(|a| a.fired.at.min(inc.detected_at))
        .unwrap_or(inc.detected_at);
    let detection = Detection {
        method: if first_alert.is_some() {
            "alert"
        } else {
            "human"
        }
        .into(),
        source: first_alert
            .as_ref()
            .map(|a| a.source.clone())
            .or_else(|| p.declared_by.clone())
            .or_else(|| inc.declared_by.clone())
            .unwrap_or_else(|| "unknown".into()),
        first_alert: first_alert.clone(),
        detected: moment(inc.detected_at),
        declared: inc.declared_at.map(moment),
        time_to_declare: span(inc.declared_at.map(|d| d - first_signal)),
    };

    let mut dependents: BTreeSet<String> = BTreeSet::new();
    for s in &p.affected {
        dependents.extend(catalog.dependents(s));
    }
    dependents.retain(|d| !p.affected.contains(d));
    let impact = Impact {
        services: p.affected.iter().cloned().collect(),
        dependents: dependents.into_iter().collect(),
        user_facing: inc.severity != Severity::P3 || inc.kind == IncidentType::UserImpact,
        statement: inc.impact.clone().or_else(|| p.impacts.last().cloned()),
        statements: p.impacts.clone(),
        started: moment(first_signal),
        ended: inc.resolved_at.map(moment),
        duration: span(inc.resolved_at.map(|r| r - first_signal)),
    };

    let highest = p.severities.iter().min().copied().unwrap_or(inc.severity);
    let severity = SeverityInfo {
        current: inc.severity,
        initial: p.severities[0],
        highest,
        history: p.severities.clone(),
        meaning: format!("{} — {}", inc.severity, inc.severity.meaning()),
    };

    let metrics = Metrics {
        mtta: span(inc.mtta()),
        mttr: span(inc.mttr()),
        time_to_mitigate: span(inc.mitigated_at.map(|m| m - inc.detected_at)),
        time_in_status: p.time_in_status.clone(),
    };

    let mut factors = p.factors.clone();
    factors.sort_by(|a, b| {
        b.confirmed
            .cmp(&a.confirmed)
            .then(a.rank.unwrap_or(i64::MAX).cmp(&b.rank.unwrap_or(i64::MAX)))
    });
    let actions: Vec<ActionInfo> = action_items
        .iter()
        .map(|a| ActionInfo {
            id: a.id,
            text: a.text.clone(),
            owner: a.owner.clone(),
            status: a.status.clone(),
            due_at: a.due_at,
        })
        .collect();

    let mut timeline = p.key_events.clone();
    timeline.sort_by_key(|e| (e.at, e.id));
    let questions = questions(&p, &actions, &factors);
    let summary = summary(&p, &detection, &impact, &factors, tz);

    Postmortem {
        format_version: FORMAT_VERSION,
        generated: reason.to_string(),
        generated_at: moment(now),
        time_zone: tz.name().to_string(),
        incident: IncidentRef {
            id: inc.id,
            title: inc.title.clone(),
            status: inc.status,
            service: inc.service.clone(),
        },
        summary,
        impact,
        severity,
        kind: inc.kind.to_string(),
        detection,
        metrics,
        roles: p.roles.clone(),
        participants: p.participants.clone(),
        timeline,
        timeline_omitted: p.omitted,
        events_total: p.events_total,
        alerts: p.alerts,
        contributing_factors: factors,
        action_items: actions,
        questions,
        review: p.review.clone(),
    }
}

fn summary(
    p: &Parts,
    detection: &Detection,
    impact: &Impact,
    factors: &[Factor],
    tz: chrono_tz::Tz,
) -> String {
    let inc = &p.incident;
    let service = inc
        .service
        .as_deref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default();
    let mut s = format!("{} {}{service}: {}.", inc.severity, inc.kind, inc.title);
    match &detection.first_alert {
        Some(a) => s.push_str(&format!(
            " Detected at {} by alert {} ({})",
            clock(a.fired.at, tz),
            a.alertname,
            a.source
        )),
        None => s.push_str(&format!(
            " Declared at {} by {}",
            clock(inc.detected_at, tz),
            detection.source
        )),
    }
    match (&detection.time_to_declare, &detection.first_alert) {
        (Some(t), Some(_)) => s.push_str(&format!(", declared {} later.", t.text)),
        _ => s.push('.'),
    }
    match (&impact.duration, inc.resolved_at) {
        (Some(d), Some(r)) => s.push_str(&format!(
            " Resolved at {} after {} of impact.",
            clock(r, tz),
            d.text
        )),
        _ => s.push_str(&format!(" Not resolved yet (status {}).", inc.status)),
    }
    let confirmed: Vec<&Factor> = factors.iter().filter(|f| f.confirmed).collect();
    for f in &confirmed {
        let version = f
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        s.push_str(&format!(
            " Cause: {} {} of {}{version}",
            f.kind, f.change_id, f.service
        ));
        if f.rollback
            .iter()
            .any(|r| r == "executed" || r == "verified")
        {
            s.push_str(", rolled back");
        }
        s.push('.');
    }
    let suspects = factors.iter().filter(|f| !f.confirmed).count();
    if confirmed.is_empty() && suspects > 0 {
        s.push_str(&format!(
            " {suspects} suspect change(s) linked, none confirmed."
        ));
    }
    s
}

fn questions(p: &Parts, actions: &[ActionInfo], factors: &[Factor]) -> Vec<Question> {
    let tz = p.settings.time_zone;
    let mut out = Vec::new();
    let q = |kind: &str, text: String| Question {
        kind: kind.into(),
        text,
    };
    for (from, to) in &p.gaps {
        out.push(q(
            "silent_gap",
            format!(
                "Nothing was recorded for {} between {} and {}: what was happening, and did stakeholders know?",
                duration((*to - *from).num_seconds()),
                clock(*from, tz),
                clock(*to, tz)
            ),
        ));
    }
    if let Some(declared) = p.incident.declared_at {
        for a in &p.alerts {
            let lead = declared - a.fired.at;
            if lead > p.settings.early_alert {
                out.push(q(
                    "early_alert",
                    format!(
                        "Alert {} ({}) fired {} before the incident was declared: why was it not acted on sooner?",
                        a.alertname,
                        a.source,
                        duration(lead.num_seconds())
                    ),
                ));
            }
        }
    }
    for r in &p.roles {
        if r.holders.is_empty() {
            out.push(q(
                "role_unfilled",
                format!(
                    "The {} role was never filled: was it needed, and who covered it?",
                    r.role
                ),
            ));
        }
    }
    for f in factors.iter().filter(|f| !f.confirmed) {
        out.push(q(
            "unresolved_suspect",
            format!(
                "Suspect change {} ({} {}) was neither confirmed nor ruled out: did it contribute?",
                f.change_id, f.kind, f.service
            ),
        ));
    }
    for a in actions.iter().filter(|a| a.owner.is_none()) {
        out.push(q(
            "unowned_action",
            format!(
                "Action item #{} ({}) has no owner: who takes it?",
                a.id, a.text
            ),
        ));
    }
    out
}
