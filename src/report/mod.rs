//! Everything a run writes: summaries (JSON, CSV), the terminal table, the
//! charts, the report pages and the workbook. Writers take a finished
//! [`Run`] and what was computed from it ([`Input`]), never raw engine
//! state; [`write_results`] is the one place that decides which files a
//! run writes and puts them in place together.

pub mod charts;
pub mod digest;
pub mod document;
pub mod funding;
pub mod markup;
pub mod table;
pub mod uncertainty;
pub mod workbook;

use std::path::Path;

use crate::console;
use crate::error::{Error, Result};
use crate::model::{Layout, Metric, Scenario};
use crate::output::Staged;
use crate::results::{self, headline, unit_paths, Run, Studies, Summary};
use crate::stats::{Accumulator, MetricAcc, Stats};

/// What a report reads: a finished run, its summary and what its studies
/// found. The charts, the report pages and the workbook all read this one
/// value, and only read it.
pub struct Input<'a> {
    pub scenario: &'a Scenario,
    pub layout: &'a Layout,
    pub acc: &'a Accumulator,
    pub summary: &'a Summary,
    /// Sweeps and sensitivity, when the run had any.
    pub studies: Option<&'a Studies>,
    /// Report sections of a command above the report (the optimizer's),
    /// placed after the headline table.
    pub sections: &'a [markup::Block],
}

impl<'a> Input<'a> {
    /// The input of a run and its summary (no studies).
    pub fn new(run: &'a Run, summary: &'a Summary) -> Input<'a> {
        Input {
            scenario: &run.scenario,
            layout: &run.plan.layout,
            acc: &run.acc,
            summary,
            studies: None,
            sections: &[],
        }
    }

    /// The same input with the run's studies (for the study charts, the
    /// report's study sections and the workbook's study sheets).
    pub fn with_studies(self, studies: Option<&'a Studies>) -> Input<'a> {
        Input { studies, ..self }
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

    /// The policy a study chart follows when it can show only one: the
    /// first policy other than the baseline, or the baseline when it is
    /// the only policy.
    pub fn studied(&self) -> usize {
        (0..self.scenario.policies.len())
            .find(|&p| p != self.baseline())
            .unwrap_or(self.baseline())
    }

    pub fn currency(&self) -> &str {
        &self.scenario.currency
    }
}

/// How the outputs of a finished run are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteOptions {
    /// Print nothing (no table).
    pub quiet: bool,
    /// Draw the PNG charts.
    pub charts: bool,
    /// Write summary.xlsx.
    pub xlsx: bool,
    /// Tail share of VaR and CVaR.
    pub tail: f64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            quiet: false,
            charts: true,
            xlsx: true,
            tail: crate::results::figures::DEFAULT_TAIL,
        }
    }
}

/// What the code around a run found beside it: its studies, and report
/// sections of a command above this layer (the optimizer's).
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub studies: Studies,
    /// Placed after the headline table of report.md/html.
    pub sections: Vec<markup::Block>,
}

impl From<Studies> for Findings {
    fn from(studies: Studies) -> Findings {
        Findings {
            studies,
            sections: Vec::new(),
        }
    }
}

/// Writes every output of a finished run into `staged` and puts it in place.
pub fn write_results(staged: Staged, run: &Run, options: WriteOptions) -> Result<()> {
    write_results_with(staged, run, options, |_, _| Ok(Findings::default()))
}

/// [`write_results`], with `extra` writing more files into the staged
/// folder before it is put in place and returning what it found (the
/// studies' findings join the headline sentences).
pub fn write_results_with(
    staged: Staged,
    run: &Run,
    options: WriteOptions,
    extra: impl FnOnce(&Staged, &Summary) -> Result<Findings>,
) -> Result<()> {
    let scenario = &run.scenario;
    let mut summary = Summary::with_tail(scenario, &run.plan, &run.acc, options.tail);
    let Findings { studies, sections } = extra(&staged, &summary)?;
    summary.headline = headline::sentences(scenario, &summary, Some(&studies));
    staged.write("summary.json", summary.to_json())?;
    staged.write("summary.csv", summary.to_csv())?;
    let mut input =
        Input::new(run, &summary).with_studies((!studies.is_empty()).then_some(&studies));
    input.sections = &sections;
    write_report(staged.path(), &input, options.charts)?;
    if options.xlsx {
        workbook::write(staged.path(), &input)?;
    }
    let dest = staged.dest().to_path_buf();
    if let Some(note) = staged.commit()? {
        console::say(&note);
    }
    if !options.quiet {
        console::out(&table::render(scenario, &summary))?;
        if let Some(f) = input.studies.and_then(|s| s.funding.as_ref()) {
            console::out(&funding::table(f))?;
        }
        if let Some(text) = uncertainty::terminal(&input) {
            console::out(&text)?;
        }
        console::outln(&format!("wrote {}", dest.display()))?;
    }
    Ok(())
}

/// Writes unit_paths.csv (when the run recorded unit paths), the charts
/// (unless `draw_charts` is false), then report.md and report.html, into
/// `dir`. The input's studies add the sweep, tornado and funding charts
/// and their sections of the report. Reads the results only: the numbers
/// of summary.json are the same with or without charts.
pub fn write_report(dir: &Path, input: &Input, draw_charts: bool) -> Result<()> {
    if unit_paths::recorded(input.layout) {
        let path = dir.join("unit_paths.csv");
        std::fs::write(
            &path,
            unit_paths::to_csv(input.scenario, input.layout, input.acc),
        )
        .map_err(|e| Error::output(&path, e))?;
    }
    if let Some(panels) = results::uncertainty::panels(input.scenario, input.layout, input.acc) {
        let path = dir.join("uncertainty.csv");
        std::fs::write(&path, results::uncertainty::to_csv(&panels))
            .map_err(|e| Error::output(&path, e))?;
    }
    let figures = if draw_charts {
        charts::render_all(dir, input)?
    } else {
        Vec::new()
    };
    let doc = document::Document::new(input, &figures);
    for (name, text) in [("report.md", doc.markdown()), ("report.html", doc.html())] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::output(&path, e))?;
    }
    Ok(())
}
