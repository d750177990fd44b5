//! `warroom change record|check`: the CI side of the change center, over HTTP to a running warroom.

use clap::Subcommand;
use serde_json::{Value, json};
use std::process::ExitCode;

/// `warroom change …`
#[derive(Subcommand)]
pub enum ChangeCmd {
    /// Record a change (POST /hooks/changes); prints the change id.
    Record {
        /// Kind: deploy, config, traffic, infra, schema.
        #[arg(long, default_value = "deploy")]
        kind: String,
        /// Service(s) it touches (repeat for several).
        #[arg(long = "service", required = true)]
        services: Vec<String>,
        /// One line about it.
        #[arg(long)]
        summary: String,
        /// Who made it.
        #[arg(long, env = "USER")]
        author: Option<String>,
        /// Version shipped.
        #[arg(long)]
        version: Option<String>,
        /// Environment.
        #[arg(long)]
        environment: Option<String>,
        /// Status: planned, executing, done, failed … (default: executing).
        #[arg(long, default_value = "executing")]
        status: String,
        /// Your own id for it: record again with the same id to move it on (e.g. --status done).
        #[arg(long)]
        id: Option<String>,
        /// A link (pipeline run, pull request); repeatable.
        #[arg(long = "link")]
        links: Vec<String>,
        /// warroom's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "WARROOM_URL")]
        url: String,
        /// Bearer token (ingest.changes.token).
        #[arg(long, env = "WARROOM_TOKEN")]
        token: Option<String>,
    },
    /// Ask the gate whether a change may ship now: exit 0 allowed, 3 denied (reasons printed).
    Check {
        /// The service.
        #[arg(long)]
        service: String,
        /// The change kind.
        #[arg(long)]
        kind: Option<String>,
        /// warroom's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "WARROOM_URL")]
        url: String,
        /// API token with `changes:read` (`warroom token create`) or an `api.tokens` entry.
        #[arg(long, env = "WARROOM_TOKEN")]
        token: Option<String>,
    },
}

async fn post(url: &str, token: Option<&str>, body: Value) -> anyhow::Result<(u16, Value)> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach warroom at {url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn error_text(status: u16, body: &Value) -> String {
    let msg = body["error"]["message"]
        .as_str()
        .unwrap_or("no error message");
    format!("warroom answered {status}: {msg}")
}

/// Runs a `change` subcommand.
pub async fn run(cmd: ChangeCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ChangeCmd::Record {
            kind,
            services,
            summary,
            author,
            version,
            environment,
            status,
            id,
            links,
            url,
            token,
        } => {
            let body = json!({"kind": kind, "services": services, "summary": summary, "author": author,
                "version": version, "environment": environment, "status": status, "id": id, "links": links});
            let endpoint = format!("{}/hooks/changes", url.trim_end_matches('/'));
            let (code, resp) = post(&endpoint, token.as_deref(), body).await?;
            if !(200..300).contains(&code) {
                anyhow::bail!(error_text(code, &resp));
            }
            let change = &resp["change"];
            println!(
                "chg-{} {} ({})",
                change["id"],
                change["status"].as_str().unwrap_or("?"),
                resp["result"].as_str().unwrap_or("recorded")
            );
            Ok(ExitCode::SUCCESS)
        }
        ChangeCmd::Check {
            service,
            kind,
            url,
            token,
        } => {
            let endpoint = format!("{}/api/v1/changes/gate", url.trim_end_matches('/'));
            let (code, resp) = post(
                &endpoint,
                token.as_deref(),
                json!({"service": service, "kind": kind}),
            )
            .await?;
            if code != 200 {
                anyhow::bail!(error_text(code, &resp));
            }
            if resp["allowed"].as_bool() == Some(true) {
                println!("allowed: changes to {service} may ship now");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("denied: changes to {service} may not ship now");
                for r in resp["reasons"].as_array().into_iter().flatten() {
                    println!("- {}", r.as_str().unwrap_or_default());
                }
                Ok(ExitCode::from(3))
            }
        }
    }
}
