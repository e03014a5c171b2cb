//! `funding.png`: the funding study's answer, one panel per unit. Funded
//! years run along the horizontal axis (0 = not funded, the reference);
//! each line is one horizon's paired gain in the unit's own value over not
//! funding it, with its 95% confidence band (mean ± 1.96 se) shaded and the
//! best number of years ringed. Gains, not levels: the paired difference
//! is what the decision changes, where levels would be drowned by the
//! group's spread. Data: `Studies::funding` (as in funding.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Axes, Entry, Swatch};
use super::{Area, Chart, DrawResult, Input, HEIGHT, WIDTH};
use crate::format;
use crate::format::years;
use crate::results::funding::FundingStudy;

pub struct FundingChart;

const PANEL_H: u32 = 520;
/// Half-width of a confidence band: 95% of a normal mean.
const Z95: f64 = 1.96;

fn study<'a>(input: &Input<'a>) -> Option<&'a FundingStudy> {
    input.studies.and_then(|s| s.funding.as_ref())
}

fn entries(study: &FundingStudy) -> Vec<Entry> {
    let n = study.horizons.len();
    study
        .horizons
        .iter()
        .enumerate()
        .map(|(i, h)| Entry {
            colour: style::ramp(i, n),
            name: if study.cycles_over(*h) {
                format!("at year {h} (every cycle over)")
            } else {
                format!("at year {h}")
            },
            details: vec![],
            strong: 0,
            swatch: Swatch::Line,
        })
        .collect()
}

impl Chart for FundingChart {
    fn file(&self) -> &'static str {
        "funding.png"
    }

    fn applies(&self, input: &Input) -> bool {
        study(input).is_some()
    }

    fn title(&self, input: &Input) -> String {
        match study(input) {
            Some(s) => format!(
                "How long to fund each innovation unit (policy {}): gain in its own value",
                s.policy
            ),
            None => "How long to fund each innovation unit".into(),
        }
    }

    fn how_to_read(&self, _input: &Input) -> String {
        "One panel per unit: each line follows, for one horizon, the mean gain in the unit's own value (its discounted cash plus its value at the horizon) from funding it for the years on the horizontal axis rather than not at all, measured in the same trials; the shaded band is the 95% confidence band of that mean, and a ring marks the best number of years at each horizon. A line that keeps rising argues for a longer cycle; one below zero says funding destroys value at that horizon.".into()
    }

    fn size(&self, input: &Input) -> (u32, u32) {
        let n = study(input).map_or(1, |s| s.units.len());
        let (_, rows) = style::grid(n);
        (WIDTH, HEIGHT.max(120 + 60 + rows as u32 * PANEL_H))
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let Some(st) = study(input) else {
            return Ok(());
        };
        let extra = format!(
            "{} variants on the same draws · bands: 95% confidence",
            st.units.len() * st.years.len()
        );
        let body = style::header(root, &self.title(input), &style::subtitle(input, &extra))?;
        let entries = entries(st);
        let (w, _) = body.dim_in_pixel();
        let key_h = style::strip_height(&entries, w as i32 - 80) as u32;
        let (key, rest) = body.split_vertically(key_h + 16);
        style::strip(&key.margin(4, 0, 40, 40), &entries)?;
        let (cols, rows) = style::grid(st.units.len());
        let areas = rest.split_evenly((rows, cols));
        for (i, (unit, area)) in st.units.iter().zip(areas.iter()).enumerate() {
            let first_col = i % cols == 0;
            let last_row = i + cols >= st.units.len();
            panel(input, st, i, unit, area, first_col, last_row)?;
        }
        Ok(())
    }
}

fn panel(
    input: &Input,
    st: &FundingStudy,
    ui: usize,
    unit: &str,
    area: &Area,
    first_col: bool,
    last_row: bool,
) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let left: u32 = if first_col { 130 } else { 110 };
    let ts = style::bold(24.0);
    style::label(
        area,
        &style::fit(unit, &ts, w as i32 - left as i32 - 20),
        (left as i32, 8),
        &ts,
        HPos::Left,
    )?;
    let mut terms = format!(
        "budget {}/yr under {}",
        format::number(st.budgets[ui], 2)
            .trim_end_matches('0')
            .trim_end_matches('.'),
        st.policy
    );
    if let Some(g) = st.gates[ui] {
        terms.push_str(&format!(
            ", gate {}x revenue at year {}",
            g.min_revenue_multiple, g.year
        ));
    }
    let fs = style::font(style::NOTE_SIZE).color(&style::MUTED);
    style::label(
        area,
        &style::fit(&terms, &fs, w as i32 - left as i32 - 20),
        (left as i32, 42),
        &fs,
        HPos::Left,
    )?;
    // Positions: the funded years in order, evenly spaced (0, 3, 4, 5 read
    // as four choices, not as a number line with a gap).
    let n_y = st.years.len();
    let n_h = st.horizons.len();
    let series: Vec<Vec<(f64, f64, f64, bool)>> = st
        .horizons
        .iter()
        .map(|&h| {
            st.years
                .iter()
                .enumerate()
                .filter_map(|(i, &y)| {
                    let r = st.row(unit, y, h)?;
                    let half = Z95 * r.gain.stderr;
                    r.gain.mean.is_finite().then_some((
                        i as f64,
                        r.gain.mean - half,
                        r.gain.mean + half,
                        r.best,
                    ))
                })
                .collect()
        })
        .collect();
    let lo = series.iter().flatten().map(|p| p.1).fold(0.0f64, f64::min);
    let hi = series.iter().flatten().map(|p| p.2).fold(0.0f64, f64::max);
    let (lo, hi) = if hi - lo <= 0.0 {
        (-1.0, 1.0)
    } else {
        style::pad(lo, hi, 0.1)
    };
    let inner = area.margin(70, 6, 0, 10);
    let mut chart = style::plot(
        &inner,
        (-0.4, n_y as f64 - 0.6),
        (lo, hi),
        left,
        if last_row { 96 } else { 56 },
    )?;
    let y_fmt = style::ticks(lo, hi, 7);
    let y_desc = format!("Gain vs not funded ({})", input.currency());
    style::mesh(
        &mut chart,
        &Axes {
            x_desc: if last_row { "Funded years" } else { "" },
            y_desc: if first_col { &y_desc } else { "" },
            x_fmt: &|_| String::new(),
            y_fmt: &y_fmt,
            x_labels: 0,
            y_labels: 7,
        },
    )?;
    // Tick labels at the studied years.
    let base = area.get_base_pixel();
    let ls = style::font(style::TICK_SIZE);
    for (i, &y) in st.years.iter().enumerate() {
        let text = if y == 0.0 {
            "0 (not funded)".to_string()
        } else {
            years(y)
        };
        let (x, yy) = chart.backend_coord(&(i as f64, lo));
        style::label(
            area,
            &text,
            (x - base.0, yy - base.1 + 12),
            &ls,
            HPos::Center,
        )?;
    }
    chart.draw_series(LineSeries::new(
        vec![(-0.4, 0.0), (n_y as f64 - 0.6, 0.0)],
        style::INK.stroke_width(2),
    ))?;
    for (hi_idx, pts) in series.iter().enumerate() {
        let c = style::ramp(hi_idx, n_h);
        if pts.len() > 1 {
            let mut band: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.2)).collect();
            band.extend(pts.iter().rev().map(|p| (p.0, p.1)));
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
        }
        let mid: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, (p.1 + p.2) / 2.0)).collect();
        chart.draw_series(LineSeries::new(mid.clone(), c.stroke_width(4)))?;
        chart.draw_series(mid.iter().map(|&(x, y)| Circle::new((x, y), 6, c.filled())))?;
        // Rings grow with the horizon, so that horizons sharing a best
        // point all show.
        for p in pts.iter().filter(|p| p.3) {
            chart.draw_series(std::iter::once(Circle::new(
                (p.0, (p.1 + p.2) / 2.0),
                12 + 6 * hi_idx as u32,
                c.stroke_width(3),
            )))?;
        }
    }
    Ok(())
}
