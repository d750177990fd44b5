//! Argo CD notifications (`POST /hooks/argocd`): a webhook template that sends the application's
//! operation state (see README, "Argo CD"). Go templates print `<no value>` for missing fields; that
//! counts as absent. `phase`: `Running` → executing, `Succeeded` → done, `Failed`/`Error` → failed.
//! Bodies made from Argo CD's catalog templates are read too (see `argocd_catalog`).

use super::changes::{FieldError, bad, json, opt_str, opt_time, req_str};
use crate::domain::change::{ChangeKind, ChangeStatus, Link, NewChange};
use serde_json::Value;

/// What a notification means for warroom.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// A sync to record or move on.
    Change(Box<NewChange>),
    /// A phase warroom does not act on (`Terminating`).
    Ignored(String),
}

/// Replaces Go's `<no value>` by null, everywhere.
fn clean(v: &mut Value) {
    match v {
        Value::String(s) if s == "<no value>" => *v = Value::Null,
        Value::Object(o) => o.values_mut().for_each(clean),
        Value::Array(a) => a.iter_mut().for_each(clean),
        _ => {}
    }
}

/// Parses a notification body.
pub fn parse(body: &[u8]) -> Result<Notification, FieldError> {
    let mut v = json(body)?;
    clean(&mut v);
    // A body made from Argo CD's own catalog or docs templates, read into warroom's shape.
    let catalog = super::argocd_catalog::normalise(&v);
    let from_catalog = catalog.is_some();
    if let Some(n) = catalog {
        v = n;
        clean(&mut v);
    }
    let app = req_str(&v, "app")?;
    let phase = match opt_str(&v, "phase")? {
        Some(p) => p,
        None => match opt_str(&v, "event")?.as_deref() {
            Some("on-sync-running") => "Running".into(),
            Some("on-sync-succeeded") => "Succeeded".into(),
            Some("on-sync-failed") => "Failed".into(),
            _ => {
                return Err(bad(
                    "phase",
                    "is required (Running, Succeeded, Failed or Error)",
                ));
            }
        },
    };
    let status = match phase.as_str() {
        "Running" => ChangeStatus::Executing,
        "Succeeded" => ChangeStatus::Done,
        "Failed" | "Error" => ChangeStatus::Failed,
        "Terminating" => return Ok(Notification::Ignored(format!("phase `{phase}`"))),
        other => return Err(bad("phase", format!("unknown phase `{other}`"))),
    };
    let revision = opt_str(&v, "revision")?;
    let started = opt_time(&v, "started_at")?;
    let finished = opt_time(&v, "finished_at")?.filter(|_| status != ChangeStatus::Executing);
    let key = match (&started, &revision) {
        (Some(t), _) => Some(t.to_rfc3339()),
        (None, Some(r)) => Some(r.clone()),
        // A catalog body may carry neither: each notification is then a change of its own.
        (None, None) if from_catalog => None,
        (None, None) => return Err(bad("started_at", "is required when revision is absent")),
    };
    let short = revision
        .as_deref()
        .map(|r| r.chars().take(12).collect::<String>());
    let summary = match opt_str(&v, "message")? {
        Some(m) => format!("Argo CD sync of {app}: {m}"),
        None => format!(
            "Argo CD sync of {app} to {}",
            short.clone().unwrap_or_else(|| "?".into())
        ),
    };
    let mut links = Vec::new();
    if let Some(u) = opt_str(&v, "url")?.filter(|u| u.starts_with("http")) {
        links.push(Link {
            href: u,
            text: Some("Argo CD application".into()),
        });
    }
    if let Some(u) = opt_str(&v, "repo")?.filter(|u| u.starts_with("http")) {
        links.push(Link {
            href: u,
            text: Some("repository".into()),
        });
    }
    Ok(Notification::Change(Box::new(NewChange {
        source: "argocd".into(),
        external_id: key.map(|k| format!("{app}:{k}")),
        kind: Some(ChangeKind::Deploy),
        services: vec![opt_str(&v, "service")?.unwrap_or_else(|| app.clone())],
        environment: opt_str(&v, "environment")?.or(opt_str(&v, "destination")?),
        summary,
        author: opt_str(&v, "initiated_by")?,
        version: short,
        links,
        status: Some(status),
        started_at: started,
        ended_at: finished,
        ..NewChange::default()
    })))
}
