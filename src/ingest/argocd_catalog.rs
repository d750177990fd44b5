//! Argo CD bodies made from its own notification catalog or documentation rather than warroom's template:
//! the catalog's Slack `attachments` (also the docs' "Send Slack" webhook body), its Teams card (`title`,
//! `themeColor`, `facts`, `potentialAction`) and the docs' GitHub commit-status body (`state`, `context`,
//! `target_url`). Each is read into warroom's own shape (`app`, `phase`, `revision`, `url`, …), so that
//! an operator who points an existing template at warroom still gets the sync recorded.

use serde_json::{Map, Value, json};

/// The colour the catalog gives failed syncs (Slack) and the Teams card's for failures.
const FAILED_COLOURS: [&str; 2] = ["#e96d76", "#ff0000"];

/// warroom's own shape for a catalog-shaped body; `None` when the body is none of them.
pub fn normalise(v: &Value) -> Option<Value> {
    let o = v.as_object()?;
    if o.contains_key("app") {
        return None;
    }
    if let Some(first) = o.get("attachments").and_then(first_object) {
        return Some(slack(first));
    }
    if o.contains_key("facts") || o.contains_key("themeColor") {
        return Some(teams(o));
    }
    let context = o.get("context").and_then(Value::as_str)?;
    let app = context.strip_prefix("continuous-delivery/")?;
    let phase = match o.get("state").and_then(Value::as_str)? {
        "pending" => "Running",
        "success" => "Succeeded",
        _ => "Failed",
    };
    Some(
        json!({"app": app, "phase": phase, "url": o.get("target_url"),
        "message": o.get("description")}),
    )
}

/// The first element of an array, when it is an object (Slack attachments may arrive as a JSON string).
fn first_object(v: &Value) -> Option<Map<String, Value>> {
    let parsed;
    let list = match v {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            &parsed
        }
        other => other,
    };
    list.as_array()?.first()?.as_object().cloned()
}

/// A field list (`fields` of `title`/`value`, or `facts` of `name`/`value`) as pairs.
fn pairs(list: Option<&Value>, name: &str) -> Vec<(String, String)> {
    let parsed;
    let list = match list {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => {
                parsed = v;
                Some(&parsed)
            }
            Err(_) => None,
        },
        other => other,
    };
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        i.get(name)?.as_str()?.to_string(),
                        i.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A repository value as the catalog prints it (`:arrow_heading_up: https://…` or `⬆️ https://…`).
fn repository(pairs: &[(String, String)]) -> Option<String> {
    let v = get(pairs, "Repository").or_else(|| get(pairs, "Repositories"))?;
    v.split_whitespace()
        .find(|w| w.starts_with("http") || w.starts_with("git@"))
        .map(str::to_string)
}

/// The application name at the end of an Argo CD application URL (`…/applications/<name>[?…]`).
fn app_of_url(url: &str) -> Option<String> {
    let tail = url.split("/applications/").nth(1)?;
    let name = tail.split(['?', '/', '#']).next()?;
    (!name.is_empty()).then(|| name.to_string())
}

fn slack(a: Map<String, Value>) -> Value {
    let fields = pairs(a.get("fields"), "title");
    let url = a.get("title_link").and_then(Value::as_str);
    let app = a
        .get("title")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| url.and_then(app_of_url));
    let colour = a
        .get("color")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let phase = if FAILED_COLOURS.contains(&colour.as_str()) {
        "Failed"
    } else {
        "Succeeded"
    };
    json!({"app": app, "phase": phase, "url": url, "revision": get(&fields, "Revision"),
        "repo": repository(&fields), "sync_status": get(&fields, "Sync Status")})
}

fn teams(o: &Map<String, Value>) -> Value {
    let facts = pairs(o.get("facts"), "name");
    let title = o.get("title").and_then(Value::as_str).unwrap_or_default();
    let url = o
        .get("potentialAction")
        .and_then(first_object)
        .and_then(|a| {
            a.get("targets")
                .and_then(first_object)
                .and_then(|t| t.get("uri").and_then(Value::as_str).map(str::to_string))
        });
    let app = url.as_deref().and_then(app_of_url).or_else(|| {
        // "… application <name> …" in the card's title.
        let mut words = title.split_whitespace();
        words.find(|w| *w == "application" || *w == "Application")?;
        words
            .next()
            .map(|w| w.trim_end_matches(['.', ',']).to_string())
    });
    let colour = o
        .get("themeColor")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let failed = FAILED_COLOURS.contains(&colour.as_str()) || title.starts_with("Failed");
    json!({"app": app, "phase": if failed { "Failed" } else { "Succeeded" }, "url": url,
        "revision": get(&facts, "Revision"), "repo": repository(&facts),
        "finished_at": get(&facts, "Failed at").or_else(|| get(&facts, "Sync finished at")),
        "message": title})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_application() {
        assert_eq!(
            app_of_url("https://argocd.example.com/applications/guestbook?operation=true")
                .as_deref(),
            Some("guestbook")
        );
        assert_eq!(app_of_url("https://argocd.example.com/"), None);
    }

    #[test]
    fn a_commit_status_body_is_read() {
        let v = json!({"state": "pending", "description": "ArgoCD",
            "target_url": "https://argocd.example.com/applications/guestbook",
            "context": "continuous-delivery/guestbook"});
        let n = normalise(&v).unwrap();
        assert_eq!(
            (n["app"].as_str(), n["phase"].as_str()),
            (Some("guestbook"), Some("Running"))
        );
        assert_eq!(normalise(&json!({"app": "x"})), None);
    }
}
