//! The funding study as a reader sees it: the short table printed after
//! a run and the report's section (its chart is `charts::funding`).

use std::fmt::Write as _;

use super::markup::Block;
use crate::format::{gain, years};
use crate::results::funding::{sentences, FundingRow, FundingStudy};

/// The short table printed after a run.
pub fn table(study: &FundingStudy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nHow long to fund each innovation unit (policy {}, one unit at a time, same draws): gain in the unit's own value vs not funding it, {} (mean ±se, P(gain > 0)); * best",
        study.policy, study.currency
    );
    let funded: Vec<f64> = study.years.iter().copied().filter(|&y| y != 0.0).collect();
    let uw = study
        .units
        .iter()
        .map(|u| u.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let cw = 21;
    let mut header = format!("{:<uw$}  {:>4}", "unit", "year");
    for y in &funded {
        let _ = write!(header, "  {:>cw$}", format!("{} y funded", years(*y)));
    }
    let _ = write!(header, "  {:>5}", "best");
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
    for unit in &study.units {
        for &h in &study.horizons {
            let mut line = format!("{unit:<uw$}  {h:>4}");
            let cells = cycle_cells(study, &funded, unit, h, |r| {
                let best = if r.best { "*" } else { " " };
                format!("{} {:>3.0}%{best}", gain_of(r), 100.0 * r.prob_gain)
            });
            if let Some((best, cycles)) = cells.split_last() {
                for cell in cycles {
                    let _ = write!(line, "  {cell:>cw$}");
                }
                let _ = writeln!(line, "  {best:>5}");
            }
            out.push_str(&line);
        }
    }
    out
}

/// The report's section: what was run, one sentence per unit, and the
/// gains at every horizon.
pub fn report_blocks(study: &FundingStudy) -> Vec<Block> {
    let funded: Vec<f64> = study.years.iter().copied().filter(|&y| y != 0.0).collect();
    let listed: Vec<String> = study.years.iter().map(|&y| years(y)).collect();
    let mut blocks = vec![
        Block::Heading(2, "How long to fund each innovation unit".into()),
        Block::Para(format!(
            "Under policy {}, each unit below was funded for {} years, one unit at a time (the others on the policy's terms), every variant on the same random draws. Gain: the unit's own value (its discounted cash plus its value at the horizon) minus its value when not funded, in the same trial, in {}; P(gain > 0): share of trials in which funding added value; spend: present value of what was invested in the unit. Every figure per horizon is in funding.csv, with the group's gain beside the unit's.",
            study.policy,
            listed.join(", "),
            study.currency
        )),
    ];
    blocks.push(Block::Para(format!(
        "A horizon h values a unit funded for its cycle and then left to its own growth, with what that growth costs (the one-future valuation, docs/model.md): so the cycles compare fairly where every cycle has ended. The choice below is read at year {}{}; \"how sure\" is the share of trials, same draws, in which the best cycle gives the unit more value than the runner-up, with its Monte Carlo error. Under 60% it is called a toss-up.",
        study.read_at,
        if study.horizons.len() > 1 { " (the other years are in the table)" } else { "" },
    )));
    blocks.push(Block::List(sentences(study)));
    let mut header = vec!["unit".to_string(), "year".to_string()];
    header.extend(funded.iter().map(|&y| format!("{} y funded", years(y))));
    header.push("best".into());
    let mut rows = Vec::new();
    for unit in &study.units {
        for &h in &study.horizons {
            let mut row = vec![unit.clone(), h.to_string()];
            row.extend(cycle_cells(study, &funded, unit, h, |r| {
                let best = if r.best { " best" } else { "" };
                format!("{} ({:.0}%){best}", gain_of(r), 100.0 * r.prob_gain)
            }));
            rows.push(row);
        }
    }
    blocks.push(Block::Table {
        header,
        numeric_from: 1,
        rows,
    });
    blocks
}

/// The cells of `unit` at horizon `h`: each funded cycle's (`cell` of its
/// row, empty where there is none), then the best number of years.
fn cycle_cells(
    study: &FundingStudy,
    funded: &[f64],
    unit: &str,
    h: u32,
    cell: impl Fn(&FundingRow) -> String,
) -> Vec<String> {
    let mut cells: Vec<String> = funded
        .iter()
        .map(|&y| study.row(unit, y, h).map(&cell).unwrap_or_default())
        .collect();
    cells.push(
        study
            .best(unit, h)
            .map(|r| format!("{} y", years(r.years)))
            .unwrap_or_default(),
    );
    cells
}

/// A row's gain in the unit's own value, with its standard error.
fn gain_of(r: &FundingRow) -> String {
    gain(r.gain.mean, r.gain.stderr)
}
