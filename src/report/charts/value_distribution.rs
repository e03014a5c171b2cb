//! `value_distribution.png`: how portfolio value at the last horizon is
//! spread under each policy, as overlaid histograms with P5/P50/P95 marked.
//! The overlay itself is shared with the delta chart.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes, Entry, Swatch};
use super::{Area, Chart, DrawResult, Input};
use crate::format;
use crate::format::money;
use crate::model::Metric;
use crate::stats::histogram;
use crate::stats::{MetricAcc, Stats};

pub struct ValueDistribution;

/// Drawn bins per display bin (see `Curves::new`).
const FINE: usize = 4;

/// One policy's distribution to overlay.
pub(super) struct Series<'a> {
    pub policy: usize,
    pub metric: &'a MetricAcc,
    pub stats: Stats,
}

impl Chart for ValueDistribution {
    fn file(&self) -> &'static str {
        "value_distribution.png"
    }

    fn title(&self, input: &Input) -> String {
        value_title(input, "spread of outcomes by policy")
    }

    fn how_to_read(&self, _input: &Input) -> String {
        "Each curve shows the share of trials that end near each value under one policy (a histogram drawn as a line); the solid vertical line marks its median (P50) and the dashed lines its P5 and P95, so a curve further right is worth more and a wider one is riskier.".into()
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let h = input.last();
        let body = value_header(root, input, &self.title(input))?;
        let series: Vec<Series> = (0..input.scenario.policies.len())
            .map(|p| Series {
                policy: p,
                metric: input.metric(p, h, Metric::Value),
                stats: input.stats(p, h, Metric::Value),
            })
            .collect();
        let entries: Vec<Entry> = series
            .iter()
            .map(|s| {
                let [p5, _, p50, _, p95] = s.stats.quantiles;
                Entry {
                    colour: colour(input, s.policy),
                    name: style::policy_name(input, s.policy),
                    details: vec![if s.metric.min() == s.metric.max() {
                        format!("the same in every trial: {}", money(p50))
                    } else {
                        format!("P5 {} · P50 {} · P95 {}", money(p5), money(p50), money(p95))
                    }],
                    strong: 0,
                    swatch: Swatch::Line,
                }
            })
            .collect();
        let x_desc = value_axis(input);
        let notes = vec![
            if series.len() <= 8 {
                "Solid line: median (P50). Dashed lines: P5 and P95."
            } else {
                "Solid line: median (P50)."
            }
            .to_string(),
            format!("Figures in {}.", input.currency()),
        ];
        overlay(
            &body, input, &series, &x_desc, None, "Policy", &notes, &entries,
        )
    }
}

/// "Portfolio value at year N: `what`", the value charts' title.
pub(super) fn value_title(input: &Input, what: &str) -> String {
    format!(
        "Portfolio value at year {}: {what}",
        input.years(input.last())
    )
}

/// The value charts' header: their range leaves out the extremes.
pub(super) fn value_header<'a>(
    root: &Area<'a>,
    input: &Input,
    title: &str,
) -> DrawResult<Area<'a>> {
    let subtitle = style::subtitle(input, "the 1% most extreme trials are off the frame");
    style::header(root, title, &subtitle)
}

/// The value axis's description at the last horizon.
pub(super) fn value_axis(input: &Input) -> String {
    format!(
        "Portfolio value at year {} ({}, present value)",
        input.years(input.last()),
        input.currency()
    )
}

/// Overlaid step histograms of several policies over a common range
/// [min P0.5, max P99.5], with each policy's P5/P50/P95 marked, plus a
/// legend column. With `zero`, a vertical reference line at 0 carries that
/// label (and 0 is brought into the frame when that does not squash the
/// distributions).
#[allow(clippy::too_many_arguments)]
pub(super) fn overlay(
    body: &Area,
    input: &Input,
    series: &[Series],
    x_desc: &str,
    zero: Option<&str>,
    heading: &str,
    notes: &[String],
    entries: &[Entry],
) -> DrawResult {
    let (plot_area, legend_area) = style::with_legend(body);
    let mut notes = notes.to_vec();
    let (lo, hi) = x_range(series, zero.is_some(), &mut notes);
    let curves = Curves::new(input, series, lo, hi);
    let mut chart = style::plot(&plot_area, (lo, hi), (0.0, curves.top), 130, 95)?;
    let x_fmt = style::ticks(lo, hi, 10);
    let y_ticks = style::ticks(0.0, curves.top, 8);
    let y_fmt = move |v: &f64| format!("{}%", y_ticks(v));
    let y_desc = format!(
        "Share of trials per {} {} (smoothed)",
        format::number(curves.bin, style::decimals_for(curves.bin / 10.0).min(3)),
        input.currency()
    );
    style::mesh(
        &mut chart,
        &Axes {
            x_desc,
            y_desc: &y_desc,
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            x_labels: 10,
            y_labels: 8,
        },
    )?;
    curves.draw(input, series, &mut chart)?;
    if let Some(text) = zero {
        if lo <= 0.0 && hi >= 0.0 {
            zero_line(&mut chart, &plot_area, curves.top, text)?;
        }
    }
    style::legend(&legend_area, heading, &notes, entries)
}

/// The common horizontal range: [min P0.5, max P99.5], padded; with a zero
/// line, 0 brought in when that does not squash the distributions (else a
/// note says where it is).
fn x_range(series: &[Series], zero: bool, notes: &mut Vec<String>) -> (f64, f64) {
    let metrics: Vec<&MetricAcc> = series.iter().map(|s| s.metric).collect();
    let (q_lo, q_hi) = histogram::quantile_range(&metrics, 0.005, 0.995);
    let (mut lo, mut hi) = style::pad(q_lo, q_hi, 0.04);
    if zero {
        let span = hi - lo;
        if lo > 0.0 && lo <= span {
            lo = -0.04 * (hi + 0.0);
        } else if hi < 0.0 && -hi <= span {
            hi = 0.04 * -lo;
        } else if lo > 0.0 {
            notes.push("0 (no difference) is far to the left, off the frame.".into());
        } else if hi < 0.0 {
            notes.push("0 (no difference) is far to the right, off the frame.".into());
        }
    }
    (lo, hi)
}

/// Every policy's histogram over [lo, hi] in shares of trials (percent),
/// drawn as frequency polygons.
struct Curves {
    lo: f64,
    hi: f64,
    /// Width of the drawn (fine) bins.
    width: f64,
    /// Width of the bin the heights are a share of.
    bin: f64,
    hists: Vec<Vec<f64>>,
    /// Policies with the same value in every trial (e.g. one identical to
    /// the baseline): a single spike, drawn as a full-height line and left
    /// out of the vertical scale so that it does not flatten the others.
    point: Vec<bool>,
    /// The vertical scale's top.
    top: f64,
}

impl Curves {
    fn new(input: &Input, series: &[Series], lo: f64, hi: f64) -> Curves {
        let bins = histogram::bin_count(lo, hi, input.acc.trials);
        // Drawn on bins FINE times narrower, smoothed by a kernel as wide
        // as a display bin or a sketch bucket (whichever is wider), and
        // scaled back to the share per display bin: a smooth density, not
        // the steps of the sketch's buckets against the bins.
        let fine = bins * FINE;
        let bin = (hi - lo) / bins as f64;
        let bucket = lo.abs().max(hi.abs()) / 256.0;
        let sigma = bin.max(bucket) / (bin / FINE as f64);
        let hists: Vec<Vec<f64>> = series
            .iter()
            .map(|s| {
                let h = histogram::histogram(s.metric, lo, hi, fine);
                histogram::smoothed(&h, sigma)
                    .into_iter()
                    .map(|x| 100.0 * FINE as f64 * x)
                    .collect()
            })
            .collect();
        let point: Vec<bool> = series
            .iter()
            .map(|s| s.metric.min() == s.metric.max())
            .collect();
        let top = hists
            .iter()
            .zip(&point)
            .filter(|(_, &p)| !p)
            .flat_map(|(h, _)| h.iter().copied())
            .fold(0.0f64, f64::max);
        Curves {
            lo,
            hi,
            width: (hi - lo) / fine as f64,
            bin,
            hists,
            point,
            top: if top > 0.0 { top * 1.12 } else { 1.0 },
        }
    }

    /// Frequency polygon of a histogram: each bin's share at the bin's
    /// centre, held flat to both ends.
    fn curve(&self, h: &[f64]) -> Vec<(f64, f64)> {
        let mut pts = Vec::with_capacity(h.len() + 2);
        pts.push((self.lo, h[0]));
        pts.extend(
            h.iter()
                .enumerate()
                .map(|(i, &y)| (self.lo + (i as f64 + 0.5) * self.width, y)),
        );
        pts.push((self.hi, h[h.len() - 1]));
        pts
    }

    /// The polygon's height at `x`.
    fn height_at(&self, h: &[f64], x: f64) -> f64 {
        let pts = self.curve(h);
        let k = pts.partition_point(|p| p.0 <= x).clamp(1, pts.len() - 1);
        let ((x0, y0), (x1, y1)) = (pts[k - 1], pts[k]);
        if x1 > x0 {
            y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        } else {
            y1
        }
    }

    /// Fills (for a few policies), curves and spikes, then each policy's
    /// P5 / P50 / P95 markers as high as its curve there (P5 and P95 only
    /// while they stay legible).
    fn draw(&self, input: &Input, series: &[Series], chart: &mut style::Plot) -> DrawResult {
        let (lo, hi, top) = (self.lo, self.hi, self.top);
        let spread = || {
            series
                .iter()
                .zip(&self.hists)
                .zip(&self.point)
                .filter(|(_, &p)| !p)
                .map(|((s, h), _)| (s, h))
        };
        let fill_alpha = if series.len() <= 3 {
            0.16
        } else if series.len() <= 8 {
            0.07
        } else {
            0.0
        };
        if fill_alpha > 0.0 {
            for (s, h) in spread() {
                let c = colour(input, s.policy);
                let mut poly = self.curve(h);
                poly.push((hi, 0.0));
                poly.push((lo, 0.0));
                chart
                    .plotting_area()
                    .draw(&Polygon::new(poly, c.mix(fill_alpha).filled()))?;
            }
        }
        let stroke = if series.len() <= 8 { 3 } else { 2 };
        for ((s, h), &p) in series.iter().zip(&self.hists).zip(&self.point) {
            let c = colour(input, s.policy);
            if p {
                let v = s.metric.min();
                if v >= lo && v <= hi {
                    chart.draw_series(LineSeries::new(
                        vec![(v, 0.0), (v, top)],
                        c.stroke_width(stroke + 2),
                    ))?;
                }
            } else {
                chart.draw_series(LineSeries::new(self.curve(h), c.stroke_width(stroke)))?;
            }
        }
        let tails = series.len() <= 8;
        for (s, h) in spread() {
            let c = colour(input, s.policy);
            let [p5, _, p50, _, p95] = s.stats.quantiles;
            for (q, solid) in [(p5, false), (p50, true), (p95, false)] {
                if !(q >= lo && q <= hi) || !(solid || tails) {
                    continue;
                }
                let y = self.height_at(h, q);
                if solid {
                    chart
                        .draw_series(LineSeries::new(vec![(q, 0.0), (q, y)], c.stroke_width(4)))?;
                } else {
                    chart.draw_series(DashedLineSeries::new(
                        vec![(q, 0.0), (q, y)],
                        10,
                        7,
                        c.stroke_width(2),
                    ))?;
                }
            }
        }
        Ok(())
    }
}

/// The vertical line at 0, with `text` left of it and "policy better"
/// right of it.
fn zero_line(chart: &mut style::Plot, plot_area: &Area, top: f64, text: &str) -> DrawResult {
    chart.draw_series(LineSeries::new(
        vec![(0.0, 0.0), (0.0, top)],
        style::INK.stroke_width(2),
    ))?;
    let (x, y) = chart.backend_coord(&(0.0, top));
    let base = plot_area.get_base_pixel();
    let (x, y) = (x - base.0, y - base.1 + 8);
    let s = style::bold(style::NOTE_SIZE);
    style::label(
        plot_area,
        &format!("◀ {text}"),
        (x - 10, y),
        &s,
        HPos::Right,
    )?;
    style::label(plot_area, "policy better ▶", (x + 10, y), &s, HPos::Left)
}
