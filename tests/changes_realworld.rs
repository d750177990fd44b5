//! Change ingest from the payloads GitHub and Argo CD really send (`../shared/fixtures/realworld/`): each is
//! accepted and recorded with what a responder needs — the deployed commit, the ref, the environment, who
//! deployed, the status and log URLs and the repository.

mod common;

use common::{Backend, TestApp};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn realworld(path: &str) -> String {
    let full = format!(
        "{}/../shared/fixtures/realworld/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

async fn post(app: &TestApp, path: &str, body: &str, headers: &[(&str, String)]) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    common::split(req.send().await.unwrap()).await
}

const SECRET: &str = "It's a Secret to Everybody";

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn github(app: &TestApp, event: &str, file: &str, delivery: &str) -> (u16, Value) {
    let body = realworld(&format!("github/{file}"));
    let headers = [
        ("x-github-event", event.to_string()),
        ("x-github-delivery", delivery.to_string()),
        ("x-hub-signature-256", sign(&body)),
    ];
    post(app, "/hooks/github", &body, &headers).await
}

fn hrefs(change: &Value) -> Vec<String> {
    change["links"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|l| l["href"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const SHA: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

async fn github_payloads_are_recorded(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.ingest.github.secret = Some(SECRET.into())).await;
    for (i, file) in ["ping-payload.json", "ping-with-organization.payload.json"]
        .iter()
        .enumerate()
    {
        let (s, b) = github(&app, "ping", file, &format!("ping-{i}")).await;
        assert_eq!(
            (s, b["result"].as_str()),
            (200, Some("ignored")),
            "{file}: {b}"
        );
    }
    let (s, b) = app.get_json("/api/v1/changes").await;
    assert_eq!(s, 200);
    assert_eq!(
        b["changes"].as_array().map(Vec::len),
        Some(0),
        "ping is a no-op: {b}"
    );

    let (s, b) = github(&app, "deployment", "deployment-payload.json", "d-1").await;
    assert_eq!(s, 201, "{b}");
    let c = &b["change"];
    assert_eq!(c["version"], SHA, "the deployed commit: {c}");
    assert_eq!(c["environment"], "production");
    assert_eq!(c["author"], "Codertocat");
    assert_eq!(c["service"], "Hello-World");
    assert_eq!(c["status"], "executing");
    assert_eq!(
        c["summary"],
        "Deploy Codertocat/Hello-World@master (f95f852) to production"
    );
    let links = hrefs(c);
    assert!(
        links.contains(&format!(
            "https://github.com/Codertocat/Hello-World/commit/{SHA}"
        )),
        "{links:?}"
    );
    assert!(links.contains(&"https://github.com/Codertocat/Hello-World/deployments".to_string()));
    let id = c["id"].as_i64().unwrap();
    // The same deployment delivered again (another hook, with `installation`): the same change.
    let (s, b) = github(
        &app,
        "deployment",
        "deployment-with-installation.payload.json",
        "d-2",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["change"]["id"].as_i64(), Some(id));
    let (s, b) = github(
        &app,
        "deployment_status",
        "deployment_status-payload.json",
        "s-1",
    )
    .await;
    assert_eq!((s, b["result"].as_str()), (200, Some("updated")), "{b}");
    assert_eq!(b["change"]["id"].as_i64(), Some(id));
    assert_eq!(b["change"]["status"], "done");
    assert_eq!(b["change"]["ended_at"], "2019-05-15T15:20:55Z");
    let (s, b) = github(
        &app,
        "deployment_status",
        "deployment_status-with-installation.payload.json",
        "s-2",
    )
    .await;
    assert_eq!(s, 200, "{b}");

    // GitHub Pages: created by the bot, environment github-pages, a status with its run's URL.
    let pages =
        TestApp::spawn_with(backend, |c| c.ingest.github.secret = Some(SECRET.into())).await;
    let (s, b) = github(
        &pages,
        "deployment",
        "deployment-gh-pages.payload.json",
        "p-1",
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let c = &b["change"];
    assert_eq!(
        (
            c["version"].as_str(),
            c["environment"].as_str(),
            c["author"].as_str()
        ),
        (Some(SHA), Some("github-pages"), Some("github-pages[bot]"))
    );
    let (s, b) = github(
        &pages,
        "deployment_status",
        "deployment_status-gh-pages.payload.json",
        "p-2",
    )
    .await;
    assert!(s == 200, "{s} {b}");
    let c = &b["change"];
    assert_eq!(c["status"], "executing", "in_progress");
    let links = hrefs(c);
    assert!(
        links.contains(
            &"https://github.com/Codertocat/Hello-World/runs/145988746?check_suite_focus=true"
                .to_string()
        ),
        "the status's target URL: {links:?}"
    );
    assert!(
        links.contains(
            &"https://github.com/CorsixTH/CorsixTH/runs/4687056418?check_suite_focus=true"
                .to_string()
        ),
        "the status's log URL: {links:?}"
    );
}
both_backends!(github_realworld, github_payloads_are_recorded);

async fn pagerduty_change_events_are_recorded(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.ingest.pagerduty.routing_keys = [
            ("samplekeyhere".to_string(), "snapshots".to_string()),
            (
                "737ea619db564d41bd9824063e1f6b08".to_string(),
                "build".to_string(),
            ),
            (
                "737ea619db564d41bd9824063e1f8au1".to_string(),
                "git".to_string(),
            ),
        ]
        .into();
    })
    .await;
    for (file, service, link) in [
        (
            "devdocs-change-event-v2.json",
            "snapshots",
            "https://acme.pagerduty.dev/build/2",
        ),
        (
            "openapi-change-enqueue-example-build.json",
            "build",
            "https://buildpipeline.com/pagerduty/deployment/builds/220",
        ),
        (
            "openapi-change-enqueue-example-git.json",
            "git",
            "https://buildpipeline.com/pagerduty/deployment/builds/220",
        ),
    ] {
        let body = realworld(&format!("pagerduty/{file}"));
        let (s, b) = post(&app, "/hooks/pagerduty/v2/change/enqueue", &body, &[]).await;
        assert_eq!(
            (s, b["status"].as_str()),
            (202, Some("success")),
            "{file}: {b}"
        );
        let (_, list) = app
            .get_json(&format!("/api/v1/changes?service={service}"))
            .await;
        let c = &list["changes"][0];
        assert_eq!(c["source"], "pagerduty", "{file}: {list}");
        assert_eq!(c["status"], "done", "{file}");
        assert!(c["summary"].as_str().unwrap().len() > 5, "{file}: {c}");
        assert!(hrefs(c).contains(&link.to_string()), "{file}: {c}");
    }
    let (_, list) = app.get_json("/api/v1/changes?service=git").await;
    assert_eq!(list["changes"][0]["author"], "Pagerduty", "{list}");
}
both_backends!(
    pagerduty_changes_realworld,
    pagerduty_change_events_are_recorded
);

/// A sample Argo CD notification context: an Application after a sync, as the templates see it.
fn application(phase: &str) -> Value {
    json!({
        "serviceType": "webhook",
        "context": {"argocdUrl": "https://argocd.example.com"},
        "app": {
            "metadata": {"name": "guestbook", "labels": {"service": "guestbook"}},
            "spec": {
                "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git"},
                "destination": {"namespace": "guestbook"}
            },
            "status": {
                "sync": {"status": "Synced", "revision": "8f7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"},
                "conditions": [],
                "operationState": {
                    "phase": phase,
                    "message": "successfully synced (all tasks run)",
                    "startedAt": "2026-11-20T13:54:00Z",
                    "finishedAt": "2026-11-20T13:56:10Z",
                    "operation": {"initiatedBy": {"username": "alice"},
                        "sync": {"revision": "8f7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"}},
                    "syncResult": {"revision": "8f7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"}
                }
            }
        }
    })
}

/// The block scalar or one-line value of `section.key` in a catalog template file.
fn yaml_value(yaml: &str, section: &str, key: &str) -> String {
    let mut lines = yaml.lines().skip_while(|l| *l != format!("{section}:"));
    lines
        .next()
        .unwrap_or_else(|| panic!("no section {section}"));
    let prefix = format!("    {key}:");
    let mut lines = lines.skip_while(|l| !l.starts_with(&prefix));
    let first = lines.next().unwrap_or_else(|| panic!("no {section}.{key}"));
    let inline = first[prefix.len()..].trim();
    if inline != "|" {
        return inline.trim_matches('"').to_string();
    }
    lines
        .take_while(|l| l.starts_with("        ") || l.trim().is_empty())
        .map(|l| l.get(8..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn argocd_templates_are_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let deployed = realworld("argocd/catalog-templates-app-deployed.yaml");
    let succeeded = realworld("argocd/catalog-templates-app-sync-succeeded.yaml");
    let failed = realworld("argocd/catalog-templates-app-sync-failed.yaml");
    let docs = realworld("argocd/docs-services-webhook.md");
    let ctx = application;
    // The catalog's Slack attachments as a webhook body (the docs' "Send Slack" example).
    let slack = |yaml: &str, phase: &str| {
        let attachments =
            gotemplate::render(&yaml_value(yaml, "slack", "attachments"), &ctx(phase));
        format!("{{\"attachments\": {attachments}}}")
    };
    let teams = |yaml: &str, phase: &str| {
        let c = ctx(phase);
        let r = |k| gotemplate::render(&yaml_value(yaml, "teams", k), &c);
        format!(
            "{{\"themeColor\": \"{}\", \"title\": \"{}\", \"facts\": {}, \"potentialAction\": {}}}",
            r("themeColor"),
            r("title"),
            r("facts"),
            r("potentialAction")
        )
    };
    let start = docs.rfind("template.github-commit-status").unwrap();
    let body_at = docs[start..].find("body: |").unwrap() + start;
    let commit_status: String = docs[body_at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("          "))
        .collect::<Vec<_>>()
        .join("\n");
    let send_slack_at = docs.find("template.send-slack").unwrap();
    let body_at = docs[send_slack_at..].find("body: |").unwrap() + send_slack_at;
    let send_slack: String = docs[body_at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("          "))
        .collect::<Vec<_>>()
        .join("\n");
    let cases = [
        ("slack app-deployed", slack(&deployed, "Succeeded"), "done"),
        (
            "slack app-sync-succeeded",
            slack(&succeeded, "Succeeded"),
            "done",
        ),
        ("slack app-sync-failed", slack(&failed, "Failed"), "failed"),
        ("teams app-deployed", teams(&deployed, "Succeeded"), "done"),
        (
            "teams app-sync-succeeded",
            teams(&succeeded, "Succeeded"),
            "done",
        ),
        ("teams app-sync-failed", teams(&failed, "Failed"), "failed"),
        (
            "docs github-commit-status running",
            gotemplate::render(&commit_status, &ctx("Running")),
            "executing",
        ),
        (
            "docs send-slack",
            gotemplate::render(&send_slack, &ctx("Succeeded")),
            "done",
        ),
    ];
    for (name, body, status) in cases {
        serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{name}: {e}\n{body}"));
        let (s, b) = post(&app, "/hooks/argocd", &body, &[]).await;
        assert!(s == 201 || s == 200, "{name}: {s} {b}\n{body}");
        let c = &b["change"];
        assert_eq!(c["service"], "guestbook", "{name}: {c}");
        assert_eq!(c["source"], "argocd", "{name}");
        let links = hrefs(c);
        assert!(
            links
                .iter()
                .any(|l| l.starts_with("https://argocd.example.com/applications/guestbook")),
            "{name}: the application's URL: {links:?}"
        );
        if name.starts_with("slack app-deployed") || name.starts_with("teams app-deployed") {
            assert_eq!(c["version"], "8f7b1c2d3e4f", "{name}: the revision");
            assert!(
                links.contains(&"https://github.com/argoproj/argocd-example-apps.git".to_string()),
                "{name}: the repository: {links:?}"
            );
        }
        if s == 201 {
            assert_eq!(c["status"], status, "{name}: {c}");
        }
    }
}
both_backends!(argocd_realworld, argocd_templates_are_recorded);

/// The part of Go's text/template the Argo CD templates use: `{{.a.b}}`, `{{if eq .x "v"}}`,
/// `{{if .x}}`, `{{else if …}}`, `{{else}}`, `{{end}}`, `{{range … := .list}}` and `{{-`/`-}}` trimming.
mod gotemplate {
    use serde_json::Value;

    enum Tok {
        Text(String),
        Action(String),
    }

    fn lex(src: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find("{{") {
            let mut text = rest[..open].to_string();
            let close = rest[open..].find("}}").expect("unclosed action") + open;
            let mut inner = &rest[open + 2..close];
            if let Some(i) = inner.strip_prefix('-') {
                text = text.trim_end().to_string();
                inner = i;
            }
            let mut after = &rest[close + 2..];
            if let Some(i) = inner.strip_suffix('-') {
                inner = i;
                after = after.trim_start();
            }
            out.push(Tok::Text(text));
            out.push(Tok::Action(inner.trim().to_string()));
            rest = after;
        }
        out.push(Tok::Text(rest.to_string()));
        out
    }

    fn lookup<'a>(ctx: &'a Value, path: &str) -> Option<&'a Value> {
        let path = path.trim().trim_start_matches('.');
        if path.is_empty() {
            return Some(ctx);
        }
        path.split('.').try_fold(ctx, |v, k| v.get(k))
    }

    fn truthy(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(_) => true,
        }
    }

    fn condition(expr: &str, ctx: &Value) -> bool {
        if let Some(rest) = expr.strip_prefix("eq ") {
            let (path, lit) = rest.trim().split_once(' ').expect("eq needs two operands");
            let lit = lit.trim().trim_matches('"');
            return lookup(ctx, path).and_then(Value::as_str) == Some(lit);
        }
        truthy(lookup(ctx, expr))
    }

    fn print(v: Option<&Value>) -> String {
        match v {
            None | Some(Value::Null) => "<no value>".into(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// Renders `src` against `ctx`.
    pub fn render(src: &str, ctx: &Value) -> String {
        let toks = lex(src);
        let mut i = 0;
        let mut out = String::new();
        block(&toks, &mut i, ctx, true, &mut out);
        out
    }

    /// Renders tokens from `i` until an `end`/`else` at this level; returns that closing action.
    fn block(toks: &[Tok], i: &mut usize, ctx: &Value, on: bool, out: &mut String) -> String {
        while *i < toks.len() {
            let t = &toks[*i];
            *i += 1;
            match t {
                Tok::Text(s) => {
                    if on {
                        out.push_str(s)
                    }
                }
                Tok::Action(a) if a == "end" || a.starts_with("else") => return a.clone(),
                Tok::Action(a) if a.starts_with("if ") => {
                    let mut taken = false;
                    let mut cond = on && condition(&a[3..], ctx);
                    loop {
                        let closing = block(toks, i, ctx, cond, out);
                        taken |= cond;
                        if closing == "end" {
                            break;
                        }
                        cond = match closing.strip_prefix("else if ") {
                            Some(e) => on && !taken && condition(e, ctx),
                            None => on && !taken,
                        };
                    }
                }
                Tok::Action(a) if a.starts_with("range ") => {
                    let list = a.rsplit(":=").next().unwrap_or_default();
                    let empty = !truthy(lookup(ctx, list));
                    assert!(empty, "only empty ranges are rendered here: {a}");
                    let closing = block(toks, i, ctx, false, out);
                    assert_eq!(closing, "end");
                }
                Tok::Action(a) => {
                    if on {
                        out.push_str(&print(lookup(ctx, a)));
                    }
                }
            }
        }
        "end".into()
    }
}
