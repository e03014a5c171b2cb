//! `spider.png`: the sensitivity study's top inputs as a spider chart.
//! Each line is one input of the studied policy's ranking: the change of
//! the mean gain over the baseline at the last horizon against the step
//! (-1: the input moved down, 0: the base run, +1: moved up). A steep line
//! is an input the choice depends on; a bent one, an effect that is not
//! symmetric; a flat half, a step that changed nothing (a funded year past
//! the horizon). Beside the tornado, which shows the same moves as bars.
//! Data: `Studies::sensitivity` (as in sensitivity.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Axes, Entry, Swatch, PALETTE};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format::{self, signed};
use crate::results::Sensitivity;

pub struct Spider;

/// Lines drawn: the top of the ranking (the rest are in the tornado and
/// sensitivity.csv).
pub const MAX_LINES: usize = 8;

fn rows<'a>(input: &Input<'a>) -> Vec<&'a Sensitivity> {
    let Some(st) = input.studies else {
        return Vec::new();
    };
    let name = input.policy(input.studied());
    st.sensitivity
        .iter()
        .filter(|r| r.policy == name)
        // A screened study's top rows, down to its first estimate.
        .take_while(|r| r.estimated.is_none())
        .filter(|r| r.swing() > 0.0)
        .take(MAX_LINES)
        .collect()
}

/// Labels longer than this go on two lines in the legend.
const LEGEND_CHARS: usize = 30;
/// Least vertical distance between two rank labels at one end, in pixels.
const LABEL_GAP: i32 = 20;

impl Chart for Spider {
    fn file(&self) -> &'static str {
        "spider.png"
    }

    fn applies(&self, input: &Input) -> bool {
        !rows(input).is_empty()
    }

    fn title(&self, input: &Input) -> String {
        format!(
            "How the gain of {} over {} at year {} responds to its top inputs",
            input.policy(input.studied()),
            input.policy(input.baseline()),
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        let steps = input
            .studies
            .map(|s| s.sensitivity_steps)
            .unwrap_or_default();
        format!(
            "One line per input, the {} that move the mean gain most: the change of the mean gain from the base run (0) when the input is moved one step down (-1) or up (+1) ({}), on the same random draws. Steep lines matter most; a bent line is an effect larger one way than the other.",
            MAX_LINES,
            steps.describe()
        )
    }

    fn size(&self, _input: &Input) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let rows = rows(input);
        let steps = input
            .studies
            .map(|s| s.sensitivity_steps)
            .unwrap_or_default();
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(
                input,
                &format!("inputs moved one at a time ({})", steps.describe()),
            ),
        )?;
        let (plot_area, legend) = style::with_legend(&body);
        let m = rows
            .iter()
            .flat_map(|r| change(r))
            .filter(|x| x.is_finite())
            .fold(0.0f64, |a, x| a.max(x.abs()));
        let m = if m > 0.0 { m * 1.1 } else { 1.0 };
        let mut chart = style::plot(&plot_area, (-1.15, 1.15), (-m, m), 130, 90)?;
        step_axes(&mut chart, m, input)?;
        let mut entries = Vec::new();
        // The ranks at the lines' ends, per side, placed after the lines
        // so that labels of ends that nearly meet are spread apart.
        let mut ends: Vec<RankEnd> = Vec::new();
        for (k, r) in rows.iter().enumerate() {
            let c = PALETTE[k % PALETTE.len()];
            input_line(&mut chart, k, r, c, &mut ends)?;
            entries.push(legend_entry(k, r, c));
        }
        rank_labels(root, &ends)?;
        style::legend(
            &legend,
            "Inputs, most decisive first",
            &[format!(
                "0 = mean gain in the base run: {} {}",
                signed(rows.first().map_or(0.0, |r| r.gain_base)),
                input.currency()
            )],
            &entries,
        )?;
        Ok(())
    }
}

/// The change of the mean gain from the base run at steps -1, 0 and +1.
fn change(r: &Sensitivity) -> [f64; 3] {
    [r.gain_low - r.gain_base, 0.0, r.gain_high - r.gain_base]
}

/// The axes: the steps across (-1 low, 0 base, +1 high), the change of
/// the mean gain up to ±`m`, and the base run's zero line.
fn step_axes(chart: &mut style::Plot, m: f64, input: &Input) -> DrawResult {
    let step_fmt = |v: &f64| match v.round() as i32 {
        _ if (v - v.round()).abs() > 1e-6 => String::new(),
        -1 => "−1 (low)".into(),
        0 => "0 (base)".into(),
        1 => "+1 (high)".into(),
        _ => String::new(),
    };
    let ticks = style::ticks(-m, m, 9);
    let y_fmt = move |v: &f64| format::plus(*v, ticks(v));
    let y_desc = format!("Change in mean gain ({})", input.currency());
    style::mesh(
        chart,
        &Axes {
            x_desc: "Step",
            y_desc: &y_desc,
            x_fmt: &step_fmt,
            y_fmt: &y_fmt,
            x_labels: 5,
            y_labels: 9,
        },
    )?;
    chart.draw_series(LineSeries::new(
        vec![(-1.15, 0.0), (1.15, 0.0)],
        style::INK.stroke_width(2),
    ))?;
    Ok(())
}

/// Where a line ends (at step -1 or +1), in pixels, with its rank.
struct RankEnd {
    side: f64,
    px: i32,
    py: i32,
    rank: String,
    colour: RGBColor,
}

/// The line of the input ranked `k` (from 0) in colour `c`, its ends
/// recorded in `ends` for their rank labels.
fn input_line(
    chart: &mut style::Plot,
    k: usize,
    r: &Sensitivity,
    c: RGBColor,
    ends: &mut Vec<RankEnd>,
) -> DrawResult {
    let pts: Vec<(f64, f64)> = [-1.0, 0.0, 1.0]
        .into_iter()
        .zip(change(r))
        .filter(|(_, y)| y.is_finite())
        .collect();
    chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(4)))?;
    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 6, c.filled())))?;
    // The rank at the line's ends, so lines are told apart in grey
    // print too.
    for &(x, y) in pts.iter().filter(|(x, _)| *x != 0.0) {
        let (px, py) = chart.backend_coord(&(x, y));
        ends.push(RankEnd {
            side: x,
            px,
            py,
            rank: (k + 1).to_string(),
            colour: c,
        });
    }
    Ok(())
}

/// The legend entry of the input ranked `k` (from 0): its name, its low
/// and high values and the change each gives.
fn legend_entry(k: usize, r: &Sensitivity, c: RGBColor) -> Entry {
    // A long label goes on two lines (owner, then the key) rather
    // than being cut.
    let label = r.label();
    let (name, mut details) = match label.strip_prefix(&format!("{} ", r.owner_name)) {
        Some(key) if label.chars().count() > LEGEND_CHARS && !r.owner_name.is_empty() => (
            format!("{}. {}", k + 1, r.owner_name),
            vec![key.to_string()],
        ),
        _ => (format!("{}. {label}", k + 1), vec![]),
    };
    details.push(format!(
        "{} → {}: {} / {}",
        r.show(r.low),
        r.show(r.high),
        if (r.gain_low - r.gain_base).is_finite() {
            signed(r.gain_low - r.gain_base)
        } else {
            "skipped".into()
        },
        if (r.gain_high - r.gain_base).is_finite() {
            signed(r.gain_high - r.gain_base)
        } else {
            "skipped".into()
        }
    ));
    Entry {
        colour: c,
        name,
        details,
        strong: 0,
        swatch: Swatch::Line,
    }
}

/// The ranks beside the lines' ends, each side's spread at least
/// [`LABEL_GAP`] apart.
fn rank_labels(root: &Area, ends: &[RankEnd]) -> DrawResult {
    for side in [-1.0, 1.0] {
        let mut here: Vec<&RankEnd> = ends.iter().filter(|e| e.side == side).collect();
        here.sort_by_key(|e| e.py);
        let mut last = i32::MIN;
        for e in here {
            let y = (e.py - 9).max(last.saturating_add(LABEL_GAP));
            last = y;
            let (px, pos) = if side > 0.0 {
                (e.px + 12, HPos::Left)
            } else {
                (e.px - 12, HPos::Right)
            };
            let s = style::bold(style::NOTE_SIZE).color(&e.colour);
            style::label(root, &e.rank, (px, y), &s, pos)?;
        }
    }
    Ok(())
}
