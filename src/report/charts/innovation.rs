//! `innovation_horizons.png`: for each unit whose role in the scenario file
//! is innovation, its value at each horizon, one box per policy side by
//! side. Reading across the horizons answers "how long should we fund it":
//! whether value keeps building after the funding years or stalls.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::model::Metric;
use crate::model::Role;

pub struct InnovationHorizons;

const PANEL_H: u32 = 470;
/// Panels drawn at most; the rest are named in a note.
const MAX_PANELS: usize = 24;

fn units(input: &Input) -> Vec<usize> {
    input
        .scenario
        .units
        .iter()
        .enumerate()
        .filter(|(_, u)| u.role == Role::Innovation)
        .map(|(i, _)| i)
        .collect()
}

/// How a policy funds unit `u`, in a few words (the policy is named by
/// colour).
fn funding(input: &Input, p: usize, u: usize) -> String {
    let t = &input.scenario.policies[p].terms[u];
    if t.role != Role::Innovation {
        return format!("run as {}", t.role.as_str().replace('_', "-"));
    }
    let mut s = format!(
        "{} × {} yr",
        format::short(t.budget),
        format::short(t.years)
    );
    if let Some(g) = t.gate {
        s.push_str(&format!(", gate yr {}", format::short(g.year)));
    }
    s
}

impl Chart for InnovationHorizons {
    fn file(&self) -> &'static str {
        "innovation_horizons.png"
    }

    fn title(&self, _input: &Input) -> String {
        "Innovation units: value at each horizon by policy (how long to fund them)".into()
    }

    fn how_to_read(&self, _input: &Input) -> String {
        "For each innovation unit, boxes show its value at each horizon under each policy (box: middle half of trials, line: median, whiskers: P5 to P95); value that keeps rising at later horizons argues for funding longer, value that flattens or whose box stays low argues for stopping at the gate.".into()
    }

    /// A scenario without innovation units gets no chart (not a
    /// full-size panel saying there is nothing to draw).
    fn applies(&self, input: &Input) -> bool {
        !units(input).is_empty()
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let n = units(input).len().min(MAX_PANELS);
        let (_, rows) = style::grid(n);
        let key = style::strip_height(&style::policy_key(input), WIDTH as i32 - 80) as u32;
        (WIDTH, HEIGHT.max(120 + key + 50 + rows as u32 * PANEL_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let list = units(input);
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(
                input,
                "unit value: its discounted cash flows plus exit or holding value",
            ),
        )?;
        if list.is_empty() {
            return style::message(
                &body,
                "No innovation units in this scenario (no unit has role = \"innovation\").",
            );
        }
        let rest = style::with_key(&body, &style::policy_key(input), 10)?;
        // Too many to draw: the largest by the baseline's median at the
        // last horizon, in file order.
        let mut list = list;
        if list.len() > MAX_PANELS {
            let (b, h) = (input.baseline(), input.last());
            let median = |u: usize| input.stats(b, h, Metric::UnitValue(u)).quantiles[2];
            list.sort_by(|&a, &c| median(c).total_cmp(&median(a)).then(a.cmp(&c)));
            list[..MAX_PANELS].sort_unstable();
        }
        let shown = &list[..list.len().min(MAX_PANELS)];
        let (rest, note) = if list.len() > shown.len() {
            let (_, h) = rest.dim_in_pixel();
            let (a, b) = rest.split_vertically(h - 40);
            (a, Some(b))
        } else {
            (rest, None)
        };
        for (&u, (area, cell)) in shown.iter().zip(style::panels(&rest, shown.len())) {
            panel(input, &area, u, cell)?;
        }
        if let Some(note) = note {
            let s = style::font(style::NOTE_SIZE).color(&style::MUTED);
            let text = format!(
                "Drawn: the {} innovation units with the largest median value under {} at year {}; {} more are in summary.csv.",
                shown.len(),
                input.policy(input.baseline()),
                input.years(input.last()),
                list.len() - shown.len()
            );
            style::label(&note, &text, (40, 8), &s, HPos::Left)?;
        }
        Ok(())
    }
}

/// One unit's panel: how each policy funds it, then its value at every
/// horizon under every policy as box plots, grouped by horizon.
fn panel(input: &Input, area: &Area, u: usize, cell: style::Cell) -> DrawResult {
    let n_p = input.scenario.policies.len();
    let n_h = input.scenario.horizons.len();
    style::panel_title(area, cell, &input.scenario.units[u].name)?;
    funding_terms(input, area, u, cell)?;
    let stats: Vec<Vec<[f64; 5]>> = (0..n_p)
        .map(|p| {
            (0..n_h)
                .map(|h| input.stats(p, h, Metric::UnitValue(u)).quantiles)
                .collect()
        })
        .collect();
    let lo = stats
        .iter()
        .flatten()
        .map(|q| q[0])
        .fold(f64::INFINITY, f64::min);
    let hi = stats
        .iter()
        .flatten()
        .map(|q| q[4])
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = style::pad(lo, hi, 0.08);
    let inner = area.margin(92, 6, 0, 10);
    let y_desc = format!("Unit value ({}, PV)", input.currency());
    let mut chart = style::panel_plot(
        &inner,
        cell,
        (0.0, n_h as f64),
        (lo, hi),
        "Horizon (years from now)",
        &y_desc,
    )?;
    // Group separators and horizon labels.
    let group_px = {
        let (a, _) = chart.backend_coord(&(0.0, lo));
        let (b, _) = chart.backend_coord(&(1.0, lo));
        b - a
    };
    let every = if group_px >= 34 {
        1
    } else {
        (34 / group_px.max(1)) as usize + 1
    };
    for h in 0..n_h {
        if h > 0 {
            chart.draw_series(LineSeries::new(
                vec![(h as f64, lo), (h as f64, hi)],
                style::GRID_BOLD.stroke_width(1),
            ))?;
        }
        if h % every == 0 {
            let years = input.years(h);
            let text = if group_px >= 90 {
                format!("year {years}")
            } else {
                years.to_string()
            };
            style::below_axis(area, &chart, (h as f64 + 0.5, lo), &text)?;
        }
    }
    if lo < 0.0 && hi > 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (n_h as f64, 0.0)],
            style::INK.stroke_width(1),
        ))?;
    }
    let slot = 0.8 / n_p as f64;
    let half = slot * 0.36;
    for (p, per_h) in stats.iter().enumerate() {
        let c = colour(input, p);
        for (h, q) in per_h.iter().enumerate() {
            let x = h as f64 + 0.1 + slot * (p as f64 + 0.5);
            style::box_plot(&mut chart, style::Values::Up, x, half, *q, c)?;
        }
    }
    Ok(())
}

/// Funding terms under the title, one coloured phrase per policy, flowing
/// over at most two lines; what does not fit ends in an ellipsis.
fn funding_terms(input: &Input, area: &Area, u: usize, cell: style::Cell) -> DrawResult {
    let n_p = input.scenario.policies.len();
    let (w, _) = area.dim_in_pixel();
    let fs = style::font(style::NOTE_SIZE).color(&style::MUTED);
    let head = format!("Funding ({}/yr × years):", input.currency());
    let start = cell.left() as i32;
    let end = w as i32 - 20;
    style::label(area, &head, (start, 42), &fs, HPos::Left)?;
    let indent = start + style::text_width(&head, &fs) + 12;
    let (mut x, mut y) = (indent, 42);
    for p in 0..n_p {
        let c = colour(input, p);
        let ps = style::bold(style::NOTE_SIZE).color(&c);
        let text = funding(input, p, u);
        let tw = style::text_width(&text, &ps);
        let room = end - if p + 1 == n_p { 0 } else { 30 };
        if x + tw > room && y == 42 {
            (x, y) = (start, 66);
        }
        if x + tw > room {
            style::label(area, "…", (x, y), &fs, HPos::Left)?;
            break;
        }
        style::label(area, &text, (x, y), &ps, HPos::Left)?;
        x += tw + 22;
    }
    Ok(())
}
