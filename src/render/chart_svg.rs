//! Where a chart's marks go: the geometry the `chart_svg.html` template draws as SVG (one mark —
//! a `rect` or `circle` with class `mark` — per value). The figures come from the domain; this only places them.

use crate::domain::chart::{Chart, ChartKind};
use serde::Serialize;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 64.0;
/// Series colours (colour-blind friendly, Okabe–Ito).
const COLOURS: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000",
];

/// One drawn value.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// `rect` or `circle`.
    pub shape: &'static str,
    /// Left (rect) or centre (circle).
    pub x: f64,
    /// Top (rect) or centre (circle).
    pub y: f64,
    /// Width (rect).
    pub w: f64,
    /// Height (rect).
    pub h: f64,
    /// Fill colour.
    pub fill: String,
    /// Fill opacity (heatmap cells).
    pub opacity: f64,
    /// The series it belongs to.
    pub series: String,
    /// Its category.
    pub category: String,
    /// Its value for people (hover title).
    pub label: String,
}

/// A text label on an axis.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// Position.
    pub x: f64,
    /// Position.
    pub y: f64,
    /// Text.
    pub text: String,
}

/// A series' polyline (line charts).
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// `x,y x,y …`.
    pub points: String,
    /// Colour.
    pub stroke: String,
}

/// A legend entry.
#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    /// The series.
    pub name: String,
    /// Its colour.
    pub colour: String,
}

/// Everything the template draws.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// The chart's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Canvas width.
    pub width: f64,
    /// Canvas height.
    pub height: f64,
    /// The plot area's left edge.
    pub left: f64,
    /// Its bottom edge.
    pub bottom: f64,
    /// Its right edge.
    pub right: f64,
    /// Its top edge.
    pub top: f64,
    /// The marks.
    pub marks: Vec<Mark>,
    /// Lines joining a series' points.
    pub lines: Vec<Line>,
    /// Labels under the x axis.
    pub x_ticks: Vec<Tick>,
    /// Labels beside the y axis.
    pub y_ticks: Vec<Tick>,
    /// The legend.
    pub legend: Vec<Legend>,
    /// No value at all to draw.
    pub empty: bool,
}

fn value_text(unit: &str, v: f64) -> String {
    match unit {
        "seconds" => crate::domain::postmortem_text::duration(v.round() as i64),
        "ratio" => format!("{:.0}%", v * 100.0),
        _ if v.fract() == 0.0 => format!("{}", v as i64),
        _ => format!("{v:.2}"),
    }
}

/// Places `chart`'s values.
pub fn layout(chart: &Chart) -> Layout {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = chart.x.len().max(1);
    let band = plot_w / n as f64;
    let colour = |i: usize| COLOURS[i % COLOURS.len()].to_string();
    let mut marks = Vec::new();
    let mut lines = Vec::new();
    let stacked = chart.kind == ChartKind::StackedBars;
    let max = if stacked {
        (0..chart.x.len())
            .map(|i| {
                chart
                    .series
                    .iter()
                    .filter_map(|s| s.values.get(i).copied().flatten())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max)
    } else {
        chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
            .fold(0.0, f64::max)
    };
    let scale = if max > 0.0 { plot_h / max } else { 0.0 };
    let base = TOP + plot_h;
    let mark = |shape, x, y, w, h, fill: String, opacity, s: &str, c: &str, v: f64| Mark {
        shape,
        x,
        y,
        w,
        h,
        fill,
        opacity,
        series: s.to_string(),
        category: c.to_string(),
        label: format!("{c} · {s}: {}", value_text(&chart.unit, v)),
    };
    match chart.kind {
        ChartKind::Bars => {
            let k = chart.series.len().max(1) as f64;
            let bw = band * 0.8 / k;
            for (j, s) in chart.series.iter().enumerate() {
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let h = v * scale;
                    let x = LEFT + i as f64 * band + band * 0.1 + j as f64 * bw;
                    marks.push(mark(
                        "rect",
                        x,
                        base - h,
                        bw,
                        h,
                        colour(j),
                        1.0,
                        &s.name,
                        &chart.x[i],
                        v,
                    ));
                }
            }
        }
        ChartKind::StackedBars => {
            let mut heights = vec![0.0; chart.x.len()];
            for (j, s) in chart.series.iter().enumerate() {
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let h = v * scale;
                    heights[i] += h;
                    let x = LEFT + i as f64 * band + band * 0.15;
                    marks.push(mark(
                        "rect",
                        x,
                        base - heights[i],
                        band * 0.7,
                        h,
                        colour(j),
                        1.0,
                        &s.name,
                        &chart.x[i],
                        v,
                    ));
                }
            }
        }
        ChartKind::Lines => {
            for (j, s) in chart.series.iter().enumerate() {
                let mut points = Vec::new();
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let (x, y) = (LEFT + (i as f64 + 0.5) * band, base - v * scale);
                    points.push(format!("{x:.1},{y:.1}"));
                    marks.push(mark(
                        "circle",
                        x,
                        y,
                        0.0,
                        0.0,
                        colour(j),
                        1.0,
                        &s.name,
                        &chart.x[i],
                        v,
                    ));
                }
                if points.len() > 1 {
                    lines.push(Line {
                        points: points.join(" "),
                        stroke: colour(j),
                    });
                }
            }
        }
        ChartKind::Heatmap => {
            let rows = chart.series.len().max(1) as f64;
            let cell_h = plot_h / rows;
            for (j, s) in chart.series.iter().enumerate() {
                for (i, v) in s.values.iter().enumerate() {
                    let Some(v) = *v else { continue };
                    let opacity = if max > 0.0 {
                        0.08 + 0.92 * v / max
                    } else {
                        0.08
                    };
                    let (x, y) = (LEFT + i as f64 * band, TOP + j as f64 * cell_h);
                    marks.push(mark(
                        "rect",
                        x + 0.5,
                        y + 0.5,
                        band - 1.0,
                        cell_h - 1.0,
                        colour(3),
                        opacity,
                        &s.name,
                        &chart.x[i],
                        v,
                    ));
                }
            }
        }
    }
    let every = chart.x.len().div_ceil(16).max(1);
    let x_ticks = chart
        .x
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, t)| Tick {
            x: LEFT + (i as f64 + 0.5) * band,
            y: base + 14.0,
            text: t.chars().take(18).collect(),
        })
        .collect();
    let y_ticks = if chart.kind == ChartKind::Heatmap {
        let cell_h = plot_h / chart.series.len().max(1) as f64;
        chart
            .series
            .iter()
            .enumerate()
            .map(|(j, s)| Tick {
                x: LEFT - 6.0,
                y: TOP + (j as f64 + 0.6) * cell_h,
                text: s.name.clone(),
            })
            .collect()
    } else {
        [0.0, max / 2.0, max]
            .iter()
            .map(|v| Tick {
                x: LEFT - 6.0,
                y: base - v * scale + 4.0,
                text: value_text(&chart.unit, *v),
            })
            .collect()
    };
    let legend = if chart.kind == ChartKind::Heatmap {
        Vec::new()
    } else {
        chart
            .series
            .iter()
            .enumerate()
            .map(|(j, s)| Legend {
                name: s.name.clone(),
                colour: colour(j),
            })
            .collect()
    };
    Layout {
        id: chart.id.clone(),
        title: chart.title.clone(),
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: base,
        right: WIDTH - RIGHT,
        top: TOP,
        empty: marks.is_empty(),
        marks,
        lines,
        x_ticks,
        y_ticks,
        legend,
    }
}
