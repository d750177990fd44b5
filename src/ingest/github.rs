//! GitHub `deployment` and `deployment_status` webhooks (`POST /hooks/github`), signed with
//! `X-Hub-Signature-256` (HMAC-SHA256 of the body with `ingest.github.secret`).
//!
//! The service is `deployment.payload.service` when the workflow set it, else the repository's name.
//! A deployment enters at `executing`; its statuses move it: `queued|pending|in_progress` → executing,
//! `success` → done, `failure|error` → failed (`inactive` is ignored). The change's version is the deployed
//! commit sha (the ref is in the summary); its links are the commit, the repository's deployments and the
//! status's target, log and environment URLs.

use super::changes::{FieldError, bad, json, opt_str, opt_time, req_str};
use crate::domain::change::{ChangeKind, ChangeStatus, Link, NewChange};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with `secret` (constant time).
pub fn signature_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// What a GitHub delivery means for warroom.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// A change to record or move on.
    Change(Box<NewChange>),
    /// `ping` or an event/state warroom does not act on.
    Ignored(String),
}

/// Parses a delivery of event `event` (the `X-GitHub-Event` header).
pub fn parse(event: &str, body: &[u8]) -> Result<Delivery, FieldError> {
    let v = json(body)?;
    let status = match event {
        "deployment" => ChangeStatus::Executing,
        "deployment_status" => {
            let state = req_str(&v, "deployment_status.state")?;
            match state.as_str() {
                "queued" | "pending" | "in_progress" => ChangeStatus::Executing,
                "success" => ChangeStatus::Done,
                "failure" | "error" => ChangeStatus::Failed,
                "inactive" => return Ok(Delivery::Ignored(format!("deployment state `{state}`"))),
                other => {
                    return Err(bad(
                        "deployment_status.state",
                        format!("unknown state `{other}`"),
                    ));
                }
            }
        }
        "ping" => return Ok(Delivery::Ignored("ping".into())),
        other => return Ok(Delivery::Ignored(format!("event `{other}`"))),
    };
    let id = v
        .pointer("/deployment/id")
        .and_then(|i| i.as_i64())
        .ok_or_else(|| bad("deployment.id", "is required"))?;
    let repo = req_str(&v, "repository.full_name")?;
    let service = match opt_str(&v, "deployment.payload.service")? {
        Some(s) => s,
        None => req_str(&v, "repository.name")?,
    };
    let environment =
        opt_str(&v, "deployment_status.environment")?.or(opt_str(&v, "deployment.environment")?);
    let git_ref = opt_str(&v, "deployment.ref")?;
    let sha = opt_str(&v, "deployment.sha")?;
    let short = sha
        .as_deref()
        .map(|s| s.chars().take(7).collect::<String>());
    let summary = opt_str(&v, "deployment.description")?.unwrap_or_else(|| {
        let what = match (&git_ref, &short) {
            (Some(r), Some(s)) if !sha.as_deref().is_some_and(|f| f.starts_with(r.as_str())) => {
                format!("{r} ({s})")
            }
            (_, Some(s)) => s.clone(),
            (Some(r), None) => r.clone(),
            (None, None) => "?".into(),
        };
        let env = environment
            .clone()
            .unwrap_or_else(|| "an environment".into());
        format!("Deploy {repo}@{what} to {env}")
    });
    let kind = match opt_str(&v, "deployment.task")?.as_deref() {
        Some(t) if t.contains("migrat") => ChangeKind::Schema,
        _ => ChangeKind::Deploy,
    };
    let mut links = Vec::new();
    let html = opt_str(&v, "repository.html_url")?;
    if let (Some(u), Some(sha)) = (&html, &sha) {
        links.push(Link {
            href: format!("{u}/commit/{sha}"),
            text: Some(format!("commit {}", short.as_deref().unwrap_or(sha))),
        });
    }
    if let Some(u) = &html {
        links.push(Link {
            href: format!("{u}/deployments"),
            text: Some(format!("GitHub deployments of {repo}")),
        });
    }
    for (field, text) in [
        ("deployment_status.target_url", "deployment status"),
        ("deployment_status.log_url", "deployment log"),
        ("deployment_status.environment_url", "environment"),
    ] {
        if let Some(u) = opt_str(&v, field)?.filter(|u| u.starts_with("http"))
            && !links.iter().any(|l| l.href == u)
        {
            links.push(Link {
                href: u,
                text: Some(text.into()),
            });
        }
    }
    let ended = if matches!(status, ChangeStatus::Done | ChangeStatus::Failed) {
        opt_time(&v, "deployment_status.created_at")?
    } else {
        None
    };
    Ok(Delivery::Change(Box::new(NewChange {
        source: "github".into(),
        external_id: Some(format!("{repo}/deployments/{id}")),
        kind: Some(kind),
        services: vec![service],
        environment,
        summary,
        author: opt_str(&v, "deployment.creator.login")?.or(opt_str(&v, "sender.login")?),
        // The deployed commit: what a responder looks for; the ref is in the summary.
        version: sha.or(git_ref),
        links,
        status: Some(status),
        started_at: opt_time(&v, "deployment.created_at")?,
        ended_at: ended,
        // A deployment made by a workflow carries the run's head commit; a deployment's own payload may say.
        committed_at: opt_time(&v, "workflow_run.head_commit.timestamp")?
            .or(opt_time(&v, "deployment.payload.committed_at")?),
        ..NewChange::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_deployment_carries_its_commit_time() {
        let body =
            br#"{"deployment": {"id": 7, "sha": "abc1234", "created_at": "2026-11-20T14:00:00Z"},
            "repository": {"full_name": "acme/shop", "name": "shop"},
            "workflow_run": {"head_commit": {"timestamp": "2026-11-20T13:30:00Z"}}}"#;
        let Delivery::Change(c) = parse("deployment", body).unwrap() else {
            panic!("a change")
        };
        assert_eq!(
            c.committed_at.unwrap().to_rfc3339(),
            "2026-11-20T13:30:00+00:00"
        );
        let body =
            br#"{"deployment": {"id": 8, "created_at": "2026-11-20T14:00:00Z", "payload": {}},
            "repository": {"full_name": "acme/shop", "name": "shop"}, "workflow_run": null}"#;
        let Delivery::Change(c) = parse("deployment", body).unwrap() else {
            panic!("a change")
        };
        assert!(c.committed_at.is_none());
    }
}
