//! Plot areas: axes and their mesh, box plots, and grids of panels with
//! their titles.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::{Area, DrawResult};

use super::*;

/// Axis descriptions and tick formats of a plot.
pub struct Axes<'f> {
    pub x_desc: &'f str,
    pub y_desc: &'f str,
    pub x_fmt: &'f dyn Fn(&f64) -> String,
    pub y_fmt: &'f dyn Fn(&f64) -> String,
    pub x_labels: usize,
    pub y_labels: usize,
}

impl<'f> Axes<'f> {
    /// A horizontal axis only: the vertical one has no ticks, labels or
    /// description (rows of bars, box plots).
    pub fn x_only(x_desc: &'f str, x_fmt: &'f dyn Fn(&f64) -> String, x_labels: usize) -> Self {
        Axes {
            x_desc,
            y_desc: "",
            x_fmt,
            y_fmt: &|_| String::new(),
            x_labels,
            y_labels: 0,
        }
    }
}

/// Builds a plot over `x` x `y` in `area` with room for tick labels and
/// axis descriptions.
pub fn plot<'a, 'b>(
    area: &'a Area<'b>,
    x: (f64, f64),
    y: (f64, f64),
    left: u32,
    bottom: u32,
) -> DrawResult<Plot<'a, 'b>> {
    plot_with_right(area, (x, y), [left, bottom, 30])
}

/// [`plot`] over `(x, y)` with `room` pixels for the tick labels left and
/// below, and kept free at the right: `[left, bottom, right]`.
pub fn plot_with_right<'a, 'b>(
    area: &'a Area<'b>,
    (x, y): ((f64, f64), (f64, f64)),
    [left, bottom, right]: [u32; 3],
) -> DrawResult<Plot<'a, 'b>> {
    Ok(ChartBuilder::on(area)
        .margin_top(16)
        .margin_right(right)
        .margin_left(10)
        .margin_bottom(10)
        .x_label_area_size(bottom)
        .y_label_area_size(left)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?)
}

/// Draws grid, ticks and axis descriptions in the house style.
pub fn mesh(chart: &mut Plot, axes: &Axes) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .x_labels(axes.x_labels)
        .y_labels(axes.y_labels)
        .x_label_formatter(axes.x_fmt)
        .y_label_formatter(axes.y_fmt)
        .label_style(font(TICK_SIZE))
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .bold_line_style(GRID_BOLD.stroke_width(1))
        .light_line_style(GRID.stroke_width(1))
        .axis_style(MUTED.stroke_width(2))
        .max_light_lines(1)
        .draw()?;
    Ok(())
}

/// Which way a box plot's values run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Up the vertical axis: a vertical box at an x.
    Up,
    /// Along the horizontal axis: a horizontal box at a y.
    Across,
}

/// A box plot at `at` (data units, across the values), `half` wide on
/// each side: box P25-P75, whiskers P5-P95, a thick median.
pub fn box_plot(
    chart: &mut Plot,
    values: Values,
    at: f64,
    half: f64,
    q: Five,
    c: RGBColor,
) -> DrawResult {
    // A point at `v` on the value axis and `across` on the other.
    let pt = |v: f64, across: f64| match values {
        Values::Up => (across, v),
        Values::Across => (v, across),
    };
    let [p5, p25, p50, p75, p95] = q;
    let area = chart.plotting_area();
    for (a, b) in [(p5, p25), (p75, p95)] {
        area.draw(&PathElement::new(
            vec![pt(a, at), pt(b, at)],
            c.stroke_width(2),
        ))?;
    }
    let cap = half * 0.5;
    for v in [p5, p95] {
        area.draw(&PathElement::new(
            vec![pt(v, at - cap), pt(v, at + cap)],
            c.stroke_width(2),
        ))?;
    }
    let corners = [pt(p25, at - half), pt(p75, at + half)];
    area.draw(&Rectangle::new(corners, c.mix(0.30).filled()))?;
    area.draw(&Rectangle::new(corners, c.stroke_width(2)))?;
    area.draw(&PathElement::new(
        vec![pt(p50, at - half), pt(p50, at + half)],
        c.stroke_width(4),
    ))?;
    Ok(())
}

/// Where a panel sits in a grid: the first column carries the value
/// axis's description, the last row the horizontal one's.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub first_col: bool,
    pub last_row: bool,
}

impl Cell {
    /// Pixels left of the plot for the value axis's ticks (and
    /// description).
    pub fn left(self) -> u32 {
        if self.first_col {
            130
        } else {
            110
        }
    }
}

/// `area` split into the grid of `n` panels (see [`grid`]), each with its
/// place in it.
pub fn panels<'a>(area: &Area<'a>, n: usize) -> Vec<(Area<'a>, Cell)> {
    let (cols, rows) = grid(n);
    area.split_evenly((rows, cols))
        .into_iter()
        .take(n)
        .enumerate()
        .map(|(i, a)| {
            let cell = Cell {
                first_col: i % cols == 0,
                last_row: i + cols >= n,
            };
            (a, cell)
        })
        .collect()
}

/// A panel's title (bold, cut to fit) at its top left, above the plot.
pub fn panel_title(area: &Area, cell: Cell, text: &str) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let left = cell.left() as i32;
    let ts = bold(24.0);
    label(
        area,
        &fit(text, &ts, w as i32 - left - 20),
        (left, 8),
        &ts,
        HPos::Left,
    )
}

/// A grid panel's plot in `inner`: categories along x (labelled with
/// [`below_axis`], no ticks), values up y with seven ticks; each axis is
/// described only on the grid's edge (x on the last row, y on the first
/// column).
pub fn panel_plot<'a, 'b>(
    inner: &'a Area<'b>,
    cell: Cell,
    x: (f64, f64),
    y: (f64, f64),
    x_desc: &str,
    y_desc: &str,
) -> DrawResult<Plot<'a, 'b>> {
    let bottom = if cell.last_row { 96 } else { 56 };
    let mut chart = plot(inner, x, y, cell.left(), bottom)?;
    let y_fmt = ticks(y.0, y.1, 7);
    mesh(
        &mut chart,
        &Axes {
            x_desc: if cell.last_row { x_desc } else { "" },
            y_desc: if cell.first_col { y_desc } else { "" },
            x_fmt: &|_| String::new(),
            y_fmt: &y_fmt,
            x_labels: 0,
            y_labels: 7,
        },
    )?;
    Ok(chart)
}

/// `text` centred 12 pixels below the data point `at` (a category's label
/// under the axis), drawn on `area`.
pub fn below_axis(area: &Area, chart: &Plot, at: (f64, f64), text: &str) -> DrawResult {
    let base = area.get_base_pixel();
    let (x, y) = chart.backend_coord(&at);
    let s = font(TICK_SIZE);
    label(area, text, (x - base.0, y - base.1 + 12), &s, HPos::Center)
}

/// Columns and rows of a grid of `n` panels.
pub fn grid(n: usize) -> (usize, usize) {
    let cols = match n {
        0 | 1 => 1,
        2 => 2,
        3 => 3,
        4 => 2,
        5 | 6 => 3,
        _ => 4,
    };
    (cols, n.max(1).div_ceil(cols))
}
