//! Templates: embedded defaults under `templates/`, each overridable from `templates.dir`.

pub mod chart;
pub mod chart_svg;
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
    (
        "causal_chain.svg",
        include_str!("../../templates/causal_chain.svg"),
    ),
    ("status.html", include_str!("../../templates/status.html")),
    (
        "postmortem_review.html",
        include_str!("../../templates/postmortem_review.html"),
    ),
    (
        "chart_svg.html",
        include_str!("../../templates/chart_svg.html"),
    ),
];

/// A template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("template error: {0}")]
pub struct RenderError(#[from] minijinja::Error);

/// Renders pages and messages; HTML templates escape every value.
pub struct Renderer {
    env: Environment<'static>,
    /// `server.public_url` without its trailing slash: the base of links in exports ("" = relative).
    public_url: String,
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
        // SVG is XML: escaped like HTML.
        env.set_auto_escape_callback(|name| match name.rsplit('.').next() {
            Some("svg") => minijinja::AutoEscape::Html,
            _ => minijinja::default_auto_escape_callback(name),
        });
        env.add_function("csp_nonce", nonce::current);
        env.add_filter("ago", ago);
        env.add_filter("md", markdown_cell);
        env.add_filter("duration", duration);
        Renderer {
            env,
            public_url: String::new(),
        }
    }

    /// The same, linking exports to `public_url` (`server.public_url`) instead of relative paths.
    pub fn with_public_url(mut self, public_url: Option<&str>) -> Renderer {
        self.public_url = public_url
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        self
    }

    /// The Markdown of a postmortem draft (`postmortem.md`).
    pub fn postmortem_markdown(
        &self,
        pm: &crate::domain::postmortem::Postmortem,
    ) -> Result<String, RenderError> {
        let chain_url = format!(
            "{}/incidents/{}/timeline.svg",
            self.public_url, pm.incident.id
        );
        self.render(
            "postmortem.md",
            minijinja::context! { pm => pm, chain_url => chain_url },
        )
    }

    /// The causal chain of an incident as SVG (`causal_chain.svg`).
    pub fn causal_chain_svg(
        &self,
        chain: &crate::domain::causal_chain::CausalChain,
    ) -> Result<String, RenderError> {
        let c = chart::layout(chain);
        self.render("causal_chain.svg", minijinja::context! { c => c })
    }

    /// A chart as SVG (`chart_svg.html`: one mark per value).
    pub fn chart_svg(&self, chart: &crate::domain::chart::Chart) -> Result<String, RenderError> {
        let c = chart_svg::layout(chart);
        self.render("chart_svg.html", minijinja::context! { c => c })
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
