//! `sweep_heatmap.png`: a two-parameter sweep as a heatmap. The first
//! swept parameter runs across, the second up; each cell is one grid point,
//! coloured by the studied policy's mean gain over the baseline at the last
//! horizon (orange below zero, blue above, white at zero) and labelled with
//! the gain and the chance of beating the baseline, so that every value is
//! read, not guessed from overlapping lines. Data: `Studies::points` (as in
//! sweep.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style;
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format::{self, share, signed};
use crate::results::Studies;

pub struct SweepHeatmap;

const LOSS: (f64, f64, f64) = (224.0, 123.0, 26.0);
const GAIN: (f64, f64, f64) = (44.0, 111.0, 181.0);

/// The sweep, when the run had a two-parameter one.
fn studies<'a>(input: &Input<'a>) -> Option<&'a Studies> {
    input
        .studies
        .filter(|s| s.has_sweep() && s.sweeps.len() == 2)
}

/// Distinct values in ascending order.
fn axis(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// White at 0, towards orange at -1 and blue at +1.
fn shade(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (r, g, b) = if t < 0.0 { LOSS } else { GAIN };
    let a = t.abs() * 0.85;
    let mix = |c: f64| (255.0 * (1.0 - a) + c * a).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

impl Chart for SweepHeatmap {
    fn file(&self) -> &'static str {
        "sweep_heatmap.png"
    }

    fn applies(&self, input: &Input) -> bool {
        studies(input).is_some() && input.studied() != input.baseline()
    }

    fn title(&self, input: &Input) -> String {
        format!(
            "Gain of {} over {} at year {} across the sweep",
            input.policy(input.studied()),
            input.policy(input.baseline()),
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Each cell is a run with the two swept values of its column and row, on the same random draws: the mean gain of {} over {} at year {} ({}; blue above zero, orange below, the deeper the larger) and, below it, the share of trials in which {} beats {}. sweep.csv has every policy and horizon.",
            input.policy(input.studied()),
            input.policy(input.baseline()),
            input.years(input.last()),
            input.currency(),
            input.policy(input.studied()),
            input.policy(input.baseline())
        )
    }

    fn size(&self, _input: &Input) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let Some(st) = studies(input) else {
            return Ok(());
        };
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(
                input,
                &format!("{} runs on the same random draws", st.points.len()),
            ),
        )?;
        let xs = axis(&st.sweeps[0].values);
        let ys = axis(&st.sweeps[1].values);
        let policy = input.policy(input.studied());
        let years = input.years(input.last());
        let cells: Vec<(usize, usize, f64, f64)> = st
            .points
            .iter()
            .filter_map(|pt| {
                let i = xs.iter().position(|x| Some(x) == pt.values.first())?;
                let j = ys.iter().position(|y| Some(y) == pt.values.get(1))?;
                let h = pt
                    .headlines
                    .iter()
                    .find(|h| h.policy == policy && h.horizon == years)?;
                Some((i, j, h.delta_mean, h.prob_beats_baseline))
            })
            .collect();
        let m = cells
            .iter()
            .map(|c| c.2.abs())
            .filter(|x| x.is_finite())
            .fold(0.0f64, f64::max);
        let m = if m > 0.0 { m } else { 1.0 };
        let (nx, ny) = (xs.len(), ys.len());
        let fx = format::values_format(&xs);
        let fy = format::values_format(&ys);
        let x_fmt = move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < nx {
                fx(&xs[k as usize])
            } else {
                String::new()
            }
        };
        let ys2 = ys.clone();
        let y_fmt = move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < ny {
                fy(&ys2[k as usize])
            } else {
                String::new()
            }
        };
        let area = body.margin(10, 20, 20, 40);
        let mut chart = style::plot(
            &area,
            (-0.5, nx as f64 - 0.5),
            (-0.5, ny as f64 - 0.5),
            150,
            90,
        )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(st.sweeps[0].path.as_str())
            .y_desc(st.sweeps[1].path.as_str())
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(style::font(style::TICK_SIZE))
            .axis_desc_style(style::font(style::AXIS_DESC_SIZE))
            .axis_style(style::MUTED.stroke_width(2))
            .draw()?;
        // Cell size in pixels decides the label size.
        let (x0, y0) = chart.backend_coord(&(0.0, 0.0));
        let (x1, y1) = chart.backend_coord(&(1.0, 1.0));
        let (cw, ch) = ((x1 - x0).abs(), (y0 - y1).abs());
        let size = (f64::from(cw.min(ch * 2)) / 5.5).clamp(11.0, 26.0);
        for &(i, j, g, p) in &cells {
            let (x, y) = (i as f64, j as f64);
            chart.plotting_area().draw(&Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                shade(g / m).filled(),
            ))?;
            chart.plotting_area().draw(&Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                WHITE.stroke_width(2),
            ))?;
            let dark = (g / m).abs() > 0.6;
            let ink = if dark { WHITE } else { style::INK };
            let centre = |dy: i32, text: &str, bold: bool| -> DrawResult {
                let (px, py) = chart.backend_coord(&(x, y));
                let base = if bold {
                    style::bold(size)
                } else {
                    style::font(size * 0.85)
                };
                let s = base.color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                root.draw_text(text, &s, (px, py + dy))?;
                Ok(())
            };
            if ch >= 40 {
                centre(-(size as i32) * 6 / 10, &signed(g), true)?;
                centre((size as i32) * 6 / 10, &share(p), false)?;
            } else {
                centre(0, &signed(g), true)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_run_from_orange_through_white_to_blue() {
        assert_eq!(shade(0.0), RGBColor(255, 255, 255));
        let loss = shade(-1.0);
        let gain = shade(1.0);
        assert!(loss.0 > loss.2, "{loss:?}");
        assert!(gain.2 > gain.0, "{gain:?}");
        assert_eq!(shade(f64::NAN), RGBColor(255, 255, 255));
        assert_eq!(axis(&[3.0, 1.0, 3.0, 2.0]), vec![1.0, 2.0, 3.0]);
    }
}
