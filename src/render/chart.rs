//! The causal chain's layout: every mark of a [`CausalChain`] placed on one time axis, in pixels,
//! for the `causal_chain.svg` template to draw.

use crate::domain::causal_chain::{CausalChain, Point};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Width of the drawing.
const WIDTH: f64 = 960.0;
/// Where the plot starts (left of it: the row labels).
const PLOT_LEFT: f64 = 190.0;
/// Right margin.
const PLOT_RIGHT: f64 = 20.0;
/// Space above the first row (the axis labels).
const TOP: f64 = 30.0;
/// Longest label drawn beside a mark (the full text is in its tooltip).
const LABEL_CHARS: usize = 28;

/// A mark at one instant.
#[derive(Debug, Serialize)]
struct Dot {
    x: f64,
    /// Its centre line.
    cy: f64,
    /// Where its label's baseline is, and which end the label hangs from.
    label_x: f64,
    label_y: f64,
    anchor: &'static str,
    label: String,
    short: String,
    at: String,
    kind: String,
}

/// Width of a label in pixels, roughly (12 px system font).
fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.6 + 10.0
}

/// Gives each dot of a row a label line so labels never overlap; returns how many lines it took.
fn place_labels(dots: &mut [Dot], top: f64) -> usize {
    let mut line_ends: Vec<f64> = Vec::new();
    for d in dots.iter_mut() {
        let w = label_width(&d.short);
        let (start, end, anchor, lx) = if d.x + w > WIDTH - PLOT_RIGHT {
            (d.x - w, d.x - 9.0, "end", d.x - 9.0)
        } else {
            (d.x + 9.0, d.x + w, "start", d.x + 9.0)
        };
        let line = match line_ends.iter().position(|e| *e < start) {
            Some(n) => n,
            None => {
                line_ends.push(f64::MIN);
                line_ends.len() - 1
            }
        };
        line_ends[line] = end;
        d.anchor = anchor;
        d.label_x = lx;
        d.label_y = top + MARK_BAND + LABEL_LINE * (line as f64 + 1.0);
    }
    line_ends.len()
}

/// Height of the band the marks sit in.
const MARK_BAND: f64 = 26.0;
/// Height of one line of labels under the marks.
const LABEL_LINE: f64 = 13.0;

/// A firing span.
#[derive(Debug, Serialize)]
struct Bar {
    x: f64,
    width: f64,
    ongoing: bool,
    from: String,
    to: Option<String>,
}

/// One row of the chart.
#[derive(Debug, Serialize)]
struct Row {
    /// `changes`, `alert`, `incident`, `pages` or `updates`.
    class: &'static str,
    /// The label at its left.
    label: String,
    /// Its top.
    y: f64,
    /// The centre line of its marks.
    cy: f64,
    /// Its height.
    height: f64,
    dots: Vec<Dot>,
    bars: Vec<Bar>,
}

/// An axis tick.
#[derive(Debug, Serialize)]
struct Tick {
    x: f64,
    label: String,
}

/// The chart, laid out.
#[derive(Debug, Serialize)]
pub struct ChartView {
    incident_id: i64,
    width: f64,
    height: f64,
    plot_left: f64,
    plot_right: f64,
    rows: Vec<Row>,
    ticks: Vec<Tick>,
    from: String,
    to: String,
}

fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    if first.chars().count() <= LABEL_CHARS {
        return first.to_string();
    }
    let mut s: String = first.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// Places `chain` on a [`WIDTH`]-pixel axis.
pub fn layout(chain: &CausalChain) -> ChartView {
    let span = (chain.to - chain.from).num_milliseconds().max(1) as f64;
    let plot = WIDTH - PLOT_LEFT - PLOT_RIGHT;
    let x = |t: DateTime<Utc>| {
        let ms = (t - chain.from).num_milliseconds() as f64;
        (PLOT_LEFT + plot * (ms / span).clamp(0.0, 1.0)).round()
    };
    let dot = |label: &str, at: DateTime<Utc>, kind: &str| Dot {
        x: x(at),
        cy: 0.0,
        label_x: 0.0,
        label_y: 0.0,
        anchor: "start",
        short: short(label),
        label: label.to_string(),
        at: at.to_rfc3339(),
        kind: kind.to_string(),
    };
    let points = |ps: &[Point], kind: &str| ps.iter().map(|p| dot(&p.label, p.at, kind)).collect();
    let mut rows: Vec<Row> = Vec::new();
    let mut bottom = TOP;
    let mut row = |class, label: String, mut dots: Vec<Dot>, bars: Vec<Bar>| {
        let y = bottom;
        let cy = y + MARK_BAND / 2.0;
        dots.iter_mut().for_each(|d| d.cy = cy);
        let lines = place_labels(&mut dots, y);
        let height = MARK_BAND + LABEL_LINE * lines as f64 + 6.0;
        bottom += height;
        rows.push(Row {
            class,
            label,
            y,
            cy,
            height,
            dots,
            bars,
        });
    };
    let changes = chain
        .changes
        .iter()
        .map(|c| {
            let kind = if c.confirmed { "confirmed" } else { "suspect" };
            dot(&c.label, c.at, kind)
        })
        .collect();
    row("changes", "changes".into(), changes, Vec::new());
    for lane in &chain.alerts {
        let bars = lane
            .spans
            .iter()
            .map(|s| {
                let (x0, x1) = (x(s.from), x(s.to.unwrap_or(chain.to)));
                Bar {
                    x: x0,
                    width: (x1 - x0).max(3.0),
                    ongoing: s.to.is_none(),
                    from: s.from.to_rfc3339(),
                    to: s.to.map(|t| t.to_rfc3339()),
                }
            })
            .collect();
        row("alert", short(&lane.alertname), Vec::new(), bars);
    }
    row(
        "incident",
        format!("incident #{}", chain.incident_id),
        points(&chain.milestones, "milestone"),
        Vec::new(),
    );
    row(
        "pages",
        "pages".into(),
        points(&chain.pages, "page"),
        Vec::new(),
    );
    row(
        "updates",
        "status updates".into(),
        points(&chain.updates, "update"),
        Vec::new(),
    );
    let ticks = (0..=4)
        .map(|n| {
            let t = chain.from + (chain.to - chain.from) * n / 4;
            Tick {
                x: x(t),
                label: t.format("%H:%M").to_string(),
            }
        })
        .collect();
    let height = rows.last().map_or(TOP, |r| r.y + r.height) + 8.0;
    ChartView {
        incident_id: chain.incident_id,
        width: WIDTH,
        height,
        plot_left: PLOT_LEFT,
        plot_right: WIDTH - PLOT_RIGHT,
        rows,
        ticks,
        from: chain.from.format("%Y-%m-%d %H:%M UTC").to_string(),
        to: chain.to.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
