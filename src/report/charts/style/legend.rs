//! Legends: the column beside a chart and the key strip under it, their
//! swatches and wrapped lines.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::{Area, DrawResult};

use super::*;

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

pub(super) fn draw_swatch(area: &Area, e: &Entry, x: i32, y: i32, size: f64) -> DrawResult {
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

/// Height a horizontal legend (a key strip) needs over `width` pixels.
pub fn strip_height(entries: &[Entry], width: i32) -> i32 {
    strip_layout(entries, width).1
}

pub(super) fn strip_layout(entries: &[Entry], width: i32) -> (Vec<(i32, i32, String)>, i32) {
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

/// A legend strip of `entries` across the top of `body`, `gap` pixels
/// above what follows; returns the area below it.
pub fn with_key<'a>(body: &Area<'a>, entries: &[Entry], gap: u32) -> DrawResult<Area<'a>> {
    let (w, _) = body.dim_in_pixel();
    let key_h = strip_height(entries, w as i32 - 80) as u32;
    let (key, rest) = body.split_vertically(key_h + gap);
    strip(&key.margin(4, 0, 40, 40), entries)?;
    Ok(rest)
}
