//! `tornado.png`: the sensitivity of the decision as a tornado chart.
//! For the studied policy, each input (a unit's assumption, a policy's
//! lever, the discount rate) gets a horizontal bar from the change in the
//! mean gain over the baseline when the input is low to the change when it
//! is high, each bar's end labelled with the figure and the input's value
//! there, largest swing on top, around a zero line at the base run's mean
//! gain. Data: `Studies::sensitivity` (as in sensitivity.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Axes};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::format::signed;
use crate::results::{Sensitivity, Steps};

pub struct Tornado;

/// Most bars drawn; the rest are in sensitivity.csv.
pub const MAX_BARS: usize = 20;
const ROW_H: u32 = 46;
const KEY_H: u32 = 50;
const NOTE_H: u32 = 70;

/// Parameter low / high, in colours apart from the policy palette's order
/// and safe for the common colour-vision deficiencies.
const LOW: RGBColor = RGBColor(0xe0, 0x7b, 0x1a);
const HIGH: RGBColor = RGBColor(0x2c, 0x6f, 0xb5);

/// The studied policy's rows, in the study's order (largest swing
/// first).
fn rows<'a>(input: &Input<'a>) -> Vec<&'a Sensitivity> {
    let Some(st) = input.studies else {
        return Vec::new();
    };
    let name = input.policy(input.studied());
    // A screened study's top rows, down to its first estimate (the
    // estimates, and what ranks below them, are in sensitivity.csv).
    st.sensitivity
        .iter()
        .filter(|r| r.policy == name)
        .take_while(|r| r.estimated.is_none())
        .collect()
}

/// Whether the study was screened (`--sensitivity-top`): some inputs'
/// figures are estimates, left out of the chart.
fn screened(input: &Input) -> bool {
    input
        .studies
        .is_some_and(|s| s.sensitivity.iter().any(|r| r.estimated.is_some()))
}

/// The study's steps.
fn steps(input: &Input) -> Steps {
    input
        .studies
        .map(|s| s.sensitivity_steps)
        .unwrap_or_default()
}

/// A row's label, the input as a strategist names it ("Quark growth",
/// "reset core intensity"), cut to fit `max_px`.
fn row_label(r: &Sensitivity, style: &TextStyle, max_px: i32) -> String {
    style::fit(&r.label(), style, max_px)
}

impl Chart for Tornado {
    fn file(&self) -> &'static str {
        "tornado.png"
    }

    fn applies(&self, input: &Input) -> bool {
        !rows(input).is_empty()
    }

    fn title(&self, input: &Input) -> String {
        let p = input.studied();
        format!(
            "What moves the gain of {} over {} at year {} most",
            input.policy(p),
            input.policy(input.baseline()),
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Each bar shows how far the mean gain of {} over {} at year {} (the same trials under both) moves from the base run when one input is moved down (orange) or up (blue), everything else unchanged and on the same random draws: {}. Each bar's end gives the change and the input's value there. The longest bars, on top, are what the choice between the two depends on most; sensitivity.csv also has the chance of beating the baseline at each step.{}",
            input.policy(input.studied()),
            input.policy(input.baseline()),
            input.years(input.last()),
            steps(input).describe(),
            if screened(input) {
                " The study was screened (--sensitivity-top): only the inputs that could rank at the top ran every trial and are drawn; sensitivity.csv has estimates of the others."
            } else {
                ""
            }
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let n = rows(input).len().min(MAX_BARS) as u32;
        (WIDTH, HEIGHT.max(120 + KEY_H + 100 + NOTE_H + n * ROW_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let all = rows(input);
        let shown: Vec<&Sensitivity> = all.iter().copied().take(MAX_BARS).collect();
        let n = shown.len();
        let steps = steps(input);
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(
                input,
                &format!(
                    "inputs moved one at a time ({}), same random draws",
                    steps.describe()
                ),
            ),
        )?;
        let (w, h) = body.dim_in_pixel();
        let (key, rest) = body.split_vertically(KEY_H);
        let (main, note) = rest.split_vertically(h - KEY_H - NOTE_H);

        // Row labels on the left, as wide as the longest (within reason).
        let label_style = style::font(style::TICK_SIZE);
        let widest = shown
            .iter()
            .map(|r| style::text_width(&r.label(), &label_style))
            .max()
            .unwrap_or(0);
        let label_w = (widest + 40).clamp(200, (w as f64 * 0.45) as i32) as u32;
        let (label_col, plot_col) = main.split_horizontally(label_w);

        let base_gain = shown.first().map_or(f64::NAN, |r| r.gain_base);
        draw_key(&key.margin(4, 0, 40, 0), steps, base_gain, input.currency())?;

        let changes: Vec<(f64, f64)> = shown
            .iter()
            .map(|r| (r.gain_low - r.gain_base, r.gain_high - r.gain_base))
            .collect();
        let bars = Bars::new(input, &plot_col, &changes)?;
        let mut chart = bars.chart;
        let lb = label_col.get_base_pixel();
        for (i, (r, &(lo, hi))) in shown.iter().zip(&changes).enumerate() {
            let y = (n - 1 - i) as f64;
            // Row label, right-aligned against the plot.
            let (_, py) = chart.backend_coord(&(0.0, y));
            style::label(
                &label_col,
                &row_label(r, &label_style, label_w as i32 - 30),
                (label_w as i32 - 16, py - lb.1 - 7),
                &label_style,
                HPos::Right,
            )?;
            let at = [r.show(r.low), r.show(r.high)];
            draw_row(
                &mut chart,
                &plot_col,
                y,
                (lo, hi),
                &at,
                bars.half,
                bars.decimals,
            )?;
        }
        // The zero line: the base run's mean gain.
        let y_range = chart.y_range();
        chart.draw_series(LineSeries::new(
            vec![(0.0, y_range.start), (0.0, y_range.end)],
            style::INK.stroke_width(2),
        ))?;

        let more = all.len().saturating_sub(n);
        let text = if screened(input) {
            let name = input.policy(input.studied());
            let inputs = input.studies.map_or(0, |s| {
                s.sensitivity.iter().filter(|r| r.policy == name).count()
            });
            format!(
                "The top {n} of {inputs} inputs, each run on every trial; the others were screened out on their first trials (--sensitivity-top), their estimates in sensitivity.csv."
            )
        } else if more > 0 {
            format!(
                "The {n} largest swings of {} inputs; {more} more are in sensitivity.csv.",
                all.len()
            )
        } else {
            format!("All {n} inputs, largest swing first; the figures are in sensitivity.csv.")
        };
        let ns = style::font(style::NOTE_SIZE).color(&style::MUTED);
        style::label(&note, &text, (40, 6), &ns, HPos::Left)?;
        Ok(())
    }
}

/// The bars' plot: symmetric around 0, one row per bar, alternate rows
/// shaded, and how thick a bar and how precise its figures are.
struct Bars<'a, 'b> {
    chart: style::Plot<'a, 'b>,
    /// Half a bar's thickness, in rows.
    half: f64,
    /// Decimals of every change figure (those the largest needs).
    decimals: usize,
}

impl<'a, 'b> Bars<'a, 'b> {
    fn new(input: &Input, plot_col: &'a Area<'b>, changes: &[(f64, f64)]) -> DrawResult<Self> {
        let n = changes.len();
        let m = changes
            .iter()
            .flat_map(|&(a, b)| [a.abs(), b.abs()])
            .filter(|x| x.is_finite())
            .fold(0.0f64, f64::max);
        let m = if m > 0.0 { m } else { 1.0 };
        let decimals = if m >= 100.0 {
            0
        } else if m >= 10.0 {
            1
        } else {
            2
        };
        let (x_lo, x_hi) = (-1.3 * m, 1.3 * m);
        let mut chart = style::plot(plot_col, (x_lo, x_hi), (-0.6, n as f64 - 0.4), 10, 95)?;
        let ticks = style::ticks(x_lo, x_hi, 9);
        let x_fmt = move |v: &f64| format::plus(*v, ticks(v));
        let x_desc = format!(
            "Change in the mean gain of {} over {} at year {} ({}, present value)",
            input.policy(input.studied()),
            input.policy(input.baseline()),
            input.years(input.last()),
            input.currency()
        );
        let x_desc = style::fit(
            &x_desc,
            &style::font(style::AXIS_DESC_SIZE),
            plot_col.dim_in_pixel().0 as i32 - 40,
        );
        style::mesh(&mut chart, &Axes::x_only(&x_desc, &x_fmt, 9))?;
        // Light bands on alternate rows guide the eye from label to bar.
        for i in (0..n).step_by(2) {
            let y = (n - 1 - i) as f64;
            chart.plotting_area().draw(&Rectangle::new(
                [(x_lo, y - 0.5), (x_hi, y + 0.5)],
                style::SHADE.filled(),
            ))?;
        }
        // Bars at most 44 pixels thick, however few the rows.
        let row_px = {
            let (_, a) = chart.backend_coord(&(0.0, 0.0));
            let (_, b) = chart.backend_coord(&(0.0, 1.0));
            (a - b).abs().max(1) as f64
        };
        Ok(Bars {
            chart,
            half: (22.0 / row_px).min(0.34),
            decimals,
        })
    }
}

/// One row's bars at `y` (the change when the input is low and when it is
/// high) with their figures and the input's values there (`at`).
fn draw_row(
    chart: &mut style::Plot,
    plot_col: &Area,
    y: f64,
    (lo, hi): (f64, f64),
    at: &[String; 2],
    half: f64,
    decimals: usize,
) -> DrawResult {
    let pb = plot_col.get_base_pixel();
    let number = |x: f64| format::plus(x, format::number(x, decimals));
    let fig = |k: usize| format!("{} at {}", number([lo, hi][k]), at[k]);
    let bar = |x: f64, half: f64, c: RGBColor| -> DrawResult {
        if x.is_finite() && x != 0.0 {
            chart.plotting_area().draw(&Rectangle::new(
                [(0.0, y - half), (x, y + half)],
                c.filled(),
            ))?;
        }
        Ok(())
    };
    if lo * hi > 0.0 {
        // Both moves go the same way: the longer bar behind, the shorter
        // one narrower in front, so that both show.
        let (ko, ki, oc, ic) = if lo.abs() >= hi.abs() {
            (0, 1, LOW, HIGH)
        } else {
            (1, 0, HIGH, LOW)
        };
        let (outer, inner) = ([lo, hi][ko], [lo, hi][ki]);
        bar(outer, half, oc)?;
        bar(inner, half * 0.5, ic)?;
        // Both figures at the outer end, the outer one first.
        let (x, yp) = chart.backend_coord(&(outer, y));
        let (x, yp) = (x - pb.0, yp - pb.1 - 7);
        let a = fig(ko);
        let b = fig(ki);
        let sa = style::bold(style::NOTE_SIZE).color(&oc);
        let sb = style::bold(style::NOTE_SIZE).color(&ic);
        if outer > 0.0 {
            style::label(plot_col, &a, (x + 8, yp), &sa, HPos::Left)?;
            let xa = x + 8 + style::text_width(&a, &sa) + 10;
            style::label(plot_col, &b, (xa, yp), &sb, HPos::Left)?;
        } else {
            style::label(plot_col, &a, (x - 8, yp), &sa, HPos::Right)?;
            let xa = x - 8 - style::text_width(&a, &sa) - 10;
            style::label(plot_col, &b, (xa, yp), &sb, HPos::Right)?;
        }
        return Ok(());
    }
    bar(lo, half, LOW)?;
    bar(hi, half, HIGH)?;
    if lo == 0.0 && hi == 0.0 {
        let (x, yp) = chart.backend_coord(&(0.0, y));
        style::label(
            plot_col,
            "no change",
            (x - pb.0 + 10, yp - pb.1 - 7),
            &style::font(style::NOTE_SIZE).color(&style::MUTED),
            HPos::Left,
        )?;
    }
    for (k, (x, c)) in [(lo, LOW), (hi, HIGH)].into_iter().enumerate() {
        if !x.is_finite() || x == 0.0 {
            continue;
        }
        let text = fig(k);
        let (px, yp) = chart.backend_coord(&(x, y));
        let (px, yp) = (px - pb.0, yp - pb.1 - 7);
        let (px, pos) = if x > 0.0 {
            (px + 8, HPos::Left)
        } else {
            (px - 8, HPos::Right)
        };
        let fs = style::bold(style::NOTE_SIZE).color(&c);
        style::label(plot_col, &text, (px, yp), &fs, pos)?;
    }
    Ok(())
}

/// The key: which colour is the input low and high, and what 0 is.
fn draw_key(area: &Area, steps: Steps, base: f64, currency: &str) -> DrawResult {
    let s = style::font(style::LEGEND_SIZE);
    let mut x = 0;
    let y = 6;
    let mid = y + 9;
    let pts = format::exact(100.0 * steps.rate);
    let pct = format::exact(100.0 * steps.level);
    let items = [
        (Some(LOW), format!("input low (−{pts} pt / −{pct}%)")),
        (Some(HIGH), format!("input high (+{pts} pt / +{pct}%)")),
        (
            None,
            format!(
                "0 = the mean gain in the base run: {} {currency}",
                signed(base)
            ),
        ),
    ];
    for (c, text) in items {
        match c {
            Some(c) => area.draw(&Rectangle::new(
                [(x, mid - 11), (x + 36, mid + 11)],
                c.filled(),
            ))?,
            None => area.draw(&PathElement::new(
                vec![(x + 18, mid - 14), (x + 18, mid + 14)],
                style::INK.stroke_width(2),
            ))?,
        }
        let text = style::fit(&text, &s, 700);
        style::label(area, &text, (x + 46, y), &s, HPos::Left)?;
        x += 46 + style::text_width(&text, &s) + 44;
    }
    Ok(())
}
