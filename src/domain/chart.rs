//! A chart's data, whatever it shows: categories along x, one or more series of values, and headline
//! figures. The same value renders as JSON, CSV and SVG. Pure.

use serde::Serialize;
use std::collections::BTreeMap;

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Bars side by side per category.
    Bars,
    /// Series stacked per category.
    StackedBars,
    /// One line per series, a point per category.
    Lines,
    /// Categories × series as a grid of cells.
    Heatmap,
}

/// One series of values, aligned with the chart's categories (`None`: no value there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Its name (`P1`, `median_seconds` …).
    pub name: String,
    /// One value per category.
    pub values: Vec<Option<f64>>,
}

/// A chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// Its name in URLs (`incidents-per-week`).
    pub id: String,
    /// Its heading.
    pub title: String,
    /// How it is drawn.
    pub kind: ChartKind,
    /// What the categories are (`week`, `alertname`, `hour` …): the CSV's first column.
    pub x_label: String,
    /// What the values measure (`incidents`, `seconds`, `ratio` …).
    pub unit: String,
    /// The categories, in order.
    pub x: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// Headline figures of the whole period (`median_seconds`, `rate` …); `None` when there is no data.
    pub figures: BTreeMap<String, Option<f64>>,
}

impl Chart {
    /// A chart with no series or figures yet.
    pub fn new(id: &str, title: &str, kind: ChartKind, x_label: &str, unit: &str) -> Chart {
        Chart {
            id: id.into(),
            title: title.into(),
            kind,
            x_label: x_label.into(),
            unit: unit.into(),
            x: Vec::new(),
            series: Vec::new(),
            figures: BTreeMap::new(),
        }
    }

    /// Adds a series.
    pub fn series(mut self, name: &str, values: Vec<Option<f64>>) -> Chart {
        self.series.push(Series {
            name: name.into(),
            values,
        });
        self
    }

    /// Sets a headline figure.
    pub fn figure(mut self, name: &str, value: Option<f64>) -> Chart {
        self.figures.insert(name.into(), value);
        self
    }

    /// How many values it holds (the marks its SVG draws).
    pub fn points(&self) -> usize {
        self.series
            .iter()
            .map(|s| s.values.iter().flatten().count())
            .sum()
    }

    /// The chart as CSV: a header (`x_label`, then the series names) and a row per category; an
    /// absent value is an empty cell.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = std::iter::once(self.x_label.clone())
            .chain(self.series.iter().map(|s| s.name.clone()))
            .map(|c| csv_cell(&c))
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for (i, x) in self.x.iter().enumerate() {
            let mut row = vec![csv_cell(x)];
            for s in &self.series {
                row.push(match s.values.get(i).copied().flatten() {
                    Some(v) => number(v),
                    None => String::new(),
                });
            }
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

/// A number as CSV shows it: integers without a fraction, others with up to 4 decimals.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a leading `= + - @`
/// is prefixed with `'` so a spreadsheet does not run it as a formula (alert names come from outside).
fn csv_cell(raw: &str) -> String {
    let s = if raw.starts_with(['=', '+', '-', '@']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_a_row_per_category_with_cells_escaped() {
        let mut c = Chart::new("t", "T", ChartKind::Bars, "name", "n");
        c.x = vec!["a,b".into(), "=cmd".into()];
        let c = c
            .series("count", vec![Some(2.0), None])
            .series("rate", vec![Some(0.5), Some(1.0 / 3.0)]);
        assert_eq!(
            c.to_csv(),
            "name,count,rate\n\"a,b\",2,0.5\n'=cmd,,0.3333\n"
        );
        assert_eq!(c.points(), 3);
    }
}
