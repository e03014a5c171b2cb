//! `sweep.png`: what a parameter sweep found, at the last horizon. The swept
//! parameter runs along the horizontal axis (its values as ticks); the upper
//! panel shows median value (P50) with a P5-P95 band, the lower one the
//! chance of beating the baseline. A one-parameter sweep draws one line per
//! policy; a two-parameter sweep draws, for one policy, one line per value
//! of the second parameter. Data: `Studies::points` (as in sweep.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes, Entry, Swatch};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::format::money;
use crate::results::{Studies, Sweep};

pub struct SweepChart;

/// Canvas height: two stacked panels.
const SWEEP_H: u32 = 1300;
/// Most points that get a marker each.
const MARKERS_UP_TO: usize = 40;
/// Beyond this many lines (values of a second parameter), no markers, and
/// the legend shows the lowest, middle and highest values only.
const MANY_LINES: usize = 12;

/// One line of the chart, its points sorted by x.
struct Line {
    colour: RGBColor,
    name: String,
    /// (x, P5, P50, P95, probability of beating the baseline).
    pts: Vec<[f64; 5]>,
    /// Whether the probability of beating the baseline means anything
    /// (not for the baseline itself).
    compares: bool,
}

fn studies<'a>(input: &Input<'a>) -> Option<&'a Studies> {
    input.studies.filter(|s| s.has_sweep())
}

fn sweeps<'a>(input: &Input<'a>) -> &'a [Sweep] {
    studies(input).map_or(&[], |s| &s.sweeps[..])
}

/// Whether a two-parameter sweep is drawn (one policy, a line per value of
/// the second parameter).
fn two_way(input: &Input) -> bool {
    sweeps(input).len() >= 2
}

/// The lines to draw.
fn lines(input: &Input) -> Vec<Line> {
    let Some(st) = studies(input) else {
        return Vec::new();
    };
    let years = input.years(input.last());
    let base = input.baseline();
    // (x, P5, P50, P95, prob) of `policy` at the points that `keep`.
    let series = |policy: &str, keep: &dyn Fn(&[f64]) -> bool| -> Vec<[f64; 5]> {
        let mut pts: Vec<[f64; 5]> = st
            .points
            .iter()
            .filter(|pt| keep(&pt.values))
            .filter_map(|pt| {
                let h = pt
                    .headlines
                    .iter()
                    .find(|h| h.policy == policy && h.horizon == years)?;
                let x = *pt.values.first()?;
                (x.is_finite() && h.p50.is_finite()).then_some([
                    x,
                    h.p5,
                    h.p50,
                    h.p95,
                    h.prob_beats_baseline,
                ])
            })
            .collect();
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
        pts
    };
    if two_way(input) {
        let p = input.studied();
        let mut seconds: Vec<f64> = Vec::new();
        for v in &st.sweeps[1].values {
            if !seconds.contains(v) {
                seconds.push(*v);
            }
        }
        let fmt = format::values_format(&seconds);
        let n = seconds.len();
        seconds
            .iter()
            .enumerate()
            .map(|(i, &v)| Line {
                colour: style::ramp(i, n),
                name: fmt(&v),
                pts: series(input.policy(p), &|vals| vals.get(1) == Some(&v)),
                compares: p != base,
            })
            .collect()
    } else {
        // The baseline first, so that the others are drawn over it.
        std::iter::once(base)
            .chain((0..input.scenario.policies.len()).filter(|&p| p != base))
            .map(|p| Line {
                colour: colour(input, p),
                name: style::policy_name(input, p),
                pts: series(input.policy(p), &|_| true),
                compares: p != base,
            })
            .collect()
    }
}

impl Chart for SweepChart {
    fn file(&self) -> &'static str {
        "sweep.png"
    }

    fn applies(&self, input: &Input) -> bool {
        studies(input).is_some()
    }

    fn title(&self, input: &Input) -> String {
        let years = input.years(input.last());
        match sweeps(input) {
            [a, b, ..] => format!(
                "Sweep of {} × {}: value of {} at year {years}",
                a.path,
                b.path,
                input.policy(input.studied())
            ),
            [a] => format!("Sweep of {}: value at year {years}", a.path),
            [] => format!("Parameter sweep: value at year {years}"),
        }
    }

    fn how_to_read(&self, input: &Input) -> String {
        let years = input.years(input.last());
        let base = input.policy(input.baseline());
        match sweeps(input) {
            [a, b, ..] => format!(
                "Each line is {}'s median value at year {years} for one value of {} (colours run from the lowest value, dark, to the highest, light), against {} on the horizontal axis, with its P5-P95 band shaded; the lower panel gives its chance of beating {base} at each grid point.",
                input.policy(input.studied()),
                b.path,
                a.path
            ),
            [a, ..] => format!(
                "Each line follows a policy's median value at year {years} as {} takes the values on the horizontal axis, all on the same random draws, with the band around it holding 90% of trials (P5-P95); the lower panel gives each policy's chance of beating {base}, so a line that rises there means that setting favours the policy.",
                a.path
            ),
            [] => String::new(),
        }
    }

    fn size(&self, _input: &Input) -> (u32, u32) {
        (WIDTH, HEIGHT.max(SWEEP_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let Some(first) = sweeps(input).first() else {
            return Ok(());
        };
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(input, &subtitle_extra(input)),
        )?;
        let (_, h) = body.dim_in_pixel();
        let (plot_col, legend_area) = style::with_legend(&body);
        let frame = Frame::new(input, first);
        let top_h = if frame.compare {
            (h as f64 * 0.58) as u32
        } else {
            h - 200
        };
        let (top, bottom) = plot_col.split_vertically(top_h);
        let explicit = frame.value_panel(input, &top)?;
        frame.chance_panel(input, &bottom, explicit)?;
        let (heading, notes, entries) = frame.legend(input, explicit);
        style::legend(&legend_area, &heading, &notes, &entries)
    }
}

/// The subtitle's own part: how many runs (and, two-way, which policy).
fn subtitle_extra(input: &Input) -> String {
    let points = studies(input).map_or(0, |s| s.points.len());
    if two_way(input) {
        format!(
            "policy: {} · {points} runs on the same random draws",
            input.policy(input.studied())
        )
    } else {
        format!(
            "{points} run{} on the same random draws",
            if points == 1 { "" } else { "s" }
        )
    }
}

/// What both panels and the legend draw from: the lines, the swept values
/// on the horizontal axis and how much detail the lines get.
struct Frame<'a> {
    lines: Vec<Line>,
    /// The first parameter's distinct values, ascending.
    xs: Vec<f64>,
    x_fmt: Box<dyn Fn(&f64) -> String>,
    x_range: (f64, f64),
    /// The first parameter's path (the horizontal axis).
    path: &'a str,
    /// Whether any line has a chance of beating the baseline to show.
    compare: bool,
    /// P5-P95 bands (few lines only).
    bands: bool,
    markers: bool,
    stroke: u32,
}

impl<'a> Frame<'a> {
    fn new(input: &Input, first: &'a Sweep) -> Frame<'a> {
        let mut lines = lines(input);
        let compare = lines.iter().any(|l| l.compares);
        let mut xs: Vec<f64> = first
            .values
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let (x_lo, x_hi) = x_range(&xs);
        // A one-value sweep: the lines' dots and whiskers side by side
        // rather than on top of each other.
        if xs.len() == 1 {
            let step = (x_hi - x_lo) * (0.06f64).min(0.8 / lines.len().max(1) as f64);
            let mid = (lines.len() as f64 - 1.0) / 2.0;
            for (i, l) in lines.iter_mut().enumerate() {
                for p in &mut l.pts {
                    p[0] += (i as f64 - mid) * step;
                }
            }
        }
        Frame {
            x_fmt: Box::new(format::values_format(&xs)),
            bands: lines.len() <= 4,
            markers: xs.len() <= MARKERS_UP_TO && lines.len() <= MANY_LINES,
            stroke: if lines.len() <= 8 { 3 } else { 2 },
            x_range: (x_lo, x_hi),
            path: first.path.as_str(),
            compare,
            lines,
            xs,
        }
    }

    /// The upper panel: each line's median with its P5-P95 band (or
    /// whisker), and the medians written on when there are few. Returns
    /// whether the swept values themselves are the ticks.
    fn value_panel(&self, input: &Input, top: &Area) -> DrawResult<bool> {
        let (x_lo, x_hi) = self.x_range;
        let lines = &self.lines;
        let (y_lo, y_hi) = {
            let lo = lines
                .iter()
                .flat_map(|l| l.pts.iter().map(|p| p[1].min(p[2])))
                .filter(|x| x.is_finite())
                .fold(f64::INFINITY, f64::min);
            let hi = lines
                .iter()
                .flat_map(|l| l.pts.iter().map(|p| p[3].max(p[2])))
                .filter(|x| x.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            style::pad(lo, hi, 0.06)
        };
        let value_desc = format!(
            "Value at year {} ({}, present value)",
            input.years(input.last()),
            input.currency()
        );
        let bottom = if self.compare { 50 } else { 95 };
        let mut chart = style::plot(top, (x_lo, x_hi), (y_lo, y_hi), 130, bottom)?;
        let explicit = x_axis(
            &mut chart,
            top,
            &self.xs,
            &self.x_fmt,
            if self.compare { "" } else { self.path },
            &value_desc,
            &style::ticks(y_lo, y_hi, 8),
            8,
        )?;
        if self.bands {
            self.draw_bands(&mut chart)?;
        }
        for l in lines {
            draw_line(&mut chart, l, |p| p[2], self.stroke, self.markers)?;
        }
        // With one or two lines and few points, the medians themselves: the
        // higher line's above it, the lower one's below.
        if lines.len() <= 2 && explicit && self.xs.len() <= 12 {
            let mean =
                |l: &Line| l.pts.iter().map(|p| p[2]).sum::<f64>() / l.pts.len().max(1) as f64;
            let top_line = lines
                .iter()
                .enumerate()
                .max_by(|a, b| mean(a.1).total_cmp(&mean(b.1)))
                .map_or(0, |(i, _)| i);
            for (i, l) in lines.iter().enumerate() {
                let dy = if i == top_line { -38 } else { 18 };
                label_points(&chart, top, l, |p| p[2], |p| money(p[2]), |_| dy)?;
            }
        }
        Ok(explicit)
    }

    /// Each line's P5-P95 band between dashed lines, or, for a line of one
    /// point, a whisker.
    fn draw_bands(&self, chart: &mut style::Plot) -> DrawResult {
        let band_alpha = if self.lines.len() <= 2 { 0.08 } else { 0.05 };
        for l in &self.lines {
            if l.pts.len() >= 2 {
                let band: Vec<(f64, f64)> = l
                    .pts
                    .iter()
                    .map(|p| (p[0], p[3]))
                    .chain(l.pts.iter().rev().map(|p| (p[0], p[1])))
                    .collect();
                chart
                    .plotting_area()
                    .draw(&Polygon::new(band, l.colour.mix(band_alpha).filled()))?;
                for k in [1, 3] {
                    chart.draw_series(DashedLineSeries::new(
                        l.pts.iter().map(|p| (p[0], p[k])),
                        9,
                        6,
                        l.colour.mix(0.8).stroke_width(2),
                    ))?;
                }
            }
        }
        // A single point has no band to shade: P5-P95 as a whisker.
        let whisker = (self.x_range.1 - self.x_range.0) * 0.01;
        for l in self.lines.iter().filter(|l| l.pts.len() == 1) {
            for p in &l.pts {
                let c = l.colour.stroke_width(2);
                let area = chart.plotting_area();
                area.draw(&PathElement::new(vec![(p[0], p[1]), (p[0], p[3])], c))?;
                for y in [p[1], p[3]] {
                    area.draw(&PathElement::new(
                        vec![(p[0] - whisker, y), (p[0] + whisker, y)],
                        c,
                    ))?;
                }
            }
        }
        Ok(())
    }

    /// The lower panel: each policy's chance of beating the baseline, or a
    /// sentence saying why there is none to show.
    fn chance_panel(&self, input: &Input, bottom: &Area, explicit: bool) -> DrawResult {
        let base_name = input.policy(input.baseline());
        if !self.compare {
            let text = if two_way(input) || input.scenario.policies.len() == 1 {
                format!("Only one policy ({base_name}): no chance of beating the baseline to show.")
            } else {
                format!("{base_name} is the baseline: no chance of beating it to show.")
            };
            return style::message(&bottom.margin(20, 0, 90, 0), &text);
        }
        let (x_lo, x_hi) = self.x_range;
        let mut chart = style::plot(bottom, (x_lo, x_hi), (0.0, 100.0), 130, 95)?;
        let y_fmt = |v: &f64| format!("{v:.0}%");
        x_axis(
            &mut chart,
            bottom,
            &self.xs,
            &self.x_fmt,
            self.path,
            &format!("Chance of beating {base_name}"),
            &y_fmt,
            5,
        )?;
        chart.draw_series(DashedLineSeries::new(
            vec![(x_lo, 50.0), (x_hi, 50.0)],
            8,
            6,
            style::MUTED.stroke_width(2),
        ))?;
        let comparing: Vec<&Line> = self.lines.iter().filter(|l| l.compares).collect();
        for l in &comparing {
            draw_line(&mut chart, l, |p| 100.0 * p[4], self.stroke, self.markers)?;
        }
        // With a single line and few points, the figures themselves.
        if let [l] = comparing[..] {
            if explicit && l.pts.len() <= 12 {
                let chance = |p: &[f64; 5]| 100.0 * p[4];
                let text = |p: &[f64; 5]| format!("{:.0}%", 100.0 * p[4]);
                let dy = |p: &[f64; 5]| if p[4] < 0.85 { -38 } else { 16 };
                label_points(&chart, bottom, l, chance, text, dy)?;
            }
        }
        Ok(())
    }

    /// The legend: its heading, notes and one entry per line (three of
    /// many).
    fn legend(&self, input: &Input, explicit: bool) -> (String, Vec<String>, Vec<Entry>) {
        let lines = &self.lines;
        let base_name = input.policy(input.baseline());
        let many = lines.len() > MANY_LINES;
        let keep: Vec<usize> = if many {
            vec![0, lines.len() / 2, lines.len() - 1]
        } else {
            (0..lines.len()).collect()
        };
        let entries: Vec<Entry> = keep
            .iter()
            .map(|&i| {
                let l = &lines[i];
                let name = match i {
                    0 if many => format!("{} (lowest)", l.name),
                    _ if many && i + 1 == lines.len() => format!("{} (highest)", l.name),
                    _ => l.name.clone(),
                };
                Entry {
                    colour: l.colour,
                    name,
                    details: self.details(l, base_name),
                    strong: 0,
                    swatch: Swatch::Line,
                }
            })
            .collect();
        let heading = if two_way(input) {
            sweeps(input)[1].path.clone()
        } else {
            "Policy".to_string()
        };
        let mut notes = Vec::new();
        if many {
            notes.push(format!(
                "{} lines, one per value of this parameter, shading from dark (lowest) to light (highest); three are listed here.",
                lines.len()
            ));
        } else if two_way(input) {
            notes.push(
                "One line per value of this parameter, dark (lowest) to light (highest)."
                    .to_string(),
            );
        }
        notes.push(if !self.bands {
            "Line: median (P50); with this many lines P5 and P95 are left to sweep.csv.".to_string()
        } else if self.xs.len() == 1 {
            "Dot: median (P50). Whisker: P5 to P95, 90% of trials.".to_string()
        } else {
            "Solid line: median (P50). Shaded band between dashed lines: P5 to P95, 90% of trials."
                .to_string()
        });
        if two_way(input) {
            notes.push(format!("Policy: {}.", input.policy(input.studied())));
        }
        if !explicit {
            notes.push(format!("{} swept values; all in sweep.csv.", self.xs.len()));
        }
        if self.compare {
            notes.push("Lower panel: dashed line at 50%, even odds.".to_string());
        }
        notes.push(format!("Figures in {}.", input.currency()));
        (heading, notes, entries)
    }

    /// A line's legend details: its median (and chance of beating the
    /// baseline) at the first and last swept value.
    fn details(&self, l: &Line, base_name: &str) -> Vec<String> {
        let mut details = Vec::new();
        let x_fmt = &self.x_fmt;
        if let (Some(a), Some(b)) = (l.pts.first(), l.pts.last()) {
            details.push(if l.pts.len() == 1 {
                format!("median {}", money(a[2]))
            } else {
                format!(
                    "median {} at {} → {} at {}",
                    money(a[2]),
                    x_fmt(&a[0]),
                    money(b[2]),
                    x_fmt(&b[0])
                )
            });
            if l.compares {
                details.push(if l.pts.len() == 1 {
                    format!("beats {base_name} {:.0}%", 100.0 * a[4])
                } else {
                    format!(
                        "beats {base_name}: {:.0}% → {:.0}%",
                        100.0 * a[4],
                        100.0 * b[4]
                    )
                });
            }
        }
        details
    }
}

/// Writes `text(p)` over each point of `l` at height `y(p)`, `dy(p)`
/// pixels above (negative) or below it, boxed in the line's colour.
fn label_points(
    chart: &style::Plot,
    area: &Area,
    l: &Line,
    y: impl Fn(&[f64; 5]) -> f64,
    text: impl Fn(&[f64; 5]) -> String,
    dy: impl Fn(&[f64; 5]) -> i32,
) -> DrawResult {
    let b = area.get_base_pixel();
    let s = style::bold(style::NOTE_SIZE).color(&l.colour);
    for p in &l.pts {
        let (x, py) = chart.backend_coord(&(p[0], y(p)));
        style::label_boxed(
            area,
            &text(p),
            (x - b.0, py - b.1 + dy(p)),
            &s,
            HPos::Center,
        )?;
    }
    Ok(())
}

/// The horizontal range over the swept values; one value gets a window
/// around it.
fn x_range(xs: &[f64]) -> (f64, f64) {
    let (lo, hi) = match (xs.first(), xs.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return (0.0, 1.0),
    };
    if hi > lo {
        let pad = (hi - lo) * 0.04;
        (lo - pad, hi + pad)
    } else {
        let w = if lo != 0.0 { lo.abs() * 0.2 } else { 1.0 };
        (lo - w, hi + w)
    }
}

/// Draws the mesh with the swept values as the horizontal ticks (each with
/// a light grid line) when they fit side by side; otherwise with evenly
/// spaced ticks. Returns whether the values themselves are the ticks.
#[allow(clippy::too_many_arguments)]
fn x_axis(
    chart: &mut style::Plot,
    area: &Area,
    xs: &[f64],
    x_fmt: &dyn Fn(&f64) -> String,
    x_desc: &str,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
    y_labels: usize,
) -> DrawResult<bool> {
    let tick = style::font(style::TICK_SIZE);
    let px: Vec<i32> = xs
        .iter()
        .map(|x| chart.backend_coord(&(*x, 0.0)).0)
        .collect();
    let widest = xs
        .iter()
        .map(|x| style::text_width(&x_fmt(x), &tick))
        .max()
        .unwrap_or(0);
    let gap = px.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(i32::MAX);
    let explicit = xs.len() <= 30 && gap >= widest + 16;
    let integers = xs.iter().all(|x| x.fract() == 0.0);
    let (lo, hi) = {
        let r = chart.x_range();
        (r.start, r.end)
    };
    let auto = if integers {
        ((hi - lo).floor() as usize + 1).clamp(2, 10)
    } else {
        10
    };
    let auto_fmt = style::ticks(lo, hi, auto);
    style::mesh(
        chart,
        &Axes {
            x_desc,
            y_desc,
            x_fmt: if explicit { x_fmt } else { &auto_fmt },
            y_fmt,
            x_labels: if explicit { 0 } else { auto },
            y_labels,
        },
    )?;
    if explicit {
        let y_range = chart.y_range();
        let b = area.get_base_pixel();
        for x in xs {
            chart.draw_series(LineSeries::new(
                vec![(*x, y_range.start), (*x, y_range.end)],
                style::GRID_BOLD.stroke_width(1),
            ))?;
            let (px, py) = chart.backend_coord(&(*x, y_range.start));
            let (px, py) = (px - b.0, py - b.1);
            area.draw(&PathElement::new(
                vec![(px, py), (px, py + 8)],
                style::MUTED.stroke_width(2),
            ))?;
            style::label(area, &x_fmt(x), (px, py + 14), &tick, HPos::Center)?;
        }
    }
    Ok(explicit)
}

/// A line through `y` of each point, with markers when there are few.
fn draw_line(
    chart: &mut style::Plot,
    l: &Line,
    y: impl Fn(&[f64; 5]) -> f64,
    stroke: u32,
    markers: bool,
) -> DrawResult {
    let pts: Vec<(f64, f64)> = l.pts.iter().map(|p| (p[0], y(p))).collect();
    chart.draw_series(LineSeries::new(pts.clone(), l.colour.stroke_width(stroke)))?;
    if markers || pts.len() == 1 {
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 7, l.colour.filled())))?;
        chart.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 7, WHITE.stroke_width(2))),
        )?;
    }
    Ok(())
}
