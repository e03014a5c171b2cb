//! `value_cdf.png`: the cumulative distribution (S-curve) of portfolio value
//! at the last horizon, one curve per policy. Where one curve lies wholly to
//! the right of another, that policy is better at every level of risk.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes, Entry, Swatch};
use super::value_distribution::{value_axis, value_header, value_title};
use super::{Area, Chart, DrawResult, Input};
use crate::format::money;
use crate::model::Metric;
use crate::stats::histogram;
use crate::stats::MetricAcc;

pub struct ValueCdf;

/// Points per curve: smooth at any width, cheap to draw.
const POINTS: usize = 600;

impl Chart for ValueCdf {
    fn file(&self) -> &'static str {
        "value_cdf.png"
    }

    fn title(&self, input: &Input) -> String {
        value_title(input, "chance of ending at or below each value")
    }

    fn how_to_read(&self, _input: &Input) -> String {
        "Read across from a probability to the value a policy falls short of that often (e.g. the 5% line gives each policy's P5), or up from a value to the chance of doing no better; a curve further right is better, and one that stays right of another everywhere dominates it.".into()
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let h = input.last();
        let body = value_header(root, input, &self.title(input))?;
        let (plot_area, legend_area) = style::with_legend(&body);
        let n = input.scenario.policies.len();
        let metrics: Vec<&MetricAcc> = (0..n).map(|p| input.metric(p, h, Metric::Value)).collect();
        let (lo, hi) = histogram::quantile_range(&metrics, 0.005, 0.995);
        let (lo, hi) = style::pad(lo, hi, 0.03);
        let xs: Vec<f64> = (0..=POINTS)
            .map(|i| lo + (hi - lo) * i as f64 / POINTS as f64)
            .collect();

        let mut chart = style::plot(&plot_area, (lo, hi), (0.0, 100.0), 130, 95)?;
        let x_fmt = style::ticks(lo, hi, 10);
        let y_fmt = |v: &f64| format!("{v:.0}%");
        let x_desc = value_axis(input);
        style::mesh(
            &mut chart,
            &Axes {
                x_desc: &x_desc,
                y_desc: "Share of trials at or below this value",
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_labels: 10,
                y_labels: 11,
            },
        )?;
        // Reference levels: P5, median, P95.
        let base = plot_area.get_base_pixel();
        for (level, name) in [(5.0, "5%"), (50.0, "median"), (95.0, "95%")] {
            chart.draw_series(DashedLineSeries::new(
                vec![(lo, level), (hi, level)],
                8,
                6,
                style::MUTED.stroke_width(1),
            ))?;
            let (x, y) = chart.backend_coord(&(hi, level));
            let s = style::font(style::NOTE_SIZE).color(&style::MUTED);
            style::label(
                &plot_area,
                name,
                (x - base.0 - 8, y - base.1 - 26),
                &s,
                HPos::Right,
            )?;
        }
        let stroke = if n <= 8 { 4 } else { 2 };
        // Baseline last so that it stays visible on top.
        let order: Vec<usize> = (0..n)
            .filter(|&p| p != input.baseline())
            .chain(std::iter::once(input.baseline()))
            .collect();
        for &p in &order {
            let f = histogram::cdf(metrics[p], &xs);
            chart.draw_series(LineSeries::new(
                xs.iter().zip(f).map(|(&x, y)| (x, 100.0 * y)),
                colour(input, p).stroke_width(stroke),
            ))?;
        }
        let entries: Vec<Entry> = (0..n)
            .map(|p| {
                let s = input.stats(p, h, Metric::Value);
                Entry {
                    colour: colour(input, p),
                    name: style::policy_name(input, p),
                    details: vec![format!(
                        "P5 {} · median {} · P95 {}",
                        money(s.quantiles[0]),
                        money(s.quantiles[2]),
                        money(s.quantiles[4])
                    )],
                    strong: 0,
                    swatch: Swatch::Line,
                }
            })
            .collect();
        let notes = vec![
            "Further right is better. Dashed lines: the 5%, median and 95% levels.".to_string(),
            format!("Figures in {}.", input.currency()),
        ];
        style::legend(&legend_area, "Policy", &notes, &entries)
    }
}
