//! Everything a run writes: summaries (JSON, CSV), the terminal table, the
//! charts and the report pages. Writers take computed results, never raw
//! engine state.

pub mod charts;
pub mod digest;
pub mod document;
pub mod headline;
pub mod summary;
pub mod table;
pub mod unit_paths;
pub mod workbook;

use std::path::Path;

pub use summary::Summary;

use crate::error::{Error, Result};
use crate::model::trial::Plan;
use crate::model::Scenario;
use crate::stats::Accumulator;
use crate::study::Studies;

/// Writes the charts (unless `draw_charts` is false), then report.md and
/// report.html, into `dir`. `studies` adds the sweep and tornado charts
/// and their section of the report. Reads the results only: the numbers of
/// summary.json are the same with or without charts.
pub fn write_report(
    dir: &Path,
    scenario: &Scenario,
    plan: &Plan,
    acc: &Accumulator,
    summary: &Summary,
    studies: Option<&Studies>,
    draw_charts: bool,
) -> Result<()> {
    if unit_paths::recorded(&plan.layout) {
        let path = dir.join("unit_paths.csv");
        std::fs::write(&path, unit_paths::to_csv(scenario, &plan.layout, acc))
            .map_err(|e| Error::output(&path, e))?;
    }
    let input = charts::Input::new(scenario, plan, acc, summary).with_studies(studies);
    let figures = if draw_charts {
        charts::render_all(dir, &input)?
    } else {
        Vec::new()
    };
    let doc = document::Document::new(&input, &figures);
    for (name, text) in [("report.md", doc.markdown()), ("report.html", doc.html())] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::output(&path, e))?;
    }
    Ok(())
}
