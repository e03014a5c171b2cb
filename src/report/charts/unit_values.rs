//! `unit_values.png`: every unit's value at the last horizon under each
//! policy, as horizontal box plots sorted by the baseline's median, so that
//! a strategist sees which units carry the portfolio and which policy moves
//! which unit.
//!
//! A group's units span three or four orders of magnitude. A logarithmic
//! axis showed the small ones but made a spread of -8..+12 look wider
//! than one of hundreds, which a reader takes at face value. So the units
//! are split into bands of similar size ([`bands`]), each with its own
//! LINEAR axis: within a band, widths and distances compare honestly, and
//! each band says its scale.

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
            "Units are sorted by their median value under {}; each box spans the middle half of trials (thick line: median, whiskers: P5 to P95), so boxes far to the right are the units that carry the portfolio, and boxes that shift between policies show where a policy creates or gives up value. Units of similar size share a panel with a linear axis of its own (its scale is in its axis title): compare widths within a panel, and read across panels by the figures; the median figures at the right are exact.",
            input.policy(input.baseline())
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let rows = input.scenario.units.len().min(MAX_ROWS) as u32;
        let key = style::strip_height(&style::policy_key(input), WIDTH as i32 - 80) as u32;
        let body = rows * row_height(input.scenario.policies.len());
        let axes = BAND_AXIS_H * bands(&extents(input, &order(input))).len() as u32;
        (WIDTH, HEIGHT.max(120 + key + 30 + body + axes + 60))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
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

        let ext = extents(input, shown);
        let groups = bands(&ext);
        let (pw, ph) = plot_area.dim_in_pixel();
        let row_px =
            ph.saturating_sub(BAND_AXIS_H * groups.len() as u32) as f64 / shown.len().max(1) as f64;
        let medians = Medians::choose(row_px, n_p);
        let mut rest = plot_area;
        for (g, range) in groups.iter().enumerate() {
            let rows = range.len();
            let band_h = (row_px * rows as f64) as u32 + BAND_AXIS_H;
            let (area, below) = if g + 1 == groups.len() {
                let (_, h) = rest.dim_in_pixel();
                rest.split_vertically(h)
            } else {
                rest.split_vertically(band_h)
            };
            let band = Band {
                units: &shown[range.clone()],
                first: g == 0,
                count: groups.len(),
                index: g,
                medians,
                width: pw,
            };
            band.draw(input, &area)?;
            rest = below;
        }
        Ok(())
    }
}

/// Pixels under each band for its axis (ticks and title).
const BAND_AXIS_H: u32 = 95;
/// A unit joins the current band while its extent is at least this share
/// of the band's largest.
const BAND_SHARE: f64 = 0.15;
/// Most bands; the smallest units share the last.
const MAX_BANDS: usize = 3;

/// Per unit (in `shown` order): the largest |P5| or |P95| of its value
/// under any policy at the last horizon.
fn extents(input: &Input, shown: &[usize]) -> Vec<f64> {
    let h = input.last();
    shown
        .iter()
        .map(|&u| {
            (0..input.scenario.policies.len())
                .map(|p| {
                    let q = input.stats(p, h, Metric::UnitValue(u)).quantiles;
                    q[0].abs().max(q[4].abs())
                })
                .filter(|x| x.is_finite())
                .fold(0.0f64, f64::max)
        })
        .collect()
}

/// Consecutive ranges of units (sorted largest first by median) whose
/// sizes are alike: a band starts with its largest unit and takes the next
/// ones while their extent is at least [`BAND_SHARE`] of that unit's; at
/// most [`MAX_BANDS`] bands. Units are kept in their order, so a band may
/// take a unit a little larger than its first when medians and spreads
/// disagree.
fn bands(extent: &[f64]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < extent.len() {
        if out.len() + 1 == MAX_BANDS {
            out.push(start..extent.len());
            break;
        }
        let top = extent[start];
        let mut end = start + 1;
        while end < extent.len() && extent[end] >= BAND_SHARE * top {
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// One band of units on its own linear axis.
struct Band<'u> {
    units: &'u [usize],
    first: bool,
    count: usize,
    index: usize,
    medians: Medians,
    width: u32,
}

impl Band<'_> {
    fn draw(&self, input: &Input, area: &Area) -> DrawResult {
        let h = input.last();
        let n_p = input.scenario.policies.len();
        let q: Vec<Vec<[f64; 5]>> = self
            .units
            .iter()
            .map(|&u| {
                (0..n_p)
                    .map(|p| input.stats(p, h, Metric::UnitValue(u)).quantiles)
                    .collect()
            })
            .collect();
        let lo = q.iter().flatten().map(|x| x[0]).fold(0.0f64, f64::min);
        let hi = q.iter().flatten().map(|x| x[4]).fold(0.0f64, f64::max);
        let (lo, hi) = style::pad(lo, hi, 0.03);
        let rows = self.units.len() as f64;
        let right = self.medians.column_width(n_p);
        let mut chart = style::plot_with_right(
            area,
            ((lo, hi), (0.0, rows)),
            [LABEL_W, BAND_AXIS_H - 25, right],
        )?;
        let x_fmt = |v: &f64| crate::format::short(*v);
        let which = if self.count == 1 {
            String::new()
        } else {
            format!(
                "panel {} of {}, {}; ",
                self.index + 1,
                self.count,
                if self.index == 0 {
                    "largest units"
                } else {
                    "smaller units, own scale"
                }
            )
        };
        let x_desc = format!(
            "Unit value at year {} ({}{}, present value; linear)",
            input.years(h),
            which,
            input.currency()
        );
        style::mesh(&mut chart, &Axes::x_only(&x_desc, &x_fmt, 8))?;
        shade_rows(&chart, area, self.units.len(), lo)?;
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
            medians: self.medians,
            column_x: self.width as i32 - 10,
            first_cell: self.width as i32 - right as i32 + 40,
            hi,
        };
        if self.first && self.medians != Medians::None {
            let (_, y_top) = chart.backend_coord(&(hi, rows));
            let hs = style::bold(style::NOTE_SIZE);
            let at = (boxes.column_x, y_top - area.get_base_pixel().1 - 12);
            let head = if self.medians == Medians::PerRow {
                "median by policy"
            } else {
                "median"
            };
            style::label(area, head, at, &hs, HPos::Right)?;
        }
        for (r, (&u, qs)) in self.units.iter().zip(&q).enumerate() {
            let mid = rows - r as f64 - 0.5;
            boxes.draw(input, &mut chart, area, mid, (qs, qs))?;
            unit_label(input, &chart, area, u, (lo, mid))?;
        }
        Ok(())
    }
}

impl Medians {
    /// Beside each box when its slot holds a line of text, else one line
    /// per unit for a few policies, else none; `row_px`: a row's height.
    fn choose(row_px: f64, policies: usize) -> Medians {
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
    fn bands_group_units_of_like_size_on_their_own_scale() {
        // reset.toml's shape: one giant, a middle group, small ones.
        let ext = [
            2800.0, 230.0, 160.0, 150.0, 60.0, 55.0, 40.0, 30.0, 12.0, 6.0,
        ];
        let b = bands(&ext);
        assert_eq!(b, vec![0..1, 1..7, 7..10]);
        // Alike sizes: one band.
        assert_eq!(bands(&[10.0, 8.0, 5.0]), vec![0..3]);
        assert_eq!(bands(&[]), Vec::<std::ops::Range<usize>>::new());
        // Never more than three.
        let steep: Vec<f64> = (0..8).map(|i| 10f64.powi(8 - i)).collect();
        assert_eq!(bands(&steep).len(), MAX_BANDS);
    }
}
