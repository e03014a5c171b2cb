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
pub mod frontier;
mod funding;
mod innovation;
mod revenue_fan;
mod spider;
pub mod style;
mod sweep;
mod sweep_heatmap;
mod tornado;
mod uncertainty;
mod unit_paths;
mod unit_values;
mod value_cdf;
mod value_distribution;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

pub use super::Input;
use crate::error::{Error, Result};

/// Default canvas size in pixels; charts with many panels or rows grow taller.
pub const WIDTH: u32 = 1800;
pub const HEIGHT: u32 = 1100;

/// The drawing surface a chart draws on.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// What drawing returns; mapped to [`Error::Output`] with the file's path.
pub type DrawResult<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A chart: one PNG file with a title and a sentence on how to read it.
pub trait Chart: Sync {
    /// Whether the run has what the chart shows (the study charts need a
    /// sweep or a sensitivity study); charts that do not apply are skipped.
    fn applies(&self, _input: &Input) -> bool {
        true
    }
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

/// Every chart, in report order (the study charts last; they draw only
/// when they apply).
pub fn all() -> Vec<Box<dyn Chart>> {
    vec![
        Box::new(value_distribution::ValueDistribution),
        Box::new(value_cdf::ValueCdf),
        Box::new(delta::DeltaVsBaseline),
        Box::new(revenue_fan::RevenueFan),
        Box::new(innovation::InnovationHorizons),
        Box::new(unit_values::UnitValues),
        Box::new(unit_paths::UnitPaths),
        Box::new(sweep::SweepChart),
        Box::new(sweep_heatmap::SweepHeatmap),
        Box::new(tornado::Tornado),
        Box::new(spider::Spider),
        Box::new(uncertainty::UncertaintyChart),
        Box::new(funding::FundingChart),
    ]
}

/// What the report says about every chart that applies, without drawing
/// any.
pub fn figures(input: &Input) -> Vec<Figure> {
    all()
        .iter()
        .filter(|c| c.applies(input))
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
    let charts: Vec<Box<dyn Chart>> = all().into_iter().filter(|c| c.applies(input)).collect();
    let results: Vec<Result<Figure>> = charts
        .par_iter()
        .map(|c| render(dir, input, c.as_ref()))
        .collect();
    results.into_iter().collect()
}

fn render(dir: &Path, input: &Input, chart: &dyn Chart) -> Result<Figure> {
    // Drawing takes a while: a signal stops it between charts.
    crate::engine::check_interrupted()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{
        Headline, Owner, Run, Sensitivity, StepKind, Studies, Summary, Sweep, SweepPoint,
    };

    /// Made-up sweep points over `a` (unsorted, as a user may give them)
    /// and, for a two-way grid, `b`; one value is not a number.
    fn points(names: &[String], horizon: u32, a: &[f64], b: &[f64]) -> Vec<SweepPoint> {
        let mut out = Vec::new();
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                let headlines = names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| {
                        let v = if i == 1 && j == 0 && k == 1 {
                            f64::NAN
                        } else {
                            1000.0 + 50.0 * x + 300.0 * y + 20.0 * k as f64
                        };
                        Headline {
                            policy: n.clone(),
                            horizon,
                            mean: v,
                            stderr: 1.0,
                            p5: 0.7 * v,
                            p50: v,
                            p95: 1.3 * v,
                            delta_mean: 5.0 * x - 20.0 * y + 2.0 * k as f64,
                            delta_stderr: 0.5,
                            delta_p50: 4.0 * x,
                            prob_beats_baseline: (0.01 * x + y).min(1.0),
                            prob_stderr: 0.002,
                        }
                    })
                    .collect();
                out.push(SweepPoint {
                    values: if b.len() > 1 { vec![x, y] } else { vec![x] },
                    headlines,
                });
            }
        }
        out
    }

    /// The study charts on made-up results with the awkward cases: unsorted
    /// and single sweep values, a value that is not a number, moves on the
    /// same side of zero, no move, more rows than are drawn. Set
    /// STRATSIM_KEEP_CHARTS to a folder to keep the PNGs for a look.
    #[test]
    fn study_charts_draw_awkward_results() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cloud_spinoff.toml");
        let mut sc = crate::scenario::load(&path).unwrap();
        sc.trials = 200;
        let (plan, acc) = crate::engine::run(&sc, Some(1), &|_| {}).unwrap();
        let run = Run::checked(sc.clone(), plan, acc).unwrap();
        let summary = Summary::new(&sc, &run.plan, &run.acc);
        let last = *sc.horizons.last().unwrap();
        let names: Vec<String> = sc.policies.iter().map(|p| p.name.clone()).collect();
        let row = |unit: &str, parameter: &'static str, lo: f64, hi: f64| Sensitivity {
            policy: names[1].clone(),
            owner: Owner::Unit,
            owner_name: unit.into(),
            parameter: parameter.into(),
            path: format!("units.{unit}.{parameter}"),
            kind: if parameter == "multiple.median" {
                StepKind::Level
            } else {
                StepKind::Rate
            },
            base: 0.1,
            low: if lo.is_nan() { f64::NAN } else { 0.09 },
            high: 0.11,
            gain_base: 10.0,
            gain_low: 10.0 + lo,
            gain_high: 10.0 + hi,
            beat_base: 0.5,
            beat_low: 0.5 + lo / 100.0,
            beat_high: 0.5 + hi / 100.0,
            note: None,
            estimated: None,
        };
        let mut sensitivity = vec![
            row("Same side up", "growth", 5.0, 12.0),
            row("Same side down", "margin", -9.0, -3.0),
            row("No move", "volatility", 0.0, 0.0),
            row("Not a number", "response.max_uplift", f64::NAN, 4.0),
        ];
        for k in 0..22 {
            sensitivity.push(row(
                &format!("Unit {k}"),
                "multiple.median",
                -(k as f64),
                0.8 * k as f64,
            ));
        }
        crate::results::studies::rank(&mut sensitivity);
        let sweep = |path: &str, values: &[f64]| Sweep {
            path: path.into(),
            values: values.to_vec(),
        };
        let (a, b) = ([5.0, 3.0, 4.0], [0.1, 0.2]);
        let cases = [
            (
                vec![sweep("policies.x.years", &a)],
                points(&names, last, &a, &[0.0]),
            ),
            (
                vec![sweep("scenario.discount_rate", &[0.09])],
                points(&names, last, &[0.09], &[0.0]),
            ),
            (
                vec![
                    sweep("policies.x.years", &a),
                    sweep("scenario.discount_rate", &b),
                ],
                points(&names, last, &a, &b),
            ),
        ];
        let keep = std::env::var_os("STRATSIM_KEEP_CHARTS");
        let tmp = tempfile::tempdir().unwrap();
        register_fonts().unwrap();
        for (i, (sweeps, points)) in cases.into_iter().enumerate() {
            let dir = match &keep {
                Some(k) => Path::new(k).join(format!("case{i}")),
                None => tmp.path().join(format!("case{i}")),
            };
            std::fs::create_dir_all(&dir).unwrap();
            let studies = Studies {
                sweeps,
                points,
                sensitivity: sensitivity.clone(),
                sensitivity_steps: Default::default(),
                sensitivity_top: None,
                funding: None,
            };
            let input = Input::new(&run, &summary).with_studies(Some(&studies));
            let drawn: Vec<String> = figures(&input).into_iter().map(|f| f.file).collect();
            let sweep_file = if i == 2 {
                "sweep_heatmap.png"
            } else {
                "sweep.png"
            };
            assert!(drawn.contains(&sweep_file.to_string()), "{drawn:?}");
            assert!(drawn.contains(&"tornado.png".to_string()), "{drawn:?}");
            assert!(drawn.contains(&"spider.png".to_string()), "{drawn:?}");
            let charts: [&dyn Chart; 4] = [
                &sweep::SweepChart,
                &sweep_heatmap::SweepHeatmap,
                &tornado::Tornado,
                &spider::Spider,
            ];
            for chart in charts.into_iter().filter(|c| c.applies(&input)) {
                render(&dir, &input, chart).unwrap();
                assert!(dir.join(chart.file()).exists());
            }
        }
        // Without studies, neither chart applies.
        let input = Input::new(&run, &summary);
        assert!(figures(&input)
            .iter()
            .all(|f| f.file != "sweep.png" && f.file != "tornado.png"));
    }
}
