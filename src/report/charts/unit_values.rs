//! `unit_values.png`: every unit's value at the last horizon under each
//! policy, as horizontal box plots sorted by the baseline's median, so that
//! a strategist sees which units carry the portfolio and which policy moves
//! which unit. The value axis is logarithmic (signed, linear within a small
//! band around zero, see [`Symlog`]): a group's value spans three or four
//! orders of magnitude, and on a linear axis its small units are slivers.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, colour, Axes};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format::money;
use crate::model::Metric;

pub struct UnitValues;

/// Rows drawn at most (the largest units); the rest are counted in a note.
const MAX_ROWS: usize = 60;
const LABEL_W: u32 = 400;
/// Thickest box, in pixels either side of its centre.
const MAX_HALF_PX: f64 = 16.0;
/// Largest font size of the median figures, and their column's width.
const MEDIAN_SIZE: f64 = 17.0;
/// Width of one median figure when a unit's medians share a line.
const CELL_W: u32 = 80;

/// How the median figures are shown.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Medians {
    /// Beside each box, at this font size.
    PerBox(f64),
    /// One line per unit, one coloured figure per policy.
    PerRow,
    None,
}

fn row_height(policies: usize) -> u32 {
    (12 * policies as u32 + 16).clamp(38, 150)
}

/// Units in display order (largest baseline median first), at most MAX_ROWS.
fn order(input: &Input) -> Vec<usize> {
    let h = input.last();
    let b = input.baseline();
    let mut units: Vec<(usize, f64)> = (0..input.scenario.units.len())
        .map(|u| (u, input.stats(b, h, Metric::UnitValue(u)).quantiles[2]))
        .collect();
    units.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    units.into_iter().map(|(u, _)| u).collect()
}

impl Chart for UnitValues {
    fn file(&self) -> &'static str {
        "unit_values.png"
    }

    fn title(&self, input: &Input) -> String {
        format!(
            "Value of each unit at year {}, by policy (largest first)",
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Units are sorted by their median value under {}; each box spans the middle half of trials (thick line: median, whiskers: P5 to P95), so boxes far to the right are the units that carry the portfolio, and boxes that shift between policies show where a policy creates or gives up value. The axis is logarithmic (each gridline ten times the last, negative values mirrored, a linear stretch around 0), so that small units are read as clearly as large ones; the median figures at the right are exact.",
            input.policy(input.baseline())
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let rows = input.scenario.units.len().min(MAX_ROWS) as u32;
        let key = style::strip_height(&style::policy_key(input), WIDTH as i32 - 80) as u32;
        let body = rows * row_height(input.scenario.policies.len());
        (WIDTH, HEIGHT.max(120 + key + 30 + body + 150))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let h = input.last();
        let n_p = input.scenario.policies.len();
        let all = order(input);
        let shown = &all[..all.len().min(MAX_ROWS)];
        let extra = if all.len() > shown.len() {
            format!("the {} largest of {} units", shown.len(), all.len())
        } else {
            String::new()
        };
        let body = style::header(root, &self.title(input), &style::subtitle(input, &extra))?;
        let plot_area = style::with_key(&body, &style::policy_key(input), 20)?;

        let q: Vec<Vec<[f64; 5]>> = shown
            .iter()
            .map(|&u| {
                (0..n_p)
                    .map(|p| input.stats(p, h, Metric::UnitValue(u)).quantiles)
                    .collect()
            })
            .collect();
        let scale = Symlog::fit(q.iter().flatten().map(|x| x[2]));
        let qt: Vec<Vec<[f64; 5]>> = q
            .iter()
            .map(|qs| qs.iter().map(|x| x.map(|v| scale.to(v))).collect())
            .collect();
        let lo = qt.iter().flatten().map(|x| x[0]).fold(0.0f64, f64::min);
        let hi = qt.iter().flatten().map(|x| x[4]).fold(0.0f64, f64::max);
        let (lo, hi) = style::pad(lo, hi, 0.03);
        let rows = shown.len() as f64;
        let (pw, ph) = plot_area.dim_in_pixel();
        let medians = Medians::choose(ph, rows, n_p);
        let right = medians.column_width(n_p);
        let mut chart =
            style::plot_with_right(&plot_area, ((lo, hi), (0.0, rows)), [LABEL_W, 95, right])?;
        let x_fmt = |_: &f64| String::new();
        let x_desc = format!(
            "Unit value at year {} ({}, present value; log scale, each gridline 10x the last)",
            input.years(h),
            input.currency()
        );
        style::mesh(&mut chart, &Axes::x_only(&x_desc, &x_fmt, 0))?;
        for v in scale.ticks(lo, hi) {
            let x = scale.to(v);
            chart.draw_series(LineSeries::new(
                vec![(x, 0.0), (x, rows)],
                style::GRID_BOLD.stroke_width(1),
            ))?;
            style::below_axis(&plot_area, &chart, (x, 0.0), &crate::format::short(v))?;
        }
        shade_rows(&chart, &plot_area, shown.len(), lo)?;
        if lo < 0.0 && hi > 0.0 {
            chart.draw_series(LineSeries::new(
                vec![(0.0, 0.0), (0.0, rows)],
                style::INK.stroke_width(1),
            ))?;
        }
        let px_per_row = {
            let (_, a) = chart.backend_coord(&(lo, 0.0));
            let (_, b) = chart.backend_coord(&(lo, 1.0));
            (a - b).abs().max(1) as f64
        };
        let slot = 0.8 / n_p as f64;
        let boxes = Boxes {
            slot,
            half: (slot * 0.38).min(MAX_HALF_PX / px_per_row),
            medians,
            column_x: pw as i32 - 10,
            first_cell: pw as i32 - right as i32 + 40,
            hi,
        };
        if medians != Medians::None {
            let (_, y_top) = chart.backend_coord(&(hi, rows));
            let hs = style::bold(style::NOTE_SIZE);
            let at = (boxes.column_x, y_top - plot_area.get_base_pixel().1 - 28);
            let head = if medians == Medians::PerRow {
                "median by policy"
            } else {
                "median"
            };
            style::label(&plot_area, head, at, &hs, HPos::Right)?;
        }
        for (r, (&u, qs)) in shown.iter().zip(&q).enumerate() {
            let mid = rows - r as f64 - 0.5;
            boxes.draw(input, &mut chart, &plot_area, mid, (&qt[r], qs))?;
            unit_label(input, &chart, &plot_area, u, (lo, mid))?;
        }
        Ok(())
    }
}

/// A signed logarithmic axis: `x` is drawn at sign(x) log10(1 + |x|/c),
/// so that values from `c` up spread by orders of magnitude and values
/// near zero (and below it) stay on a linear stretch around 0.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Symlog {
    c: f64,
}

impl Symlog {
    /// The linear band: the power of ten at or below the smallest median
    /// in view (medians under a ten-thousandth of the largest count as
    /// zero), so that the smallest units sit on the logarithmic part.
    fn fit(medians: impl Iterator<Item = f64>) -> Symlog {
        let abs: Vec<f64> = medians
            .map(f64::abs)
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        let max = abs.iter().copied().fold(0.0f64, f64::max);
        if max <= 0.0 {
            return Symlog { c: 1.0 };
        }
        let min = abs
            .iter()
            .copied()
            .filter(|x| *x >= max * 1e-4)
            .fold(f64::INFINITY, f64::min);
        Symlog {
            c: 10f64.powf(min.log10().floor()),
        }
    }

    fn to(&self, x: f64) -> f64 {
        x.signum() * (x.abs() / self.c).ln_1p() / std::f64::consts::LN_10
    }

    /// Tick values: 0 and the powers of ten from 10c up (and down) that
    /// fall in [lo, hi] (drawn units), at most eight a side.
    fn ticks(&self, lo: f64, hi: f64) -> Vec<f64> {
        let mut out = vec![0.0];
        for sign in [1.0, -1.0] {
            let mut v = 10.0 * self.c;
            let mut side = Vec::new();
            while v.is_finite() && self.to(sign * v) >= lo && self.to(sign * v) <= hi {
                side.push(sign * v);
                v *= 10.0;
            }
            // Too many decades: every other one.
            let every = side.len().div_ceil(8).max(1);
            out.extend(side.into_iter().step_by(every));
        }
        out.retain(|v| {
            let x = self.to(*v);
            x >= lo && x <= hi
        });
        out
    }
}

impl Medians {
    /// Beside each box when its slot holds a line of text, else one line
    /// per unit for a few policies, else none; `ph` is the plot's height.
    fn choose(ph: u32, rows: f64, policies: usize) -> Medians {
        let row_px = (ph as f64 - 130.0) / rows;
        let slot_px = 0.8 * row_px / policies as f64;
        if slot_px >= 16.0 {
            Medians::PerBox((slot_px - 2.0).min(MEDIAN_SIZE))
        } else if policies <= 5 && row_px >= 26.0 {
            Medians::PerRow
        } else {
            Medians::None
        }
    }

    /// Pixels kept free right of the plot for the figures.
    fn column_width(self, policies: usize) -> u32 {
        match self {
            Medians::PerBox(_) => 140,
            Medians::PerRow => 40 + CELL_W * policies as u32,
            Medians::None => 30,
        }
    }
}

/// Every other row shaded, across the median figures too.
fn shade_rows(chart: &style::Plot, plot_area: &Area, rows: usize, lo: f64) -> DrawResult {
    let base = plot_area.get_base_pixel();
    let (pw, _) = plot_area.dim_in_pixel();
    for r in (0..rows).step_by(2) {
        let y0 = rows as f64 - r as f64 - 1.0;
        let (x0, py0) = chart.backend_coord(&(lo, y0));
        let (_, py1) = chart.backend_coord(&(lo, y0 + 1.0));
        plot_area.draw(&Rectangle::new(
            [(x0 - base.0, py1 - base.1), (pw as i32 - 4, py0 - base.1)],
            style::SHADE.filled(),
        ))?;
    }
    Ok(())
}

/// How one unit's boxes sit in its row, and where their medians go.
struct Boxes {
    /// Rows' share per policy; policies stack top to bottom, centred.
    slot: f64,
    half: f64,
    medians: Medians,
    /// The right edge of the per-box figures, and of the first per-row
    /// cell, in the plot area's pixels.
    column_x: i32,
    first_cell: i32,
    /// The plot's right end (data units).
    hi: f64,
}

impl Boxes {
    /// One box per policy in the row centred at `mid`, with its median.
    fn draw(
        &self,
        input: &Input,
        chart: &mut style::Plot,
        plot_area: &Area,
        mid: f64,
        (qs, raw): (&[[f64; 5]], &[[f64; 5]]),
    ) -> DrawResult {
        let base = plot_area.get_base_pixel();
        let top = mid + self.slot * qs.len() as f64 / 2.0;
        for (p, q) in qs.iter().enumerate() {
            let y = top - self.slot * (p as f64 + 0.5);
            let c = colour(input, p);
            style::box_plot(chart, style::Values::Across, y, self.half, *q, c)?;
            let (_, yc) = chart.backend_coord(&(self.hi, y));
            let (_, y_row) = chart.backend_coord(&(self.hi, mid));
            let (at, size) = match self.medians {
                Medians::PerBox(size) => ((self.column_x, yc - base.1), size),
                Medians::PerRow => {
                    let x = self.first_cell + CELL_W as i32 * (p as i32 + 1) - 10;
                    ((x, y_row - base.1), MEDIAN_SIZE)
                }
                Medians::None => continue,
            };
            let ms = style::font(size).color(&c);
            let at = (at.0, at.1 - (0.36 * size) as i32);
            style::label(plot_area, &money(raw[p][2]), at, &ms, HPos::Right)?;
        }
        Ok(())
    }
}

/// The unit's name and role left of its row (`at`: the plot's left end
/// and the row's middle, in data units).
fn unit_label(
    input: &Input,
    chart: &style::Plot,
    plot_area: &Area,
    u: usize,
    at: (f64, f64),
) -> DrawResult {
    let base = plot_area.get_base_pixel();
    let ls = style::font(style::LEGEND_SIZE);
    let rs = style::font(style::NOTE_SIZE).color(&style::MUTED);
    let unit = &input.scenario.units[u];
    let (x, y) = chart.backend_coord(&at);
    let (x, y) = (x - base.0 - 14, y - base.1);
    let role = unit.role.as_str().replace('_', "-");
    let role_w = style::text_width(&role, &rs);
    let name = style::fit(&unit.name, &ls, LABEL_W as i32 - role_w - 40);
    style::label(
        plot_area,
        &role,
        (x, y - (0.36 * style::NOTE_SIZE) as i32),
        &rs,
        HPos::Right,
    )?;
    style::label(
        plot_area,
        &name,
        (x - role_w - 10, y - (0.36 * style::LEGEND_SIZE) as i32),
        &ls,
        HPos::Right,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlog_spreads_orders_of_magnitude_and_keeps_signs() {
        let s = Symlog::fit([2.0, 390.0, -30.0, 0.00001].into_iter());
        assert_eq!(s.c, 1.0);
        assert_eq!(s.to(0.0), 0.0);
        assert!((s.to(1000.0) - 3.0).abs() < 1e-3);
        assert!((s.to(-1000.0) + 3.0).abs() < 1e-3);
        assert!(s.to(2.0) < s.to(20.0) && s.to(20.0) < s.to(390.0));
        let t = s.ticks(s.to(-50.0), s.to(500.0));
        assert_eq!(t, vec![0.0, 10.0, 100.0, -10.0]);
        // Nothing but zeros: a unit band.
        assert_eq!(Symlog::fit([0.0].into_iter()).c, 1.0);
    }
}
