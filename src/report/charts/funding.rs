//! `funding.png`: the funding study's answer, one panel per unit. Funded
//! years run along the horizontal axis (0 = not funded, the reference);
//! each line is one horizon's paired gain in the unit's own value over not
//! funding it, with its 95% confidence band (mean ± 1.96 se) shaded and the
//! best number of years ringed. Gains, not levels: the paired difference
//! is what the decision changes, where levels would be drowned by the
//! group's spread. Data: `Studies::funding` (as in funding.csv).

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::style::{self, Entry, Swatch};
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
            name: if *h == study.read_at {
                format!("at year {h}: every cycle over, the one the choice reads")
            } else if study.cycles_over(*h) {
                format!("at year {h} (every cycle over)")
            } else {
                format!("at year {h} (some cycles still running)")
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
        "One panel per unit: each line follows, for one horizon, the mean gain in the unit's own value (its discounted cash plus its value at the horizon) from funding it for the years on the horizontal axis rather than not at all, measured in the same trials; the shaded band is the 95% confidence band of that mean, and a ring marks the best number of years at each horizon. The choice is read at the first horizon where every cycle has ended (a horizon h values funding for the cycle, then stopping); the panel title names it with the share of trials in which it beats the runner-up, and calls it a toss-up under 60%. A line below zero says funding destroys value.".into()
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
        let rest = style::with_key(&body, &entries(st), 16)?;
        for (i, (area, cell)) in style::panels(&rest, st.units.len()).iter().enumerate() {
            panel(input, st, i, area, *cell)?;
        }
        Ok(())
    }
}

/// One unit's panel: its terms, then per horizon the mean gain from each
/// number of funded years, with its 95% band and the best one ringed.
fn panel(
    input: &Input,
    st: &FundingStudy,
    ui: usize,
    area: &Area,
    cell: style::Cell,
) -> DrawResult {
    let unit = &st.units[ui];
    let (w, _) = area.dim_in_pixel();
    let left = cell.left() as i32;
    // The panel says the choice and how sure it is.
    let title = match st.choice(unit) {
        Some(c) => {
            let best = if c.best == 0.0 {
                "best: not funding".to_string()
            } else {
                format!("best: {}", format::for_years(c.best))
            };
            match c.over_runner_up {
                Some(p) if c.toss_up() => format!(
                    "{unit} - {best}, a toss-up ({:.0}% vs runner-up)",
                    100.0 * p
                ),
                Some(p) => format!("{unit} - {best} ({:.0}% vs runner-up)", 100.0 * p),
                None => format!("{unit} - {best}"),
            }
        }
        None => unit.clone(),
    };
    style::panel_title(area, cell, &title)?;
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
        &style::fit(&terms, &fs, w as i32 - left - 20),
        (left, 42),
        &fs,
        HPos::Left,
    )?;
    let series = gains(st, unit);
    let lo = series.iter().flatten().map(|p| p.1).fold(0.0f64, f64::min);
    let hi = series.iter().flatten().map(|p| p.2).fold(0.0f64, f64::max);
    let (lo, hi) = if hi - lo <= 0.0 {
        (-1.0, 1.0)
    } else {
        style::pad(lo, hi, 0.1)
    };
    let n_y = st.years.len();
    let inner = area.margin(70, 6, 0, 10);
    let y_desc = format!("Gain vs not funded ({})", input.currency());
    let x = (-0.4, n_y as f64 - 0.6);
    let mut chart = style::panel_plot(&inner, cell, x, (lo, hi), "Funded years", &y_desc)?;
    // Tick labels at the studied years.
    for (i, &y) in st.years.iter().enumerate() {
        let text = if y == 0.0 {
            "0 (not funded)".to_string()
        } else {
            years(y)
        };
        style::below_axis(area, &chart, (i as f64, lo), &text)?;
    }
    chart.draw_series(LineSeries::new(
        vec![(-0.4, 0.0), (n_y as f64 - 0.6, 0.0)],
        style::INK.stroke_width(2),
    ))?;
    for (hi_idx, pts) in series.iter().enumerate() {
        let c = style::ramp(hi_idx, st.horizons.len());
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

/// Per horizon, per funded years: (position, the mean gain's 95% band low
/// and high, best). Positions: the funded years in order, evenly spaced
/// (0, 3, 4, 5 read as four choices, not as a number line with a gap).
fn gains(st: &FundingStudy, unit: &str) -> Vec<Vec<(f64, f64, f64, bool)>> {
    st.horizons
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
        .collect()
}
