//! `revenue_fan.png`: group revenue over time under each policy, as a fan:
//! the median path with the middle 50% and 90% of trials around it, one
//! panel per policy on a shared scale, the baseline's median repeated as a
//! dashed reference. Data: `Summary::revenue_path`, with t = 0 prepended.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::format::money;
use crate::results::figures::PathPoint;

pub struct RevenueFan;

const PANEL_H: u32 = 480;
const KEY_H: u32 = 44;

/// One policy's path, t = 0 first: (t, p5, p25, p50, p75, p95).
fn path(input: &Input, p: usize) -> Vec<[f64; 6]> {
    let r0: f64 = input.scenario.units.iter().map(|u| u.revenue).sum();
    let name = input.policy(p);
    std::iter::once([0.0, r0, r0, r0, r0, r0])
        .chain(
            input
                .summary
                .revenue_path
                .iter()
                .filter(|pt: &&PathPoint| pt.policy == name)
                .map(|pt| [pt.t, pt.p5, pt.p25, pt.p50, pt.p75, pt.p95]),
        )
        .collect()
}

impl Chart for RevenueFan {
    fn file(&self) -> &'static str {
        "revenue_fan.png"
    }

    fn title(&self, _input: &Input) -> String {
        "Group revenue over time: median path and range of outcomes by policy".into()
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "In each policy's panel the line is the median group revenue of held units, the dark band holds the middle half of trials and the light band 90% of them, with {}'s median dashed for comparison; a drop marks units being sold, a widening fan growing uncertainty.",
            input.policy(input.baseline())
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let (_, rows) = style::grid(input.scenario.policies.len());
        (WIDTH, HEIGHT.max(120 + KEY_H + 10 + rows as u32 * PANEL_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let n = input.scenario.policies.len();
        let body = style::header(
            root,
            &self.title(input),
            // Revenue is not discounted: no "present values" here.
            &format!(
                "{} · revenue of units still held (annual rate, not discounted)",
                style::run_facts(input)
            ),
        )?;
        let (key, panels) = body.split_vertically(KEY_H + 10);
        draw_key(&key.margin(4, 0, 40, 0), input)?;
        let fan = Fan::new(input);
        for (p, (area, cell)) in style::panels(&panels, n).iter().enumerate() {
            fan.panel(input, area, p, *cell)?;
        }
        Ok(())
    }
}

/// Every policy's path and the scales the panels share.
struct Fan {
    /// Per policy, per point: t, P5, P25, P50, P75, P95.
    paths: Vec<Vec<[f64; 6]>>,
    t_max: f64,
    lo: f64,
    hi: f64,
    x_labels: usize,
}

impl Fan {
    fn new(input: &Input) -> Fan {
        let n = input.scenario.policies.len();
        let paths: Vec<Vec<[f64; 6]>> = (0..n).map(|p| path(input, p)).collect();
        let t_max = paths
            .iter()
            .flat_map(|p| p.iter().map(|r| r[0]))
            .fold(0.0f64, f64::max)
            .max(1.0);
        let lo = paths
            .iter()
            .flat_map(|p| p.iter().map(|r| r[1]))
            .fold(f64::INFINITY, f64::min);
        let hi = paths
            .iter()
            .flat_map(|p| p.iter().map(|r| r[5]))
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = style::pad(lo, hi, 0.05);
        let x_labels = if t_max <= 12.0 {
            (t_max as usize + 1).max(5)
        } else {
            11
        };
        Fan {
            paths,
            t_max,
            lo,
            hi,
            x_labels,
        }
    }

    /// Policy `p`'s panel: its bands, the baseline's median dashed, its
    /// median, and the median's last figure.
    fn panel(&self, input: &Input, area: &Area, p: usize, cell: style::Cell) -> DrawResult {
        let (w, _) = area.dim_in_pixel();
        let c = colour(input, p);
        let title_style = style::bold(24.0).color(&c);
        let name = style::policy_name(input, p);
        style::label(
            area,
            &style::fit(&name, &title_style, w as i32 - 140),
            (130, 10),
            &title_style,
            HPos::Left,
        )?;
        let inner = area.margin(40, 6, 0, 6);
        let bottom = if cell.last_row { 90 } else { 50 };
        let (x, y) = ((0.0, self.t_max), (self.lo, self.hi));
        let mut chart = style::plot(&inner, x, y, cell.left(), bottom)?;
        let x_fmt = style::ticks(0.0, self.t_max, self.x_labels);
        let y_fmt = style::ticks(self.lo, self.hi, 8);
        let y_desc = format!("Group revenue ({} per year)", input.currency());
        style::mesh(
            &mut chart,
            &Axes {
                x_desc: if cell.last_row { "Years from now" } else { "" },
                y_desc: if cell.first_col { &y_desc } else { "" },
                x_fmt: &x_fmt,
                y_fmt: &y_fmt,
                x_labels: self.x_labels,
                y_labels: 7,
            },
        )?;
        let pts = &self.paths[p];
        for (a, b, alpha) in [(1, 5, 0.14), (2, 4, 0.30)] {
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|r| (r[0], r[b]))
                .chain(pts.iter().rev().map(|r| (r[0], r[a])))
                .collect();
            chart
                .plotting_area()
                .draw(&Polygon::new(band, c.mix(alpha).filled()))?;
        }
        if p != input.baseline() {
            chart.draw_series(DashedLineSeries::new(
                self.paths[input.baseline()].iter().map(|r| (r[0], r[3])),
                10,
                6,
                style::BASELINE.stroke_width(2),
            ))?;
        }
        chart.draw_series(LineSeries::new(
            pts.iter().map(|r| (r[0], r[3])),
            c.stroke_width(4),
        ))?;
        if let Some(end) = pts.last() {
            let (x, y) = chart.backend_coord(&(end[0], end[3]));
            let base = area.get_base_pixel();
            let s = style::bold(style::NOTE_SIZE).color(&c);
            let text = format!(
                "median at year {}: {}",
                format::number(end[0], 0),
                money(end[3])
            );
            style::label_boxed(
                area,
                &text,
                (x - base.0 - 8, y - base.1 - 34),
                &s,
                HPos::Right,
            )?;
        }
        Ok(())
    }
}

/// The key: what the line, the bands and the dashed line mean.
fn draw_key(area: &Area, input: &Input) -> DrawResult {
    let s = style::font(style::LEGEND_SIZE);
    let c = style::MUTED;
    let mut x = 0;
    let y = 6;
    let mid = y + 8;
    let items: [(u8, String); 4] = [
        (0, "median".into()),
        (1, "middle 50% of trials (P25-P75)".into()),
        (2, "middle 90% (P5-P95)".into()),
        (
            3,
            format!("{} median, for comparison", input.policy(input.baseline())),
        ),
    ];
    let shown = if input.scenario.policies.len() > 1 {
        4
    } else {
        3
    };
    for (kind, text) in items.into_iter().take(shown) {
        match kind {
            0 => area.draw(&PathElement::new(
                vec![(x, mid), (x + 36, mid)],
                c.stroke_width(4),
            ))?,
            1 => area.draw(&Rectangle::new(
                [(x, mid - 10), (x + 36, mid + 10)],
                c.mix(0.45).filled(),
            ))?,
            2 => area.draw(&Rectangle::new(
                [(x, mid - 10), (x + 36, mid + 10)],
                c.mix(0.2).filled(),
            ))?,
            _ => {
                for k in 0..3 {
                    area.draw(&PathElement::new(
                        vec![(x + k * 14, mid), (x + k * 14 + 9, mid)],
                        style::BASELINE.stroke_width(2),
                    ))?
                }
            }
        }
        let text = style::fit(&text, &s, 420);
        style::label(area, &text, (x + 46, y), &s, HPos::Left)?;
        x += 46 + style::text_width(&text, &s) + 40;
    }
    Ok(())
}
