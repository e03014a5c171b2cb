//! What every chart shares: the palette, number formats, the header, the
//! legend, axes, box plots and the sketch-to-histogram step. Keeping these in
//! one place is what makes the six charts look like one report.

mod plots;
pub use plots::*;

mod legend;
pub use legend::*;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Area, DrawResult, Input};
use crate::format;

/// Font family name the embedded DejaVu Sans is registered under.
pub const FONT: &str = "sans-serif";

pub const TITLE_SIZE: f64 = 36.0;
pub const SUBTITLE_SIZE: f64 = 21.0;
pub const AXIS_DESC_SIZE: f64 = 23.0;
pub const TICK_SIZE: f64 = 20.0;
pub const LEGEND_SIZE: f64 = 20.0;
pub const NOTE_SIZE: f64 = 18.0;

pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x5f, 0x5f, 0x5f);
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
pub const GRID_BOLD: RGBColor = RGBColor(0xc8, 0xc8, 0xc8);
pub const SHADE: RGBColor = RGBColor(0xf4, 0xf4, 0xf4);

/// The baseline policy is always drawn in this dark grey, so that "the
/// reference" looks the same on every chart.
pub const BASELINE: RGBColor = RGBColor(0x4d, 0x4d, 0x4d);

/// Colours of the other policies, in policy order: Okabe-Ito (safe for the
/// common colour-vision deficiencies, yellow left out: it vanishes on
/// white), then Tableau 10 hues that differ from those. Beyond twelve
/// policies the colours repeat; the legend still names every one.
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(0x00, 0x72, 0xb2), // blue
    RGBColor(0xd5, 0x5e, 0x00), // vermillion
    RGBColor(0x00, 0x9e, 0x73), // bluish green
    RGBColor(0xcc, 0x79, 0xa7), // reddish purple
    RGBColor(0xe6, 0x9f, 0x00), // orange
    RGBColor(0x56, 0xb4, 0xe9), // sky blue
    RGBColor(0x9c, 0x75, 0x5f), // brown
    RGBColor(0x76, 0x4c, 0x9e), // violet
    RGBColor(0x59, 0xa1, 0x4f), // green
    RGBColor(0xe1, 0x57, 0x59), // red
    RGBColor(0x1f, 0x9e, 0x9e), // teal
    RGBColor(0xb6, 0x99, 0x2d), // olive
];

/// Width of the legend column at the right of single-plot charts.
pub const LEGEND_W: u32 = 440;

/// A single-plot chart's body split into the plot and its legend column
/// (with the legend's margins).
pub fn with_legend<'a>(body: &Area<'a>) -> (Area<'a>, Area<'a>) {
    let (w, _) = body.dim_in_pixel();
    let (plot, legend) = body.split_horizontally(w - LEGEND_W);
    (plot, legend.margin(24, 20, 10, 20))
}

/// A policy's name as legends write it: the baseline says so.
pub fn policy_name(input: &Input, p: usize) -> String {
    if p == input.baseline() {
        format!("{} (baseline)", input.policy(p))
    } else {
        input.policy(p).to_string()
    }
}

/// A key of every policy by colour, for charts of box plots.
pub fn policy_key(input: &Input) -> Vec<Entry> {
    (0..input.scenario.policies.len())
        .map(|p| Entry {
            colour: colour(input, p),
            name: policy_name(input, p),
            details: vec![],
            strong: 0,
            swatch: Swatch::Box,
        })
        .collect()
}

/// The colour of policy `p`: grey for the baseline, the palette for others.
pub fn colour(input: &Input, p: usize) -> RGBColor {
    let b = input.baseline();
    if p == b {
        BASELINE
    } else {
        let rank = if p > b { p - 1 } else { p };
        PALETTE[rank % PALETTE.len()]
    }
}

/// Colour `i` of `n` ordered values (a swept parameter's values): a
/// perceptually even ramp (viridis, without its last, too-light yellow), so
/// that colour order follows value order.
pub fn ramp(i: usize, n: usize) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (0x44, 0x01, 0x54),
        (0x41, 0x44, 0x87),
        (0x2a, 0x78, 0x8e),
        (0x22, 0xa8, 0x84),
        (0x7a, 0xd1, 0x51),
    ];
    let t = if n <= 1 {
        0.5
    } else {
        0.92 * i as f64 / (n - 1) as f64
    };
    let x = t * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&INK)
}

pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font()).color(&INK)
}

/// Width in pixels of `text` in `style`.
pub fn text_width(text: &str, style: &TextStyle) -> i32 {
    style
        .font
        .box_size(text)
        .map(|(w, _)| w as i32)
        .unwrap_or_else(|_| (text.chars().count() as f64 * style.font.get_size() * 0.6) as i32)
}

/// `text` cut with an ellipsis so that it fits in `max_px`.
pub fn fit(text: &str, style: &TextStyle, max_px: i32) -> String {
    if text_width(text, style) <= max_px {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    // Binary search for the longest prefix that fits with the ellipsis.
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let s: String = chars[..mid].iter().collect::<String>() + "…";
        if text_width(&s, style) <= max_px {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let kept: String = chars[..lo].iter().collect();
    format!("{}…", kept.trim_end())
}

/// Draws `text` with the top of its capitals at `y`, anchored at `x` on the
/// left, centre or right. (The ab_glyph renderer puts the baseline half a
/// font size below the anchor; this corrects for it so that text sits where
/// the layout expects.)
pub fn label(
    area: &Area,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    h: HPos,
) -> DrawResult {
    let size = style.font.get_size();
    let pos = Pos::new(h, VPos::Top);
    let y = y + (0.23 * size).round() as i32;
    area.draw_text(text, &style.pos(pos), (x, y))?;
    Ok(())
}

/// Like [`label`], on a white patch so that it stays legible over lines.
pub fn label_boxed(
    area: &Area,
    text: &str,
    at: (i32, i32),
    style: &TextStyle,
    h: HPos,
) -> DrawResult {
    let (x, y) = at;
    let w = text_width(text, style);
    let size = style.font.get_size() as i32;
    let x0 = match h {
        HPos::Left => x,
        HPos::Center => x - w / 2,
        HPos::Right => x - w,
    };
    area.draw(&Rectangle::new(
        [(x0 - 5, y - 5), (x0 + w + 5, y + size + 3)],
        WHITE.mix(0.85).filled(),
    ))?;
    label(area, text, at, style, h)
}

/// The tick step plotters picks for `max_points` labels over [lo, hi]
/// (the same search as plotters' float key points), so that tick labels get
/// exactly the decimals they need.
pub fn tick_step(lo: f64, hi: f64, max_points: usize) -> f64 {
    let span = (hi - lo).abs();
    if span.is_nan() || span <= 0.0 || !span.is_finite() || max_points == 0 {
        return 1.0;
    }
    let rem = |a: f64, b: f64| {
        let r = a - (a / b).floor() * b;
        if (r - b).abs() < f64::EPSILON {
            0.0
        } else {
            r
        }
    };
    let mut scale = 10f64.powf(span.log10().floor());
    if 1 + (span / scale).floor() as usize > max_points {
        scale *= 10.0;
    }
    'outer: loop {
        let old = scale;
        for nxt in [2.0, 5.0, 10.0] {
            let mut left = lo - rem(lo, old / nxt);
            if left < lo {
                left += old / nxt;
            }
            let right = hi - rem(hi, old / nxt);
            let n = 1.0 + (right - left) / old * nxt;
            if n.round() as usize > max_points {
                break 'outer;
            }
            scale = old / nxt;
        }
        scale = old / 10.0;
        if scale < span * 1e-12 {
            break;
        }
    }
    scale
}

/// Decimals a tick step needs.
pub fn decimals_for(step: f64) -> usize {
    if step >= 1.0 || step.is_nan() || step <= 0.0 {
        0
    } else {
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 9.0) as usize
    }
}

/// A tick formatter for [lo, hi] with at most `max_points` labels.
pub fn ticks(lo: f64, hi: f64, max_points: usize) -> impl Fn(&f64) -> String {
    let d = decimals_for(tick_step(lo, hi, max_points));
    move |v: &f64| format::number(*v + 0.0, d)
}

/// A range padded on both sides; a degenerate range (all trials equal)
/// becomes a small window around the value.
pub fn pad(lo: f64, hi: f64, share: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= (lo.abs().max(hi.abs()) * 1e-9).max(1e-12) {
        let w = (lo.abs() * 0.05).max(1.0);
        return (lo - w, hi + w);
    }
    (lo - span * share, hi + span * share)
}

/// Draws the title and subtitle; returns the area below them.
pub fn header<'a>(root: &Area<'a>, title: &str, subtitle: &str) -> DrawResult<Area<'a>> {
    let (w, _) = root.dim_in_pixel();
    let max = w as i32 - 80;
    let t = bold(TITLE_SIZE);
    label(root, &fit(title, &t, max), (40, 26), &t, HPos::Left)?;
    let s = font(SUBTITLE_SIZE).color(&MUTED);
    // A subtitle too long for one line breaks at its last " · " that
    // fits, rather than being cut; the body moves down by a line.
    if text_width(subtitle, &s) > max {
        let parts: Vec<&str> = subtitle.split(" · ").collect();
        let mut first = parts.len();
        while first > 1 && text_width(&parts[..first].join(" · "), &s) > max {
            first -= 1;
        }
        if first < parts.len() {
            label(
                root,
                &fit(&parts[..first].join(" · "), &s, max),
                (40, 78),
                &s,
                HPos::Left,
            )?;
            label(
                root,
                &fit(&parts[first..].join(" · "), &s, max),
                (40, 106),
                &s,
                HPos::Left,
            )?;
            return Ok(root.margin(146, 0, 0, 0));
        }
    }
    label(root, &fit(subtitle, &s, max), (40, 78), &s, HPos::Left)?;
    Ok(root.margin(120, 0, 0, 0))
}

/// What was run, as every subtitle starts: "scenario · N trials, seed S ·
/// currency".
pub fn run_facts(input: &Input) -> String {
    let s = input.summary;
    format!(
        "{} · {} trials, seed {} · {}",
        s.scenario,
        format::number(s.trials as f64, 0),
        s.seed,
        s.currency
    )
}

/// The discount rate in percent as subtitles write it ("8", "7.5").
pub fn discount_percent(input: &Input) -> String {
    format::number(100.0 * input.scenario.discount_rate, 1)
        .trim_end_matches(".0")
        .to_string()
}

/// The subtitle every chart shares: what was run and in which money.
pub fn subtitle(input: &Input, extra: &str) -> String {
    let mut out = format!(
        "{}, present values at {}%/yr",
        run_facts(input),
        discount_percent(input)
    );
    if !extra.is_empty() {
        out.push_str(" · ");
        out.push_str(extra);
    }
    out
}

/// Draws a panel that only says why there is nothing to draw.
pub fn message(area: &Area, text: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(40, 20), (w as i32 - 40, h as i32 - 40)],
        SHADE.filled(),
    ))?;
    let style = font(30.0).color(&MUTED);
    let t = fit(text, &style, w as i32 - 160);
    label(
        area,
        &t,
        (w as i32 / 2, h as i32 / 2 - 30),
        &style,
        HPos::Center,
    )
}

/// Greedy word wrap to `max_px`.
pub fn wrap(text: &str, style: &TextStyle, max_px: i32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if text_width(&candidate, style) <= max_px || cur.is_empty() {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines.into_iter().map(|l| fit(&l, style, max_px)).collect()
}

/// A chart context with f64 axes on a bitmap.
pub type Plot<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The five figures a box plot draws: P5, P25, P50, P75, P95.
pub type Five = [f64; 5];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_decimals_follow_the_step() {
        assert_eq!(decimals_for(tick_step(0.0, 3000.0, 10)), 0);
        assert_eq!(decimals_for(tick_step(0.0, 1.0, 10)), 1);
        assert_eq!(decimals_for(tick_step(1.0, 1.02, 10)), 3);
        assert_eq!(ticks(0.0, 1.0, 10)(&0.5), "0.5");
        assert_eq!(ticks(0.0, 5000.0, 10)(&2500.0), "2,500");
    }

    #[test]
    fn degenerate_ranges_get_a_window() {
        let (a, b) = pad(5.0, 5.0, 0.05);
        assert!(a < 5.0 && b > 5.0);
        let (a, b) = pad(0.0, 0.0, 0.05);
        assert!(a < 0.0 && b > 0.0);
    }

    #[test]
    fn policies_get_distinct_colours() {
        assert_ne!(ramp(0, 3), ramp(2, 3));
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(20), (4, 5));
        assert_ne!(PALETTE[0], BASELINE);
    }
}
