//! `unit_paths.png`: each unit's EBITA and cumulative cash over the years,
//! by policy: the median path with the P5-P95 band of trials. Two panels a
//! unit (EBITA, then cash), two units a row, each panel on its own scale
//! so that small units read as well as large ones. Data:
//! [`crate::report::unit_paths`] (drawn only when the run recorded them).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes, Entry, Swatch};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::model::UnitFigure;
use crate::results::unit_paths::{self, Point};

pub struct UnitPaths;

/// Units drawn at most (the largest by starting revenue); the rest are in
/// unit_paths.csv.
const MAX_UNITS: usize = 24;
const ROW_H: u32 = 400;

/// Units to draw, largest starting revenue first.
fn shown(input: &Input) -> Vec<usize> {
    let mut units: Vec<usize> = (0..input.scenario.units.len()).collect();
    units.sort_by(|&a, &b| {
        let r = |u: usize| input.scenario.units[u].revenue;
        r(b).total_cmp(&r(a)).then(a.cmp(&b))
    });
    units.truncate(MAX_UNITS);
    units
}

fn entries(input: &Input) -> Vec<Entry> {
    let mut e: Vec<Entry> = (0..input.scenario.policies.len())
        .map(|p| Entry {
            colour: colour(input, p),
            name: format!("{}: median", style::policy_name(input, p)),
            details: vec![],
            strong: 0,
            swatch: Swatch::Line,
        })
        .collect();
    e.push(Entry {
        colour: style::MUTED,
        name: "band: P5-P95 of trials".into(),
        details: vec![],
        strong: 0,
        swatch: Swatch::Box,
    });
    e
}

impl Chart for UnitPaths {
    fn applies(&self, input: &Input) -> bool {
        unit_paths::recorded(input.layout)
    }

    fn file(&self) -> &'static str {
        "unit_paths.png"
    }

    fn title(&self, _input: &Input) -> String {
        "Each unit's EBITA and cumulative cash over time, by policy".into()
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Two panels per unit, each on its own scale: left, the unit's EBITA (annual run-rate at each year end, 0 once sold); right, the cash it has returned to the group so far (operating cash minus investment, plus sale proceeds, in present value at {}%/yr). Lines are medians over trials, bands hold 90% of trials (P5 to P95); a rising cash line pays back, a falling one is still being funded. The figures are in unit_paths.csv.",
            style::discount_percent(input)
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let rows = shown(input).len().div_ceil(2) as u32;
        let key = style::strip_height(&entries(input), WIDTH as i32 - 80) as u32;
        (WIDTH, HEIGHT.max(120 + key + 30 + rows * ROW_H + 20))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let units = shown(input);
        let total = input.scenario.units.len();
        let mut subtitle = format!(
            "{} · EBITA: annual run-rate, not discounted · cash: cumulative, present value at {}%/yr",
            style::run_facts(input),
            style::discount_percent(input)
        );
        if units.len() < total {
            subtitle.push_str(&format!(" · the {} largest of {total} units", units.len()));
        }
        let body = style::header(root, &self.title(input), &subtitle)?;
        let grid = style::with_key(&body, &entries(input), 20)?;
        let rows = units.len().div_ceil(2);
        let (gw, _) = grid.dim_in_pixel();
        let grid = grid.shrink((0, 0), (gw, rows as u32 * ROW_H));
        let cells = grid.split_evenly((rows, 2));
        for (&u, cell) in units.iter().zip(cells.iter()) {
            draw_unit(input, cell, u)?;
        }
        Ok(())
    }
}

/// One unit: its name, then the EBITA and cash panels side by side.
fn draw_unit(input: &Input, cell: &Area, unit: usize) -> DrawResult {
    let (w, _) = cell.dim_in_pixel();
    let name_style = style::bold(24.0);
    let name = &input.scenario.units[unit].name;
    style::label(
        cell,
        &style::fit(name, &name_style, w as i32 - 60),
        (40, 8),
        &name_style,
        HPos::Left,
    )?;
    let panels = cell.margin(42, 10, 10, 10).split_evenly((1, 2));
    for (panel, (figure, what)) in panels.iter().zip([
        (UnitFigure::Ebita, "EBITA per year"),
        (UnitFigure::Cash, "cumulative cash"),
    ]) {
        let paths: Vec<Vec<Point>> = (0..input.scenario.policies.len())
            .map(|p| unit_paths::path(input.scenario, input.layout, input.acc, p, unit, figure))
            .collect();
        draw_panel(
            input,
            panel,
            &paths,
            &format!("{what} ({})", input.currency()),
        )?;
    }
    Ok(())
}

fn draw_panel(input: &Input, area: &Area, paths: &[Vec<Point>], y_desc: &str) -> DrawResult {
    let t_max = paths
        .iter()
        .flatten()
        .map(|p| p.t)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let lo = paths
        .iter()
        .flatten()
        .map(|p| p.quantiles[0])
        .fold(0.0f64, f64::min);
    let hi = paths
        .iter()
        .flatten()
        .map(|p| p.quantiles[4])
        .fold(0.0f64, f64::max);
    let (lo, hi) = if hi > lo {
        style::pad(lo, hi, 0.05)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let x_labels = if t_max <= 10.0 { t_max as usize + 1 } else { 6 };
    let x_fmt = style::ticks(0.0, t_max, x_labels);
    let y_fmt = style::ticks(lo, hi, 6);
    let mut chart = style::plot(area, (0.0, t_max), (lo, hi), 100, 70)?;
    style::mesh(
        &mut chart,
        &Axes {
            x_desc: "Years from now",
            y_desc,
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            x_labels,
            y_labels: 6,
        },
    )?;
    if lo < 0.0 && hi > 0.0 {
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (t_max, 0.0)],
            style::MUTED.stroke_width(1),
        ))?;
    }
    for (p, pts) in paths.iter().enumerate() {
        let c = colour(input, p);
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|r| (r.t, r.quantiles[4]))
            .chain(pts.iter().rev().map(|r| (r.t, r.quantiles[0])))
            .collect();
        chart
            .plotting_area()
            .draw(&Polygon::new(band, c.mix(0.13).filled()))?;
    }
    for (p, pts) in paths.iter().enumerate() {
        let c = colour(input, p);
        let width = if p == input.baseline() { 3 } else { 4 };
        chart.draw_series(LineSeries::new(
            pts.iter().map(|r| (r.t, r.quantiles[2])),
            c.stroke_width(width),
        ))?;
    }
    Ok(())
}
