//! What every chart shares: the palette, number formats, the header, the
//! legend, axes, box plots and the sketch-to-histogram step. Keeping these in
//! one place is what makes the six charts look like one report.

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

/// How a legend entry shows its colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Swatch {
    Line,
    Box,
}

/// One legend entry: a coloured swatch, a name, and detail lines.
pub struct Entry {
    pub colour: RGBColor,
    pub name: String,
    pub details: Vec<String>,
    /// How many of the first detail lines are drawn in bold colour.
    pub strong: usize,
    pub swatch: Swatch,
}

fn draw_swatch(area: &Area, e: &Entry, x: i32, y: i32, size: f64) -> DrawResult {
    let mid = y + (size * 0.36) as i32;
    match e.swatch {
        Swatch::Line => {
            area.draw(&PathElement::new(
                vec![(x, mid), (x + 34, mid)],
                e.colour.stroke_width(5),
            ))?;
        }
        Swatch::Box => {
            area.draw(&Rectangle::new(
                [(x + 4, mid - 9), (x + 30, mid + 9)],
                e.colour.mix(0.35).filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x + 4, mid - 9), (x + 30, mid + 9)],
                e.colour.stroke_width(2),
            ))?;
        }
    }
    Ok(())
}

/// A legend in a column at the right of a chart. It shows every entry with
/// its details when they fit; otherwise names only, in one then two
/// columns, then as many as fit and a count of the rest. Nothing overlaps.
pub fn legend(area: &Area, heading: &str, notes: &[String], entries: &[Entry]) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let mut y = 4;
    let hs = bold(LEGEND_SIZE);
    label(area, &fit(heading, &hs, w - 10), (0, y), &hs, HPos::Left)?;
    y += 34;
    let ns = font(NOTE_SIZE).color(&MUTED);
    for n in notes {
        for line in wrap(n, &ns, w - 10) {
            label(area, &line, (0, y), &ns, HPos::Left)?;
            y += 24;
        }
    }
    y += 10;
    let room = h - y;
    let name_h = 28;
    let detail_h = 24;
    let gap = 12;
    let full: i32 = entries
        .iter()
        .map(|e| name_h + detail_h * e.details.len() as i32 + gap)
        .sum();
    let name_style = bold(LEGEND_SIZE);
    let detail_style = font(NOTE_SIZE);
    if full <= room {
        for e in entries {
            draw_swatch(area, e, 0, y, LEGEND_SIZE)?;
            label(
                area,
                &fit(&e.name, &name_style, w - 56),
                (44, y),
                &name_style,
                HPos::Left,
            )?;
            y += name_h;
            for (k, d) in e.details.iter().enumerate() {
                let st = if k < e.strong {
                    bold(NOTE_SIZE).color(&e.colour)
                } else {
                    detail_style.clone()
                };
                label(area, &fit(d, &st, w - 56), (44, y), &st, HPos::Left)?;
                y += detail_h;
            }
            y += gap;
        }
        return Ok(());
    }
    // Compact: names only, 1 or 2 columns.
    let row = 26;
    let per_col = (room / row).max(1) as usize;
    let cols = if entries.len() <= per_col { 1 } else { 2 };
    let col_w = w / cols as i32;
    let style = font(NOTE_SIZE + 1.0);
    let capacity = per_col * cols;
    let shown = if entries.len() <= capacity {
        entries.len()
    } else {
        capacity.saturating_sub(1)
    };
    for (i, e) in entries.iter().take(shown).enumerate() {
        let (c, r) = (i / per_col, i % per_col);
        let (x, yy) = (c as i32 * col_w, y + r as i32 * row);
        draw_swatch(area, e, x, yy, NOTE_SIZE + 1.0)?;
        label(
            area,
            &fit(&e.name, &style, col_w - 52),
            (x + 42, yy),
            &style,
            HPos::Left,
        )?;
    }
    if shown < entries.len() {
        let i = shown;
        let (c, r) = (i / per_col, i % per_col);
        let more = format!("… and {} more", entries.len() - shown);
        label(
            area,
            &more,
            (c as i32 * col_w, y + r as i32 * row),
            &ns,
            HPos::Left,
        )?;
    }
    Ok(())
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

/// Height a horizontal legend (a key strip) needs over `width` pixels.
pub fn strip_height(entries: &[Entry], width: i32) -> i32 {
    strip_layout(entries, width).1
}

fn strip_layout(entries: &[Entry], width: i32) -> (Vec<(i32, i32, String)>, i32) {
    let style = font(LEGEND_SIZE);
    let max_item = (width / 3).max(160);
    let mut out = Vec::new();
    let (mut x, mut y) = (0, 0);
    for e in entries {
        let name = fit(&e.name, &style, max_item - 60);
        let item = 44 + text_width(&name, &style) + 30;
        if x > 0 && x + item > width {
            x = 0;
            y += 32;
        }
        out.push((x, y, name));
        x += item;
    }
    let h = if entries.is_empty() { 0 } else { y + 32 };
    (out, h)
}

/// A horizontal legend: entries flow left to right and wrap.
pub fn strip(area: &Area, entries: &[Entry]) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let (layout, _) = strip_layout(entries, w as i32);
    let style = font(LEGEND_SIZE);
    for (e, (x, y, name)) in entries.iter().zip(layout) {
        draw_swatch(area, e, x, y, LEGEND_SIZE)?;
        label(area, &name, (x + 44, y), &style, HPos::Left)?;
    }
    Ok(())
}

/// A chart context with f64 axes on a bitmap.
pub type Plot<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

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

/// The five figures a box plot draws: P5, P25, P50, P75, P95.
pub type Five = [f64; 5];

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

/// A legend strip of `entries` across the top of `body`, `gap` pixels
/// above what follows; returns the area below it.
pub fn with_key<'a>(body: &Area<'a>, entries: &[Entry], gap: u32) -> DrawResult<Area<'a>> {
    let (w, _) = body.dim_in_pixel();
    let key_h = strip_height(entries, w as i32 - 80) as u32;
    let (key, rest) = body.split_vertically(key_h + gap);
    strip(&key.margin(4, 0, 40, 40), entries)?;
    Ok(rest)
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
