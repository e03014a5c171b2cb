//! `sweep.png`: what a one-parameter sweep found for the decision, at the
//! last horizon. The swept parameter runs along the horizontal axis; the
//! upper panel shows each policy's mean gain over the baseline (the same
//! trials under both, so the noise of the world cancels) with its 95%
//! band from the paired standard error, the lower one the chance of
//! beating the baseline with its band, on an axis fitted to the data: a
//! 1 bn effect or a 0-1% chance is read, not flattened by the spread of
//! the group's value. A two-parameter sweep is drawn by
//! [`super::sweep_heatmap`]. Data: `Studies::points` (as in sweep.csv).

use plotters::prelude::*;

use super::style::{self, colour, Axes, Entry, Swatch};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::results::{Headline, Studies};

pub struct SweepChart;

/// Canvas height: two stacked panels.
const SWEEP_H: u32 = 1300;
/// Most points that get a marker each.
const MARKERS_UP_TO: usize = 40;

/// The sweep, when the run had a one-parameter one.
fn studies<'a>(input: &Input<'a>) -> Option<&'a Studies> {
    input
        .studies
        .filter(|s| s.has_sweep() && s.sweeps.len() == 1)
}

/// One policy's points at the last horizon, sorted by the swept value.
pub(super) fn series<'a>(
    input: &Input<'a>,
    st: &'a Studies,
    policy: &str,
) -> Vec<(f64, &'a Headline)> {
    let years = input.years(input.last());
    let mut pts: Vec<(f64, &Headline)> = st
        .points
        .iter()
        .filter_map(|pt| {
            let h = pt
                .headlines
                .iter()
                .find(|h| h.policy == policy && h.horizon == years)?;
            let x = *pt.values.first()?;
            (x.is_finite() && h.delta_mean.is_finite()).then_some((x, h))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// The policies compared with the baseline (all but the baseline).
fn compared(input: &Input) -> Vec<usize> {
    (0..input.scenario.policies.len())
        .filter(|&p| p != input.baseline())
        .collect()
}

impl Chart for SweepChart {
    fn file(&self) -> &'static str {
        "sweep.png"
    }

    fn applies(&self, input: &Input) -> bool {
        studies(input).is_some() && !compared(input).is_empty()
    }

    fn title(&self, input: &Input) -> String {
        let path = studies(input).map_or(String::new(), |s| s.sweeps[0].label());
        format!(
            "Gain over {} as {path} varies, year {}",
            input.policy(input.baseline()),
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Each point is a run of the scenario with the swept value, on the same random draws. Top: the mean gain of each policy over {} at year {} (same trials under both) with its 95% confidence band, on an axis that starts at zero so that slopes read true; above the zero line the policy is worth more on average. Bottom: the share of trials in which it beats {}, with its band, on an axis that holds 50% (a toss-up) and spans at least 20 points. sweep.csv has every figure.",
            input.policy(input.baseline()),
            input.years(input.last()),
            input.policy(input.baseline())
        )
    }

    fn size(&self, _input: &Input) -> (u32, u32) {
        (WIDTH, SWEEP_H.max(HEIGHT))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let Some(st) = studies(input) else {
            return Ok(());
        };
        let points = st.points.len();
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(input, &format!("{points} runs on the same random draws")),
        )?;
        let policies = compared(input);
        let key: Vec<Entry> = policies
            .iter()
            .map(|&p| Entry {
                colour: colour(input, p),
                name: format!("{} (mean and 95% band)", input.policy(p)),
                details: vec![],
                strong: 0,
                swatch: Swatch::Line,
            })
            .collect();
        let body = style::with_key(&body, &key, 8)?;
        let (_, h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(h * 56 / 100);
        let series: Vec<(RGBColor, Vec<(f64, &Headline)>)> = policies
            .iter()
            .map(|&p| (colour(input, p), self::series(input, st, input.policy(p))))
            .collect();
        let xs: Vec<f64> = series
            .iter()
            .flat_map(|(_, s)| s.iter().map(|(x, _)| *x))
            .collect();
        let x_range = x_range(&xs);
        let values = st.sweeps[0].values.clone();
        let x_fmt = format::values_format(&values);
        // The input in words, with its path for the sweep's CSV.
        let x_desc = format!("{} ({})", st.sweeps[0].label(), st.sweeps[0].path);
        let cur = input.currency().to_string();
        // Gain panel.
        let band = |h: &Headline| h.delta_band();
        // The gain's axis runs from zero: a change of 0.6 on a level of
        // -28 must look like one, not like a cliff.
        let y = fitted(
            series
                .iter()
                .flat_map(|(_, s)| s.iter().flat_map(|(_, h)| [band(h).0, band(h).1]))
                .chain([0.0]),
            false,
        );
        panel(
            &top,
            (x_range, y),
            &series,
            &|h: &Headline| (h.delta_mean, band(h).0, band(h).1),
            &Axes {
                x_desc: "",
                y_desc: &format!("Mean gain ({cur})"),
                x_fmt: &x_fmt,
                y_fmt: &style::ticks(y.0, y.1, 8),
                x_labels: values.len().min(12),
                y_labels: 8,
            },
        )?;
        // Chance-of-beating panel, in percent.
        let pb = |h: &Headline| {
            let w = 1.959_963_984_540_054 * h.prob_stderr;
            (
                h.prob_beats_baseline,
                (h.prob_beats_baseline - w).max(0.0),
                (h.prob_beats_baseline + w).min(1.0),
            )
        };
        // The chance's axis holds 50% (a coin toss) and at least 20
        // points, so that a move of a few points is read as one.
        let y = fitted(
            series
                .iter()
                .flat_map(|(_, s)| s.iter().flat_map(|(_, h)| [pb(h).1, pb(h).2]))
                .chain([0.5]),
            true,
        );
        let y = if y.1 - y.0 < 0.2 {
            let mid = 0.5 * (y.0 + y.1);
            ((mid - 0.1).max(0.0), (mid + 0.1).min(1.0))
        } else {
            y
        };
        let ticks = style::ticks(100.0 * y.0, 100.0 * y.1, 7);
        let y_fmt = move |v: &f64| format!("{}%", ticks(&(100.0 * v)));
        panel(
            &bottom,
            (x_range, y),
            &series,
            &pb,
            &Axes {
                x_desc: &x_desc,
                y_desc: &format!("P(beats {})", input.policy(input.baseline())),
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_labels: values.len().min(12),
                y_labels: 7,
            },
        )?;
        Ok(())
    }
}

/// A value range fitted to `ys` with a margin; shares stay within [0, 1].
fn fitted(ys: impl Iterator<Item = f64>, share: bool) -> (f64, f64) {
    let (lo, hi) = ys
        .filter(|y| y.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let (lo, hi) = if share && hi - lo < 0.002 {
        // A flat share: a window of at least 0.2 points around it.
        let mid = 0.5 * (lo + hi);
        (mid - 0.001, mid + 0.001)
    } else {
        (lo, hi)
    };
    let (lo, hi) = style::pad(lo, hi, 0.08);
    if share {
        (lo.max(0.0), hi.min(1.0))
    } else {
        (lo, hi)
    }
}

/// The horizontal range of the swept values, padded; a single value gets a
/// window around it.
fn x_range(xs: &[f64]) -> (f64, f64) {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    style::pad(lo, hi, 0.05)
}

/// One panel: per series a band and a line with markers, and the zero line
/// when it is in view.
fn panel(
    area: &Area,
    (x, y): ((f64, f64), (f64, f64)),
    series: &[(RGBColor, Vec<(f64, &Headline)>)],
    fig: &dyn Fn(&Headline) -> (f64, f64, f64),
    axes: &Axes,
) -> DrawResult {
    let mut chart = style::plot(
        area,
        x,
        y,
        130,
        if axes.x_desc.is_empty() { 50 } else { 90 },
    )?;
    style::mesh(&mut chart, axes)?;
    if y.0 < 0.0 && y.1 > 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(x.0, 0.0), (x.1, 0.0)],
            style::INK.stroke_width(2),
        ))?;
    }
    for (c, pts) in series {
        if pts.is_empty() {
            continue;
        }
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|(x, h)| (*x, fig(h).2)).collect();
        poly.extend(pts.iter().rev().map(|(x, h)| (*x, fig(h).1)));
        if pts.len() > 1 {
            chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled())))?;
        } else {
            // One point: its band as an error bar.
            let (x0, h) = pts[0];
            let (_, lo, hi) = fig(h);
            chart.draw_series(LineSeries::new(vec![(x0, lo), (x0, hi)], c.stroke_width(3)))?;
        }
        let line: Vec<(f64, f64)> = pts.iter().map(|(x, h)| (*x, fig(h).0)).collect();
        chart.draw_series(LineSeries::new(line.clone(), c.stroke_width(4)))?;
        if pts.len() <= MARKERS_UP_TO {
            chart.draw_series(line.iter().map(|&p| Circle::new(p, 6, c.filled())))?;
        }
    }
    Ok(())
}
