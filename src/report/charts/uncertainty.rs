//! `uncertainty.png`: which uncertain assumption matters most. For the
//! studied policy, one panel for its gain over the baseline and one for
//! its value at the last horizon; each drawn assumption gets a bar as long
//! as its share of the outcome's variance, largest on top, coloured by
//! the direction of its effect. Data: `results::uncertainty` (as in
//! uncertainty.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Axes};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::results::uncertainty::{panels, Outcome, Panel};

pub struct UncertaintyChart;

/// Most bars a panel draws; the rest are in uncertainty.csv.
const MAX_BARS: usize = 16;
const ROW_H: u32 = 46;
const KEY_H: u32 = 50;
const NOTE_H: u32 = 60;

/// A higher draw raises the outcome / lowers it.
const UP: RGBColor = RGBColor(0x2c, 0x6f, 0xb5);
const DOWN: RGBColor = RGBColor(0xe0, 0x7b, 0x1a);

/// The studied policy's panels: its gain (when it is not the baseline),
/// then its value.
fn shown(input: &Input) -> Vec<Panel> {
    let Some(all) = panels(input.scenario, input.layout, input.acc) else {
        return Vec::new();
    };
    let name = input.policy(input.studied());
    all.into_iter().filter(|p| p.policy == name).collect()
}

fn panel_title(input: &Input, p: &Panel) -> String {
    match p.outcome {
        Outcome::Gain => format!(
            "Gain of {} over {} (stdev {} {})",
            p.policy,
            input.policy(input.baseline()),
            format::money(p.stdev),
            input.currency()
        ),
        Outcome::Value => format!(
            "Value of {} (stdev {} {})",
            p.policy,
            format::money(p.stdev),
            input.currency()
        ),
    }
}

impl Chart for UncertaintyChart {
    fn file(&self) -> &'static str {
        "uncertainty.png"
    }

    fn applies(&self, input: &Input) -> bool {
        !input.layout.drawn.is_empty()
    }

    fn title(&self, input: &Input) -> String {
        format!(
            "Which uncertain assumption matters most at year {}",
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Each bar is one assumption drawn from a distribution; its length is the share of the variance of {}'s outcome at year {} that the assumption explains (its squared correlation with the outcome over the trials). Every panel shares one scale, so bars compare across panels. Blue: a higher draw raises the outcome; orange: it lowers it. The longest bars are the assumptions worth researching before deciding; what no bar explains is path randomness (volatility, jumps, exit timing) and interactions.",
            input.policy(input.studied()),
            input.years(input.last())
        )
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let n = input.layout.drawn.len().min(MAX_BARS) as u32;
        (WIDTH, HEIGHT.max(120 + KEY_H + 160 + NOTE_H + n * ROW_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let panels = shown(input);
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(
                input,
                "assumptions drawn once per trial, same draws for every policy",
            ),
        )?;
        let (_, h) = body.dim_in_pixel();
        let (key, rest) = body.split_vertically(KEY_H);
        let (main, note) = rest.split_vertically(h - KEY_H - NOTE_H);
        draw_key(&key.margin(4, 0, 40, 0))?;
        let cols = main.split_evenly((1, panels.len().max(1)));
        // One scale for every panel: a share reads the same width beside
        // a share of another outcome.
        let top = panels
            .iter()
            .filter_map(|p| p.rows.first().map(|r| r.share))
            .fold(0.0f64, f64::max);
        let x_hi = (top * 1.25).clamp(0.01, 1.0);
        for (p, col) in panels.iter().zip(&cols) {
            draw_panel(input, p, col, x_hi)?;
        }
        let ns = style::font(style::NOTE_SIZE).color(&style::MUTED);
        let text = match panels.first() {
            Some(_) if !input.scenario.correlations.is_empty() => "Some assumptions are correlated ([[correlations]]): their shares overlap and do not add up. Figures for every policy are in uncertainty.csv.".to_string(),
            Some(p) => format!(
                "Together the assumptions explain {} of the {}'s variance; the rest is path randomness and interactions. Figures for every policy are in uncertainty.csv.",
                format::percent(p.explained(), 0),
                p.outcome.name()
            ),
            None => "No assumption is drawn.".into(),
        };
        style::label(&note, &text, (40, 6), &ns, HPos::Left)?;
        Ok(())
    }
}

/// One outcome's bars: label column on the left, shares on the right.
fn draw_panel(input: &Input, p: &Panel, area: &Area, x_hi: f64) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let (head, rest) = area.split_vertically(50);
    let tstyle = style::bold(style::LEGEND_SIZE);
    let title = style::fit(&panel_title(input, p), &tstyle, w as i32 - 40);
    style::label(&head, &title, (20, 12), &tstyle, HPos::Left)?;
    let rows: Vec<_> = p.rows.iter().take(MAX_BARS).collect();
    let n = rows.len().max(1);
    let label_style = style::font(style::TICK_SIZE);
    let widest = rows
        .iter()
        .map(|r| {
            style::text_width(
                &format!("{} · {} ({})", r.unit, r.key, r.dist),
                &label_style,
            )
        })
        .max()
        .unwrap_or(0);
    let label_w = (widest + 40).clamp(200, (w as f64 * 0.42) as i32) as u32;
    let (label_col, plot_col) = rest.split_horizontally(label_w);
    let mut chart = style::plot(&plot_col, (0.0, x_hi), (-0.6, n as f64 - 0.4), 10, 95)?;
    let ticks = style::ticks(0.0, x_hi * 100.0, 5);
    let x_fmt = move |v: &f64| format!("{}%", ticks(&(v * 100.0)));
    style::mesh(
        &mut chart,
        &Axes::x_only("Share of variance explained", &x_fmt, 5),
    )?;
    let lb = label_col.get_base_pixel();
    let pb = plot_col.get_base_pixel();
    for (i, r) in rows.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        if i % 2 == 0 {
            chart.plotting_area().draw(&Rectangle::new(
                [(0.0, y - 0.5), (x_hi, y + 0.5)],
                style::SHADE.filled(),
            ))?;
        }
        let c = if r.correlation >= 0.0 { UP } else { DOWN };
        if r.share > 0.0 {
            chart.plotting_area().draw(&Rectangle::new(
                [(0.0, y - 0.32), (r.share.min(x_hi), y + 0.32)],
                c.filled(),
            ))?;
        }
        let (px, py) = chart.backend_coord(&(r.share.min(x_hi), y));
        let rest = format!(" · {} ({})", r.key, r.dist);
        let unit = style::fit(
            &r.unit,
            &label_style,
            label_w as i32 - 40 - style::text_width(&rest, &label_style),
        );
        style::label(
            &label_col,
            &format!("{unit}{rest}"),
            (label_w as i32 - 16, py - lb.1 - 7),
            &label_style,
            HPos::Right,
        )?;
        let fs = style::bold(style::NOTE_SIZE).color(&c);
        style::label(
            &plot_col,
            &format::percent(r.share, 1),
            (px - pb.0 + 8, py - pb.1 - 7),
            &fs,
            HPos::Left,
        )?;
    }
    Ok(())
}

/// The key: what the colours mean.
fn draw_key(area: &Area) -> DrawResult {
    let s = style::font(style::LEGEND_SIZE);
    let mut x = 0;
    let y = 6;
    let mid = y + 9;
    for (c, text) in [
        (UP, "a higher draw raises the outcome"),
        (DOWN, "a higher draw lowers it"),
    ] {
        area.draw(&Rectangle::new(
            [(x, mid - 11), (x + 36, mid + 11)],
            c.filled(),
        ))?;
        style::label(area, text, (x + 46, y), &s, HPos::Left)?;
        x += 46 + style::text_width(text, &s) + 44;
    }
    Ok(())
}
