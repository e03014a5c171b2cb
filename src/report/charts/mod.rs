//! PNG charts of a run, drawn with plotters into the output folder.
//!
//! A strategist reads pictures before tables. Every chart here takes
//! computed results (the scenario, the plan's layout, the accumulated
//! quantile sketches and the summary) and only reads them, so drawing can
//! never change the numbers. Distributions come from the sketches: the
//! engine keeps no raw trials.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary from
//! `assets/fonts` (licence beside it), so rendering needs no system font
//! library. [`style`] holds what every chart shares (palette, number
//! formats, header, legend, box plots); each chart has its own file.

mod delta;
mod innovation;
mod revenue_fan;
pub mod style;
mod unit_values;
mod value_cdf;
mod value_distribution;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::trial::{Layout, Metric, Plan};
use crate::model::Scenario;
use crate::report::Summary;
use crate::stats::{Accumulator, MetricAcc, Stats};

/// Default canvas size in pixels; charts with many panels or rows grow taller.
pub const WIDTH: u32 = 1800;
pub const HEIGHT: u32 = 1100;

/// The drawing surface a chart draws on.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// What drawing returns; mapped to [`Error::Output`] with the file's path.
pub type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The computed results a chart may read.
pub struct Input<'a> {
    pub scenario: &'a Scenario,
    pub layout: &'a Layout,
    pub acc: &'a Accumulator,
    pub summary: &'a Summary,
}

impl<'a> Input<'a> {
    pub fn new(
        scenario: &'a Scenario,
        plan: &'a Plan,
        acc: &'a Accumulator,
        summary: &'a Summary,
    ) -> Input<'a> {
        Input {
            scenario,
            layout: &plan.layout,
            acc,
            summary,
        }
    }

    /// Index of the last (longest) horizon.
    pub fn last(&self) -> usize {
        self.scenario.horizons.len().saturating_sub(1)
    }

    /// Years of horizon index `h`.
    pub fn years(&self, h: usize) -> u32 {
        self.scenario.horizons.get(h).copied().unwrap_or(0)
    }

    /// The sketch and extremes of one metric.
    pub fn metric(&self, policy: usize, horizon: usize, metric: Metric) -> &MetricAcc {
        &self.acc.metrics[self.layout.index(policy, horizon, metric)]
    }

    /// The reported figures of one metric (the same as in summary.json).
    pub fn stats(&self, policy: usize, horizon: usize, metric: Metric) -> Stats {
        self.acc.stats(self.layout.index(policy, horizon, metric))
    }

    pub fn policy(&self, p: usize) -> &str {
        &self.scenario.policies[p].name
    }

    pub fn baseline(&self) -> usize {
        self.scenario.baseline
    }

    pub fn currency(&self) -> &str {
        &self.scenario.currency
    }
}

/// A chart: one PNG file with a title and a sentence on how to read it.
pub trait Chart: Sync {
    /// File name in the output folder.
    fn file(&self) -> &'static str;
    /// Heading of the chart (drawn on it and used in the report).
    fn title(&self, input: &Input) -> String;
    /// One sentence on how to read the chart, for the report.
    fn how_to_read(&self, input: &Input) -> String;
    /// Canvas size in pixels; at least [`WIDTH`] x [`HEIGHT`].
    fn size(&self, _input: &Input) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }
    /// Draws on a white canvas of [`Chart::size`].
    fn draw(&self, input: &Input, root: &Area) -> DrawResult;
}

/// A chart written to the output folder, as the report lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub file: String,
    pub title: String,
    pub how_to_read: String,
}

/// Every chart, in report order.
pub fn all() -> Vec<Box<dyn Chart>> {
    vec![
        Box::new(value_distribution::ValueDistribution),
        Box::new(value_cdf::ValueCdf),
        Box::new(delta::DeltaVsBaseline),
        Box::new(revenue_fan::RevenueFan),
        Box::new(innovation::InnovationHorizons),
        Box::new(unit_values::UnitValues),
    ]
}

/// What the report says about every chart, without drawing any.
pub fn figures(input: &Input) -> Vec<Figure> {
    all()
        .iter()
        .map(|c| Figure {
            file: c.file().to_string(),
            title: c.title(input),
            how_to_read: c.how_to_read(input),
        })
        .collect()
}

/// Draws every chart into `dir` (in parallel; each chart is independent).
pub fn render_all(dir: &Path, input: &Input) -> Result<Vec<Figure>> {
    register_fonts().map_err(|e| Error::output(dir, e))?;
    let charts = all();
    let results: Vec<Result<Figure>> = charts
        .par_iter()
        .map(|c| render(dir, input, c.as_ref()))
        .collect();
    results.into_iter().collect()
}

fn render(dir: &Path, input: &Input, chart: &dyn Chart) -> Result<Figure> {
    let path = dir.join(chart.file());
    let (w, h) = chart.size(input);
    let drawn = (|| -> DrawResult {
        let root = BitMapBackend::new(&path, (w.max(WIDTH), h.max(HEIGHT))).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(input, &root)?;
        root.present()?;
        Ok(())
    })();
    drawn.map_err(|e| Error::output(&path, e))?;
    Ok(Figure {
        file: chart.file().to_string(),
        title: chart.title(input),
        how_to_read: chart.how_to_read(input),
    })
}

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Registers the embedded fonts with plotters, once per process.
pub fn register_fonts() -> std::result::Result<(), &'static str> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(style::FONT, FontStyle::Normal, REGULAR).is_ok()
            && plotters::style::register_font(style::FONT, FontStyle::Bold, BOLD).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the embedded chart font could not be loaded")
    }
}
