//! The optimizer's charts: `frontier.png` (the best mean value for each
//! limit on a risk measure, with the scenario's own policies placed on the
//! same axes) and `convergence.png` (the best objective found as the
//! search scores candidates). They take plain figures, computed by
//! `crate::optimize`, and draw them in the house style.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Axes, Entry, Swatch};
use super::{register_fonts, Area, DrawResult, HEIGHT, WIDTH};
use crate::error::{Error, Result};

/// What is placed on the frontier chart besides the frontier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A policy of the scenario.
    Policy,
    /// The policy the search started from.
    Start,
    /// The optimum.
    Optimum,
}

/// The figures of `frontier.png`.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontierFigure {
    pub title: String,
    pub subtitle: String,
    /// Description of the risk axis (horizontal) and the mean axis.
    pub x_desc: String,
    pub y_desc: String,
    /// (risk, mean) of each frontier point, least risk first.
    pub points: Vec<(f64, f64)>,
    /// Policies placed on the axes: name, risk, mean, kind.
    pub placed: Vec<(String, f64, f64, Kind)>,
    /// Notes in the legend column.
    pub notes: Vec<String>,
    /// The risk measure's short name ("CVaR5"), for the legend.
    pub risk_label: String,
}

/// The figures of `convergence.png`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceFigure {
    pub title: String,
    pub subtitle: String,
    pub y_desc: String,
    /// Each scored candidate: (evaluation number from 1, objective,
    /// feasible).
    pub evals: Vec<(usize, f64, bool)>,
    /// The best feasible objective after each evaluation (from the first
    /// feasible one).
    pub best: Vec<(usize, f64)>,
    /// Phases: name and the evaluation numbers they span.
    pub phases: Vec<(String, usize, usize)>,
    /// The start policy's objective.
    pub start: Option<f64>,
    pub notes: Vec<String>,
}

fn render(path: &Path, draw: impl FnOnce(&Area) -> DrawResult) -> Result<()> {
    crate::engine::check_interrupted()?;
    register_fonts().map_err(|e| Error::output(path, e))?;
    let drawn = (|| -> DrawResult {
        let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    drawn.map_err(|e| Error::output(path, e))
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        let d = lo.abs().max(1.0) * 0.05;
        return (lo - d, hi + d);
    }
    style::pad(lo, hi, 0.08)
}

/// Draws `frontier.png` at `path`.
pub fn draw_frontier(path: &Path, f: &FrontierFigure) -> Result<()> {
    render(path, |root| frontier(root, f))
}

fn frontier(root: &Area, f: &FrontierFigure) -> DrawResult {
    let body = style::header(root, &f.title, &f.subtitle)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, side) = body.split_horizontally(w as i32 - 420);
    let all_x = range(
        f.points
            .iter()
            .map(|p| p.0)
            .chain(f.placed.iter().map(|p| p.1)),
    );
    let all_y = range(
        f.points
            .iter()
            .map(|p| p.1)
            .chain(f.placed.iter().map(|p| p.2)),
    );
    // When the frontier is small beside the policies, a second panel
    // shows it up close (with the optimum).
    let near = |p: &&(String, f64, f64, Kind)| p.3 == Kind::Optimum;
    let fx = range(
        f.points
            .iter()
            .map(|p| p.0)
            .chain(f.placed.iter().filter(near).map(|p| p.1)),
    );
    let fy = range(
        f.points
            .iter()
            .map(|p| p.1)
            .chain(f.placed.iter().filter(near).map(|p| p.2)),
    );
    let small = f.points.len() > 1
        && ((fx.1 - fx.0) < 0.25 * (all_x.1 - all_x.0)
            || (fy.1 - fy.0) < 0.25 * (all_y.1 - all_y.0));
    if small {
        let (pw, _) = plot_area.dim_in_pixel();
        let (left, right) = plot_area.split_horizontally(pw as i32 / 2);
        panel(&left, f, all_x, all_y, "All policies")?;
        panel(&right, f, fx, fy, "The frontier up close")?;
    } else {
        panel(&plot_area, f, all_x, all_y, "")?;
    }
    let line = style::PALETTE[0];
    let mut entries = vec![Entry {
        colour: line,
        name: "Frontier (best mean per limit)".into(),
        details: vec![if f.points.len() == 1 {
            "one point: the best mean is also the least risk".into()
        } else {
            format!("{} points", f.points.len())
        }],
        strong: 0,
        swatch: Swatch::Line,
    }];
    for (name, r, m, kind) in &f.placed {
        entries.push(Entry {
            colour: kind_colour(*kind),
            name: name.clone(),
            details: vec![format!(
                "mean {}, {} {}",
                crate::format::number(*m, 1),
                f.risk_label,
                crate::format::number(*r, 1)
            )],
            strong: 0,
            swatch: Swatch::Box,
        });
    }
    style::legend(
        &side.margin(20, 10, 10, 10),
        "On the chart",
        &f.notes,
        &entries,
    )
}

fn kind_colour(kind: Kind) -> RGBColor {
    match kind {
        Kind::Optimum => style::PALETTE[3],
        Kind::Start => style::PALETTE[1],
        Kind::Policy => style::BASELINE,
    }
}

/// One panel of the frontier chart over `x` by `y`, named `heading`.
fn panel(
    area: &Area,
    f: &FrontierFigure,
    x: (f64, f64),
    y: (f64, f64),
    heading: &str,
) -> DrawResult {
    let area = if heading.is_empty() {
        area.clone()
    } else {
        let hs = style::bold(style::LEGEND_SIZE);
        style::label(area, heading, (140, 4), &hs, HPos::Left)?;
        area.margin(30, 0, 0, 0)
    };
    let x_fmt = style::ticks(x.0, x.1, 6);
    let y_fmt = style::ticks(y.0, y.1, 8);
    let mut chart = style::plot(&area, x, y, 130, 90)?;
    style::mesh(
        &mut chart,
        &Axes {
            x_desc: &f.x_desc,
            y_desc: &f.y_desc,
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            x_labels: 6,
            y_labels: 8,
        },
    )?;
    let line = style::PALETTE[0];
    chart.draw_series(LineSeries::new(
        f.points.iter().copied(),
        line.stroke_width(4),
    ))?;
    chart.draw_series(f.points.iter().map(|&p| Circle::new(p, 8, line.filled())))?;
    let inside = |p: (f64, f64)| p.0 >= x.0 && p.0 <= x.1 && p.1 >= y.0 && p.1 <= y.1;
    for (name, r, m, kind) in &f.placed {
        let p = (*r, *m);
        if !inside(p) {
            continue;
        }
        let colour = kind_colour(*kind);
        match kind {
            Kind::Policy => {
                chart.draw_series(std::iter::once(Circle::new(p, 10, colour.stroke_width(3))))?
            }
            Kind::Start => {
                chart.draw_series(std::iter::once(Circle::new(p, 11, colour.filled())))?
            }
            Kind::Optimum => {
                chart.draw_series(std::iter::once(Circle::new(p, 13, colour.filled())))?
            }
        };
        let ts = style::font(style::NOTE_SIZE).color(&style::INK);
        let (px, py) = chart.backend_coord(&p);
        let (bx, by) = area.get_base_pixel();
        style::label_boxed(
            &area,
            &style::fit(name, &ts, 260),
            (px - bx + 16, py - by - 34),
            &ts,
            HPos::Left,
        )?;
    }
    Ok(())
}

/// Draws `convergence.png` at `path`.
pub fn draw_convergence(path: &Path, c: &ConvergenceFigure) -> Result<()> {
    render(path, |root| convergence(root, c))
}

fn convergence(root: &Area, c: &ConvergenceFigure) -> DrawResult {
    let body = style::header(root, &c.title, &c.subtitle)?;
    let (w, _) = body.dim_in_pixel();
    let (plot_area, side) = body.split_horizontally(w as i32 - 420);
    let n = c.evals.len().max(2);
    let y = objective_range(c);
    let x = (0.0, n as f64 + 1.0);
    let x_fmt = style::ticks(x.0, x.1, 10);
    let y_fmt = style::ticks(y.0, y.1, 8);
    let mut chart = style::plot(&plot_area, x, y, 130, 90)?;
    phase_bands(&mut chart, &plot_area, &c.phases, y)?;
    style::mesh(
        &mut chart,
        &Axes {
            x_desc: "Candidates scored, in order",
            y_desc: &c.y_desc,
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            x_labels: 10,
            y_labels: 8,
        },
    )?;
    let inside = |v: f64| v >= y.0 && v <= y.1;
    chart.draw_series(
        c.evals
            .iter()
            .filter(|e| !e.2 && inside(e.1))
            .map(|e| Cross::new((e.0 as f64, e.1), 4, style::GRID_BOLD.stroke_width(2))),
    )?;
    let dots = style::PALETTE[0];
    chart.draw_series(
        c.evals
            .iter()
            .filter(|e| e.2 && inside(e.1))
            .map(|e| Circle::new((e.0 as f64, e.1), 3, dots.mix(0.45).filled())),
    )?;
    let best = style::PALETTE[3];
    chart.draw_series(LineSeries::new(best_steps(c, n), best.stroke_width(4)))?;
    if let Some(s) = c.start {
        chart.draw_series(LineSeries::new(
            vec![(x.0, s), (x.1, s)],
            style::BASELINE.stroke_width(2),
        ))?;
    }
    style::legend(
        &side.margin(20, 10, 10, 10),
        "On the chart",
        &c.notes,
        &convergence_entries(c, best, dots),
    )
}

/// The objective axis: the range of the feasible candidates (and the
/// start), so that far-off infeasible ones do not flatten the curve.
fn objective_range(c: &ConvergenceFigure) -> (f64, f64) {
    let feasible: Vec<f64> = c
        .evals
        .iter()
        .filter(|e| e.2)
        .map(|e| e.1)
        .chain(c.start)
        .collect();
    if feasible.is_empty() {
        return range(c.evals.iter().map(|e| e.1));
    }
    let best = c.best.last().map_or(f64::NAN, |b| b.1);
    let mut v: Vec<f64> = feasible.clone();
    v.sort_by(f64::total_cmp);
    // From the 10th percentile of feasible candidates up to the best.
    let lo = v[v.len() / 10].min(c.start.unwrap_or(f64::INFINITY));
    range([lo, best].into_iter().chain(c.best.first().map(|b| b.1)))
}

/// The search's phases as alternating shaded bands, each named at the top
/// where it is wide enough for its name.
fn phase_bands(
    chart: &mut style::Plot,
    plot_area: &Area,
    phases: &[(String, usize, usize)],
    y: (f64, f64),
) -> DrawResult {
    for (i, (name, a, b)) in phases.iter().enumerate() {
        if i % 2 == 1 {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(*a as f64 - 0.5, y.0), (*b as f64 + 0.5, y.1)],
                style::SHADE.filled(),
            )))?;
        }
        let (px, py) = chart.backend_coord(&(*a as f64, y.1));
        let (qx, _) = chart.backend_coord(&(*b as f64, y.1));
        let (bx, by) = plot_area.get_base_pixel();
        let ts = style::font(style::NOTE_SIZE).color(&style::MUTED);
        // Named only where the band is wide enough for its name.
        if style::text_width(name, &ts) <= qx - px - 8 {
            style::label(plot_area, name, (px - bx + 6, py - by + 4), &ts, HPos::Left)?;
        }
    }
    Ok(())
}

/// The best feasible objective as a staircase: flat until each
/// improvement, then on to the last of `n` evaluations.
fn best_steps(c: &ConvergenceFigure, n: usize) -> Vec<(f64, f64)> {
    let mut steps = Vec::new();
    for (i, &(k, v)) in c.best.iter().enumerate() {
        if i > 0 {
            steps.push((k as f64, c.best[i - 1].1));
        }
        steps.push((k as f64, v));
    }
    if let Some(&(_, v)) = c.best.last() {
        steps.push((n as f64, v));
    }
    steps
}

/// The legend of `convergence.png`: the best so far, the feasible and
/// infeasible candidates, and the start policy when there is one.
fn convergence_entries(c: &ConvergenceFigure, best: RGBColor, dots: RGBColor) -> Vec<Entry> {
    let mut entries = vec![
        Entry {
            colour: best,
            name: "Best feasible so far".into(),
            details: c
                .best
                .last()
                .map(|b| vec![crate::format::number(b.1, 2)])
                .unwrap_or_default(),
            strong: 1,
            swatch: Swatch::Line,
        },
        Entry {
            colour: dots,
            name: "Meets every constraint".into(),
            details: vec![],
            strong: 0,
            swatch: Swatch::Box,
        },
        Entry {
            colour: style::GRID_BOLD,
            name: "Misses a constraint (x)".into(),
            details: vec![],
            strong: 0,
            swatch: Swatch::Box,
        },
    ];
    if let Some(s) = c.start {
        entries.push(Entry {
            colour: style::BASELINE,
            name: "The start policy".into(),
            details: vec![crate::format::number(s, 2)],
            strong: 0,
            swatch: Swatch::Line,
        });
    }
    entries
}
