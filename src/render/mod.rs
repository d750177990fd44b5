//! Templates: embedded defaults under `templates/`, each overridable from `templates.dir`.

mod nonce;

pub use nonce::CSP_NONCE;

use minijinja::{Environment, Value};
use std::path::PathBuf;

/// The embedded default templates, by name.
const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("board.html", include_str!("../../templates/board.html")),
    ("room.html", include_str!("../../templates/room.html")),
    (
        "postmortem.md",
        include_str!("../../templates/postmortem.md"),
    ),
    (
        "postmortem.html",
        include_str!("../../templates/postmortem.html"),
    ),
    ("reports.html", include_str!("../../templates/reports.html")),
    ("pages.html", include_str!("../../templates/pages.html")),
    ("signin.html", include_str!("../../templates/signin.html")),
];

/// A template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("template error: {0}")]
pub struct RenderError(#[from] minijinja::Error);

/// Renders pages and messages; HTML templates escape every value.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// Embedded templates, overridden by files of the same name in `dir` when given.
    pub fn new(dir: Option<PathBuf>) -> Renderer {
        let mut env = Environment::new();
        env.set_loader(move |name| {
            if let Some(dir) = &dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            "cannot read template",
                        )
                        .with_source(e)
                    });
                }
            }
            Ok(EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, src)| src.to_string()))
        });
        env.add_function("csp_nonce", nonce::current);
        env.add_filter("ago", ago);
        env.add_filter("md", markdown_cell);
        env.add_filter("duration", duration);
        Renderer { env }
    }

    /// The Markdown of a postmortem draft (`postmortem.md`).
    pub fn postmortem_markdown(
        &self,
        pm: &crate::domain::postmortem::Postmortem,
    ) -> Result<String, RenderError> {
        self.render("postmortem.md", minijinja::context! { pm => pm })
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, RenderError> {
        Ok(self.env.get_template(name)?.render(ctx)?)
    }
}

/// `{{ text | md }}`: text safe inside a Markdown table cell or list item (no `|`, no line breaks).
fn markdown_cell(value: String) -> String {
    value
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// `{{ seconds | duration }}`: `4m 10s`, `1h 05m`; `—` for none.
fn duration(value: Value) -> String {
    match value.as_i64() {
        Some(s) => crate::domain::postmortem_text::duration(s),
        None => match f64::try_from(value.clone()) {
            Ok(f) => crate::domain::postmortem_text::duration(f.round() as i64),
            Err(_) => "—".to_string(),
        },
    }
}

/// `{{ t | ago }}`: how long ago an RFC 3339 time was, roughly (`5m`, `3h`, `2d`).
fn ago(value: String) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(&value) else {
        return value;
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_overrides_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("board.html"),
            "custom {{ incidents | length }} {{ x }}",
        )
        .unwrap();
        let r = Renderer::new(Some(dir.path().to_path_buf()));
        let out = r
            .render(
                "board.html",
                minijinja::context! { incidents => Vec::<i32>::new(), x => "<b>" },
            )
            .unwrap();
        assert_eq!(out, "custom 0 &lt;b&gt;");
    }
}
