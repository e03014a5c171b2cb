//! `summary.xlsx`: the run as an Excel workbook, because strategists work
//! in Excel and paste its charts into slides.
//!
//! Sheets: Headline (the sentences, the key figures per policy and year,
//! and two charts), Summary (every row of summary.csv), Units (each unit's
//! median value at the last horizon by policy, with a chart) and Unit
//! detail (every unit figure at every horizon), Revenue path (with a
//! chart), and when the run had them: Unit paths, Sweep and Sensitivity
//! (each with a chart). Charts are native Excel charts whose series point
//! at the sheet's cells, so they can be restyled, and they follow any edit
//! of the cells. Money cells carry the scenario's currency in their number
//! format, list sheets have a frozen header row and a filter.
//!
//! The creation date in the file's properties is fixed, so the same run
//! writes the same bytes.

use rust_xlsxwriter::{
    Chart, ChartAxisLabelPosition, ChartType, DocProperties, ExcelDateTime, Format, Workbook,
    Worksheet, XlsxError,
};

use super::markup::Block;
use super::Input;
use crate::format::{tail_label, values_format};
use crate::model::UnitFigure;
use crate::results::headline::Sentence;
use crate::results::unit_paths;
use crate::results::Studies;

/// What every sheet is built from: the run's input and the cell formats.
#[derive(Clone, Copy)]
struct Book<'a> {
    input: &'a Input<'a>,
    f: &'a Formats,
}

/// The cell formats of the workbook.
struct Formats {
    title: Format,
    bold: Format,
    header: Format,
    money: Format,
    share: Format,
    number: Format,
    wrap: Format,
}

impl Formats {
    fn new(currency: &str) -> Formats {
        // The currency as a literal of the number format (quotes cannot
        // appear inside it).
        let cur = currency.replace('"', "");
        let money = if cur.trim().is_empty() {
            "#,##0.0;-#,##0.0".to_string()
        } else {
            format!("#,##0.0\" {cur}\";-#,##0.0\" {cur}\"")
        };
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_background_color("#EDEDED")
                .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin),
            money: Format::new().set_num_format(money),
            share: Format::new().set_num_format("0.0%"),
            number: Format::new().set_num_format("General"),
            wrap: Format::new()
                .set_text_wrap()
                .set_align(rust_xlsxwriter::FormatAlign::Top),
        }
    }
}

/// Builds the workbook; its bytes.
pub fn build(input: &Input) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let date = ExcelDateTime::from_ymd(2000, 1, 1)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(&input.summary.scenario)
            .set_author("stratsim")
            .set_creation_datetime(&date),
    );
    let f = &Formats::new(&input.summary.currency);
    let book = &Book { input, f };
    // A sheet named `name`, filled by `fill` (charts refer to it by name).
    let mut sheet = |name: &str, fill: &dyn Fn(&mut Worksheet, &str) -> Result<(), XlsxError>| {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        fill(ws, name)
    };
    sheet("Headline", &|ws, name| headline_sheet(ws, name, book))?;
    sheet("Summary", &|ws, _| summary_sheet(ws, book))?;
    sheet("Units", &|ws, name| units_sheet(ws, name, book))?;
    sheet("Unit detail", &|ws, _| unit_detail_sheet(ws, book))?;
    sheet("Revenue path", &|ws, name| revenue_sheet(ws, name, book))?;
    if unit_paths::recorded(input.layout) {
        sheet("Unit paths", &|ws, _| unit_paths_sheet(ws, book))?;
    }
    if let Some(st) = input.studies {
        if st.has_sweep() {
            sheet("Sweep", &|ws, name| sweep_sheet(ws, name, st, book))?;
        }
        if st.has_sensitivity() {
            sheet("Sensitivity", &|ws, name| {
                sensitivity_sheet(ws, name, st, book)
            })?;
        }
        if let Some(fs) = &st.funding {
            sheet("Funding", &|ws, name| funding_sheet(ws, name, fs, book))?;
        }
    }
    if let Some(panels) =
        crate::results::uncertainty::panels(input.scenario, input.layout, input.acc)
    {
        sheet("Uncertainty", &|ws, name| {
            uncertainty_sheet(ws, name, &panels, book)
        })?;
    }
    if input
        .sections
        .iter()
        .any(|b| matches!(b, Block::Table { .. }))
    {
        sheet("Optimization", &|ws, name| {
            sections_sheet(ws, name, input.sections, book)
        })?;
    }
    // Printed (or saved as PDF): landscape, each sheet one page wide.
    for ws in wb.worksheets_mut() {
        ws.set_landscape().set_print_fit_to_pages(1, 0);
    }
    wb.save_to_buffer()
}

/// Writes a header row at `row` and returns the next row.
fn header(ws: &mut Worksheet, row: u32, names: &[String], f: &Formats) -> Result<u32, XlsxError> {
    for (c, n) in names.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, n, &f.header)?;
    }
    Ok(row + 1)
}

/// A list sheet's header: frozen, filtered over `rows` data rows.
fn list_header(
    ws: &mut Worksheet,
    names: &[String],
    rows: usize,
    f: &Formats,
) -> Result<(), XlsxError> {
    header(ws, 0, names, f)?;
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(
        0,
        0,
        rows.max(1) as u32,
        names.len().saturating_sub(1) as u16,
    )?;
    Ok(())
}

/// A finite number in a cell with a format; an empty cell otherwise.
fn num(ws: &mut Worksheet, row: u32, col: u16, x: f64, format: &Format) -> Result<(), XlsxError> {
    if x.is_finite() {
        ws.write_number_with_format(row, col, x, format)?;
    }
    Ok(())
}

/// Numbers in a row of cells from column `first` on, in one format.
fn nums(
    ws: &mut Worksheet,
    row: u32,
    first: u16,
    xs: &[f64],
    format: &Format,
) -> Result<(), XlsxError> {
    for (c, x) in xs.iter().enumerate() {
        num(ws, row, first + c as u16, *x, format)?;
    }
    Ok(())
}

/// Column widths: `first` as (column, width), then `rest` wide from
/// `from` on.
fn widths(
    ws: &mut Worksheet,
    first: &[(u16, f64)],
    from: std::ops::Range<usize>,
    rest: f64,
) -> Result<(), XlsxError> {
    for &(c, w) in first {
        ws.set_column_width(c, w)?;
    }
    for c in from.start as u16..from.end as u16 {
        ws.set_column_width(c, rest)?;
    }
    Ok(())
}

/// The columns of a figure's mean and P5-P95 band: "value mean", "value
/// P5", "value P50", "value P95".
fn band(what: &str) -> [String; 4] {
    ["mean", "P5", "P50", "P95"].map(|c| format!("{what} {c}"))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn headline_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let base = &sc.policies[sc.baseline].name;
    let t = tail_label(s.tail);
    ws.write_string_with_format(0, 0, &s.scenario, &f.title)?;
    ws.write_string(
        1,
        0,
        format!(
            "{} trials, seed {}; money in {}, present values at {}% a year; baseline: {base}; VaR and CVaR at {t}%.",
            s.trials,
            s.seed,
            s.currency,
            tail_label(sc.discount_rate)
        ),
    )?;
    ws.write_string_with_format(3, 0, "At a glance", &f.bold)?;
    // Each sentence across the table's width, wrapped.
    let mut row = 4;
    for Sentence { text, .. } in &s.headline {
        ws.merge_range(row, 0, row, 14, text, &f.wrap)?;
        let lines = (text.chars().count() / 190 + 1) as f64;
        ws.set_row_height(row, 15.0 * lines)?;
        row += 1;
    }
    row += 1;
    let mut cols = names(&["policy", "year"]);
    cols.extend(band("value"));
    cols.extend([format!("value VaR {t}%"), format!("value CVaR {t}%")]);
    cols.extend(band("gain"));
    cols.extend([
        format!("gain VaR {t}%"),
        format!("gain CVaR {t}%"),
        format!("P(beat {base})"),
    ]);
    row = header(ws, row, &cols, f)?;
    let first = row;
    for p in &sc.policies {
        for &h in &sc.horizons {
            let (Some(v), Some(g)) = (
                s.row(&p.name, h, "value", None),
                s.row(&p.name, h, "delta_value", None),
            ) else {
                continue;
            };
            ws.write_string(row, 0, &p.name)?;
            ws.write_number(row, 1, h)?;
            nums(
                ws,
                row,
                2,
                &[v.mean, v.p5, v.p50, v.p95, v.var, v.cvar],
                &f.money,
            )?;
            if p.name != *base {
                nums(
                    ws,
                    row,
                    8,
                    &[g.mean, g.p5, g.p50, g.p95, g.var, g.cvar],
                    &f.money,
                )?;
                num(
                    ws,
                    row,
                    14,
                    s.prob(&p.name, h).unwrap_or(f64::NAN),
                    &f.share,
                )?;
            }
            row += 1;
        }
    }
    widths(ws, &[(0, 18.0)], 1..cols.len(), 15.0)?;
    // Charts below the table: the median gain over the baseline (the
    // median value when the baseline is the only policy) by year, and the
    // chance of beating the baseline.
    let n_h = sc.horizons.len() as u32;
    let others = sc.policies.len() > 1;
    let mut level = Chart::new(ChartType::Column);
    level.title().set_name(&if others {
        format!("Median gain over {base} ({})", s.currency)
    } else {
        format!("Median value ({})", s.currency)
    });
    let mut beat = Chart::new(ChartType::Line);
    beat.title()
        .set_name(&format!("Share of trials beating {base}"));
    for (p, policy) in sc.policies.iter().enumerate() {
        let r0 = first + p as u32 * n_h;
        let r1 = r0 + n_h - 1;
        if others && p == sc.baseline {
            continue;
        }
        let c = if others { 10 } else { 4 };
        level
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, c, r1, c));
        beat.add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, 14, r1, 14));
    }
    level
        .x_axis()
        .set_name("Year")
        .set_label_position(ChartAxisLabelPosition::Low);
    level
        .y_axis()
        .set_name(&s.currency)
        .set_num_format("#,##0.0");
    beat.x_axis().set_name("Year");
    beat.y_axis().set_num_format("0%").set_min(0);
    let at = row + 2;
    ws.insert_chart(at, 0, &level)?;
    if others {
        ws.insert_chart(at, 6, &beat)?;
    }
    Ok(())
}

fn summary_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let t = tail_label(s.tail);
    let cols = names(&[
        "policy",
        "horizon",
        "metric",
        "unit",
        "mean",
        "stdev",
        "stderr",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
        "min",
        "max",
        &format!("VaR {t}%"),
        &format!("CVaR {t}%"),
    ]);
    list_header(ws, &cols, s.rows.len(), f)?;
    for (i, r) in s.rows.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.policy)?;
        ws.write_number(row, 1, r.horizon)?;
        ws.write_string(row, 2, r.metric)?;
        if let Some(u) = &r.unit {
            ws.write_string(row, 3, u)?;
        }
        let figures = [
            r.mean, r.stdev, r.stderr, r.p5, r.p25, r.p50, r.p75, r.p95, r.min, r.max, r.var,
            r.cvar,
        ];
        nums(ws, row, 4, &figures, &f.money)?;
    }
    widths(ws, &[(0, 16.0), (2, 13.0), (3, 26.0)], 4..cols.len(), 14.0)?;
    Ok(())
}

/// Each unit's median value at the last horizon, by policy, largest under
/// the baseline first, and how each other policy moves it, with a bar
/// chart of those moves (of the medians themselves when the baseline is
/// the only policy).
fn units_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let Some(&last) = sc.horizons.last() else {
        return Ok(());
    };
    let base = &sc.policies[sc.baseline].name;
    let others: Vec<usize> = (0..sc.policies.len())
        .filter(|&p| p != sc.baseline)
        .collect();
    let mut cols = names(&["unit", "role"]);
    for p in &sc.policies {
        cols.push(format!("{} P50 y{last}", p.name));
        cols.push(format!("{} P5", p.name));
        cols.push(format!("{} P95", p.name));
    }
    let moves = cols.len() as u16;
    for &p in &others {
        cols.push(format!("{} P50 - {base} P50", sc.policies[p].name));
    }
    list_header(ws, &cols, sc.units.len(), f)?;
    let median = |u: &str, p: &str| {
        s.row(p, last, "unit_value", Some(u))
            .map_or(f64::NAN, |r| r.p50)
    };
    let mut order: Vec<usize> = (0..sc.units.len()).collect();
    order.sort_by(|&a, &b| {
        median(&sc.units[b].name, base)
            .total_cmp(&median(&sc.units[a].name, base))
            .then(a.cmp(&b))
    });
    for (i, &u) in order.iter().enumerate() {
        let row = 1 + i as u32;
        let unit = &sc.units[u];
        ws.write_string(row, 0, &unit.name)?;
        ws.write_string(row, 1, unit.role.as_str())?;
        for (p, policy) in sc.policies.iter().enumerate() {
            if let Some(r) = s.row(&policy.name, last, "unit_value", Some(&unit.name)) {
                let c = 2 + 3 * p as u16;
                num(ws, row, c, r.p50, &f.money)?;
                num(ws, row, c + 1, r.p5, &f.money)?;
                num(ws, row, c + 2, r.p95, &f.money)?;
            }
        }
        for (k, &p) in others.iter().enumerate() {
            let d = median(&unit.name, &sc.policies[p].name) - median(&unit.name, base);
            num(ws, row, moves + k as u16, d, &f.money)?;
        }
    }
    widths(ws, &[(0, 28.0)], 1..cols.len(), 17.0)?;
    let n = sc.units.len() as u32;
    let mut chart = Chart::new(ChartType::Bar);
    let series: Vec<(String, u16)> = if others.is_empty() {
        chart
            .title()
            .set_name(&format!("Median value of each unit at year {last}"));
        vec![(base.clone(), 2)]
    } else {
        chart.title().set_name(&format!(
            "How each policy moves the units' median value at year {last}, vs {base}"
        ));
        others
            .iter()
            .enumerate()
            .map(|(k, &p)| (sc.policies[p].name.clone(), moves + k as u16))
            .collect()
    };
    for (label, c) in &series {
        chart
            .add_series()
            .set_name(label)
            .set_categories((name, 1, 0, n, 0))
            .set_values((name, 1, *c, n, *c));
    }
    chart
        .x_axis()
        .set_name(&s.currency)
        .set_num_format("#,##0.0");
    // Largest under the baseline at the top, labels clear of the bars.
    chart
        .y_axis()
        .set_reverse()
        .set_label_position(ChartAxisLabelPosition::Low);
    chart.set_width(760);
    chart.set_height(120 + 24 * n.min(60) * series.len().min(4) as u32);
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// Every unit figure at every horizon, one row per unit, policy and year.
fn unit_detail_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let mut cols = names(&["unit", "policy", "year"]);
    cols.extend(band("value"));
    cols.extend(names(&["revenue mean", "revenue P50"]));
    list_header(
        ws,
        &cols,
        sc.units.len() * sc.policies.len() * sc.horizons.len(),
        f,
    )?;
    let mut row = 1;
    for unit in &sc.units {
        for p in &sc.policies {
            for &h in &sc.horizons {
                let (Some(v), Some(r)) = (
                    s.row(&p.name, h, "unit_value", Some(&unit.name)),
                    s.row(&p.name, h, "unit_revenue", Some(&unit.name)),
                ) else {
                    continue;
                };
                ws.write_string(row, 0, &unit.name)?;
                ws.write_string(row, 1, &p.name)?;
                ws.write_number(row, 2, h)?;
                nums(
                    ws,
                    row,
                    3,
                    &[v.mean, v.p5, v.p50, v.p95, r.mean, r.p50],
                    &f.money,
                )?;
                row += 1;
            }
        }
    }
    widths(ws, &[(0, 28.0), (1, 16.0)], 3..cols.len(), 14.0)?;
    Ok(())
}

/// Group revenue over time: P5, P50 and P95 per policy, with a chart of
/// the medians.
fn revenue_sheet(ws: &mut Worksheet, name: &str, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let s = input.summary;
    let sc = input.scenario;
    let mut cols = names(&["year"]);
    for p in &sc.policies {
        cols.push(format!("{} P5", p.name));
        cols.push(format!("{} P50", p.name));
        cols.push(format!("{} P95", p.name));
    }
    let steps = input.layout.path_steps.len();
    list_header(ws, &cols, steps, f)?;
    for (p, policy) in sc.policies.iter().enumerate() {
        let pts = s.revenue_path.iter().filter(|pt| pt.policy == policy.name);
        for (i, pt) in pts.enumerate() {
            let row = 1 + i as u32;
            if p == 0 {
                ws.write_number_with_format(row, 0, pt.t, &f.number)?;
            }
            let c = 1 + 3 * p as u16;
            num(ws, row, c, pt.p5, &f.money)?;
            num(ws, row, c + 1, pt.p50, &f.money)?;
            num(ws, row, c + 2, pt.p95, &f.money)?;
        }
    }
    widths(ws, &[], 0..cols.len(), 15.0)?;
    let n = steps as u32;
    let mut chart = Chart::new(ChartType::Line);
    chart
        .title()
        .set_name(&format!("Median group revenue ({} a year)", s.currency));
    for (p, policy) in sc.policies.iter().enumerate() {
        let c = 2 + 3 * p as u16;
        chart
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, 1, 0, n, 0))
            .set_values((name, 1, c, n, c));
    }
    chart.x_axis().set_name("Years from now");
    chart.y_axis().set_num_format("#,##0");
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// Each unit's EBITA and cumulative cash at year ends (when recorded).
fn unit_paths_sheet(ws: &mut Worksheet, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let cols = names(&[
        "policy", "unit", "figure", "year", "mean", "P5", "P25", "P50", "P75", "P95",
    ]);
    let points = 1 + input.layout.unit_path_steps.len();
    list_header(
        ws,
        &cols,
        sc.policies.len() * sc.units.len() * 2 * points,
        f,
    )?;
    let mut row = 1;
    for (p, policy) in sc.policies.iter().enumerate() {
        for (u, unit) in sc.units.iter().enumerate() {
            for (figure, what) in [
                (UnitFigure::Ebita, "EBITA"),
                (UnitFigure::Cash, "cumulative cash"),
            ] {
                for pt in unit_paths::path(sc, input.layout, input.acc, p, u, figure) {
                    ws.write_string(row, 0, &policy.name)?;
                    ws.write_string(row, 1, &unit.name)?;
                    ws.write_string(row, 2, what)?;
                    ws.write_number(row, 3, pt.t)?;
                    num(ws, row, 4, pt.mean, &f.money)?;
                    nums(ws, row, 5, &pt.quantiles, &f.money)?;
                    row += 1;
                }
            }
        }
    }
    widths(ws, &[(0, 16.0), (1, 28.0), (2, 16.0)], 4..cols.len(), 14.0)?;
    Ok(())
}

/// Every sweep point (as sweep.csv), then, for the last horizon, a pivot
/// of median value and chance of beating the baseline per point and
/// policy, which the chart draws.
fn sweep_sheet(ws: &mut Worksheet, name: &str, st: &Studies, book: &Book) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let mut cols: Vec<String> = st.sweeps.iter().map(|s| s.path.clone()).collect();
    let k = cols.len() as u16;
    cols.extend(names(&[
        "policy",
        "year",
        "value mean",
        "value stderr",
        "value P5",
        "value P50",
        "value P95",
        "gain mean",
        "P(beat baseline)",
    ]));
    let rows: usize = st.points.iter().map(|p| p.headlines.len()).sum();
    list_header(ws, &cols, rows, f)?;
    let mut row = 1;
    for pt in &st.points {
        for h in &pt.headlines {
            for (c, v) in pt.values.iter().enumerate() {
                ws.write_number(row, c as u16, *v)?;
            }
            ws.write_string(row, k, &h.policy)?;
            ws.write_number(row, k + 1, h.horizon)?;
            let figures = [h.mean, h.stderr, h.p5, h.p50, h.p95, h.delta_mean];
            nums(ws, row, k + 2, &figures, &f.money)?;
            num(ws, row, k + 8, h.prob_beats_baseline, &f.share)?;
            row += 1;
        }
    }
    widths(ws, &[], 0..cols.len(), 16.0)?;
    // The pivot: one row per point, per policy median value and P(beat).
    let Some(&last) = sc.horizons.last() else {
        return Ok(());
    };
    let top = row + 2;
    ws.write_string_with_format(
        top - 1,
        0,
        format!("At year {last}, per sweep point"),
        &f.bold,
    )?;
    let mut pivot = vec!["point".to_string()];
    for p in &sc.policies {
        pivot.push(format!("{} value P50", p.name));
    }
    for p in &sc.policies {
        pivot.push(format!("{} P(beat)", p.name));
    }
    header(ws, top, &pivot, f)?;
    let n_p = sc.policies.len() as u16;
    for (i, pt) in st.points.iter().enumerate() {
        let r = top + 1 + i as u32;
        let label: Vec<String> = st
            .sweeps
            .iter()
            .zip(&pt.values)
            .map(|(s, v)| {
                let fmt = values_format(&s.values);
                format!("{}={}", short_path(&s.path), fmt(v))
            })
            .collect();
        ws.write_string(r, 0, label.join(", "))?;
        for (p, policy) in sc.policies.iter().enumerate() {
            if let Some(h) = pt
                .headlines
                .iter()
                .find(|h| h.policy == policy.name && h.horizon == last)
            {
                num(ws, r, 1 + p as u16, h.p50, &f.money)?;
                num(ws, r, 1 + n_p + p as u16, h.prob_beats_baseline, &f.share)?;
            }
        }
    }
    let r0 = top + 1;
    let r1 = top + st.points.len() as u32;
    let mut value = Chart::new(ChartType::Line);
    value
        .title()
        .set_name(&format!("Median value at year {last} across the sweep"));
    let mut beat = Chart::new(ChartType::Line);
    beat.title().set_name(&format!(
        "Share of trials beating the baseline at year {last}"
    ));
    for (p, policy) in sc.policies.iter().enumerate() {
        value
            .add_series()
            .set_name(&policy.name)
            .set_categories((name, r0, 0, r1, 0))
            .set_values((name, r0, 1 + p as u16, r1, 1 + p as u16));
        if p != sc.baseline {
            let c = 1 + n_p + p as u16;
            beat.add_series()
                .set_name(&policy.name)
                .set_categories((name, r0, 0, r1, 0))
                .set_values((name, r0, c, r1, c));
        }
    }
    value.y_axis().set_num_format("#,##0");
    beat.y_axis().set_num_format("0%");
    ws.insert_chart(r1 + 2, 0, &value)?;
    if sc.policies.len() > 1 {
        ws.insert_chart(r1 + 2, 5, &beat)?;
    }
    Ok(())
}

/// The last segment of a dotted path ("policies.reset.innovation.years"
/// -> "years"), for short labels.
fn short_path(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The sensitivity rows (as sensitivity.csv), with a bar chart of the ten
/// largest moves for the policy the report follows.
fn sensitivity_sheet(
    ws: &mut Worksheet,
    name: &str,
    st: &Studies,
    book: &Book,
) -> Result<(), XlsxError> {
    let Book { input, f } = *book;
    let sc = input.scenario;
    let cols = names(&[
        "policy",
        "input",
        "path",
        "step",
        "base",
        "low",
        "high",
        "mean gain (low)",
        "mean gain (base)",
        "mean gain (high)",
        "change when low",
        "change when high",
        "swing",
        "P(beat) low",
        "P(beat) base",
        "P(beat) high",
        "note",
    ]);
    list_header(ws, &cols, st.sensitivity.len(), f)?;
    for (i, r) in st.sensitivity.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.policy)?;
        ws.write_string(row, 1, r.label())?;
        ws.write_string(row, 2, &r.path)?;
        ws.write_string(row, 3, r.kind.name())?;
        nums(ws, row, 4, &[r.base, r.low, r.high], &f.number)?;
        let money = [
            r.gain_low,
            r.gain_base,
            r.gain_high,
            r.gain_low - r.gain_base,
            r.gain_high - r.gain_base,
            r.swing(),
        ];
        nums(ws, row, 7, &money, &f.money)?;
        nums(
            ws,
            row,
            13,
            &[r.beat_low, r.beat_base, r.beat_high],
            &f.share,
        )?;
        if let Some(n) = &r.note {
            ws.write_string(row, 16, n)?;
        }
    }
    widths(ws, &[(0, 16.0), (1, 34.0), (2, 26.0)], 3..cols.len(), 15.0)?;
    // Rows come sorted by swing within each policy: the first ten of the
    // followed policy are contiguous.
    let policy = sc
        .policies
        .iter()
        .enumerate()
        .find(|(p, _)| *p != sc.baseline)
        .map_or(&sc.policies[sc.baseline].name, |(_, p)| &p.name);
    let Some(first) = st.sensitivity.iter().position(|r| r.policy == *policy) else {
        return Ok(());
    };
    let count = st.sensitivity[first..]
        .iter()
        .take_while(|r| r.policy == *policy)
        .count()
        .min(10) as u32;
    let r0 = 1 + first as u32;
    let r1 = r0 + count - 1;
    let mut chart = Chart::new(ChartType::Bar);
    chart.title().set_name(&format!(
        "What moves {policy}'s mean gain over {} most ({})",
        sc.policies[sc.baseline].name, input.summary.currency
    ));
    for (c, label) in [(10u16, "input low"), (11, "input high")] {
        chart
            .add_series()
            .set_name(label)
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, c, r1, c));
    }
    chart
        .y_axis()
        .set_reverse()
        .set_label_position(ChartAxisLabelPosition::Low);
    chart.x_axis().set_num_format("#,##0.0");
    chart.set_width(760);
    chart.set_height(160 + 40 * count);
    ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    Ok(())
}

/// The funding study: one row per unit, funded years and horizon, and a
/// chart of each unit's mean gain by funded years at the year the choice
/// is read.
fn funding_sheet(
    ws: &mut Worksheet,
    name: &str,
    fs: &crate::results::funding::FundingStudy,
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let cols = names(&[
        "unit",
        "funded years",
        "year",
        "value mean",
        "gain mean",
        "gain stderr",
        "gain P5",
        "gain P95",
        "P(gain > 0)",
        "spend (present value)",
        "gate pass share",
        "group gain mean",
        "best",
    ]);
    list_header(ws, &cols, fs.rows.len(), f)?;
    for (i, r) in fs.rows.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &r.unit)?;
        ws.write_number(row, 1, r.years)?;
        ws.write_number(row, 2, r.horizon)?;
        let [g5, _, _, _, g95] = r.gain.quantiles;
        nums(
            ws,
            row,
            3,
            &[r.value.mean, r.gain.mean, r.gain.stderr, g5, g95],
            &f.money,
        )?;
        num(ws, row, 8, r.prob_gain, &f.share)?;
        num(ws, row, 9, r.spend_pv, &f.money)?;
        if let Some(g) = r.gate_pass {
            num(ws, row, 10, g, &f.share)?;
        }
        num(ws, row, 11, r.group_gain.mean, &f.money)?;
        ws.write_boolean(row, 12, r.best)?;
    }
    widths(ws, &[(0, 22.0)], 1..cols.len(), 14.0)?;
    // The choices, with how sure each is, beside the list.
    let c0 = cols.len() as u16 + 1;
    ws.write_string_with_format(
        0,
        c0,
        format!(
            "Best cycle at year {} (every cycle over), under these assumptions",
            fs.read_at
        ),
        &f.bold,
    )?;
    let head = names(&[
        "unit",
        "best years",
        "runner-up years",
        "P(best beats runner-up)",
        "P(best beats not funding)",
        "toss-up",
    ]);
    for (k, h) in head.iter().enumerate() {
        ws.write_string_with_format(1, c0 + k as u16, h, &f.header)?;
    }
    for (i, c) in fs.choices.iter().enumerate() {
        let row = 2 + i as u32;
        ws.write_string(row, c0, &c.unit)?;
        ws.write_number(row, c0 + 1, c.best)?;
        if let Some(r) = c.runner_up {
            ws.write_number(row, c0 + 2, r)?;
        }
        if let Some(p) = c.over_runner_up {
            num(ws, row, c0 + 3, p, &f.share)?;
        }
        if let Some(p) = c.over_none {
            num(ws, row, c0 + 4, p, &f.share)?;
        }
        ws.write_boolean(row, c0 + 5, c.toss_up())?;
    }
    // A line per unit: mean gain against funded years, at the reading year.
    let mut chart = Chart::new(ChartType::Line);
    chart.title().set_name(&format!(
        "Gain in each unit's own value vs not funding it, at year {} ({})",
        fs.read_at, fs.currency
    ));
    for unit in &fs.units {
        let at: Vec<u32> = fs
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| &r.unit == unit && r.horizon == fs.read_at)
            .map(|(i, _)| 1 + i as u32)
            .collect();
        if let (Some(&r0), Some(&r1)) = (at.first(), at.last()) {
            chart
                .add_series()
                .set_name(unit.as_str())
                .set_categories((name, r0, 1, r1, 1))
                .set_values((name, r0, 4, r1, 4));
        }
    }
    chart.x_axis().set_name("Funded years");
    chart.y_axis().set_name(&fs.currency);
    chart.set_width(720);
    ws.insert_chart(3 + fs.choices.len() as u32, c0, &chart)?;
    Ok(())
}

/// Which uncertain assumption matters: per outcome, every assumption's
/// share of the variance, its correlation with the outcome and its effect,
/// and a bar chart of the first outcome's shares.
fn uncertainty_sheet(
    ws: &mut Worksheet,
    name: &str,
    panels: &[crate::results::uncertainty::Panel],
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let cols = names(&[
        "policy",
        "outcome",
        "year",
        "unit",
        "key",
        "distribution",
        "share of variance",
        "correlation",
        "effect per stdev",
    ]);
    let rows: usize = panels.iter().map(|p| p.rows.len()).sum();
    list_header(ws, &cols, rows, f)?;
    let mut row = 1;
    let mut first: Option<(u32, u32)> = None;
    for p in panels {
        let r0 = row;
        for r in &p.rows {
            ws.write_string(row, 0, &p.policy)?;
            ws.write_string(row, 1, p.outcome.name())?;
            ws.write_number(row, 2, p.horizon)?;
            ws.write_string(row, 3, &r.unit)?;
            ws.write_string(row, 4, r.key)?;
            ws.write_string(row, 5, r.dist)?;
            num(ws, row, 6, r.share, &f.share)?;
            num(ws, row, 7, r.correlation, &f.number)?;
            num(ws, row, 8, r.effect, &f.money)?;
            row += 1;
        }
        if first.is_none() && row > r0 {
            first = Some((r0, (row - 1).min(r0 + 9)));
        }
    }
    widths(ws, &[(0, 16.0), (3, 26.0)], 4..cols.len(), 15.0)?;
    if let Some((r0, r1)) = first {
        let mut chart = Chart::new(ChartType::Bar);
        chart.title().set_name(&format!(
            "Share of the variance of {}'s {} explained",
            panels[0].policy,
            panels[0].outcome.name()
        ));
        chart
            .add_series()
            .set_name("share of variance")
            .set_categories((name, r0, 3, r1, 4))
            .set_values((name, r0, 6, r1, 6));
        chart.y_axis().set_reverse();
        chart.x_axis().set_num_format("0%");
        chart.set_width(640);
        ws.insert_chart(1, cols.len() as u16 + 1, &chart)?;
    }
    Ok(())
}

/// A cell's number as a spreadsheet should hold it: "2,816.8 ± 3.2" is
/// 2816.8, "67.5%" is 0.675 (a share); None for text.
fn cell_number(text: &str) -> Option<(f64, bool)> {
    let t = text.trim();
    let first = t.split_whitespace().next()?;
    let (body, share) = match first.strip_suffix('%') {
        Some(b) => (b, true),
        None => (first, false),
    };
    let x: f64 = body.replace([',', '+'], "").parse().ok()?;
    x.is_finite()
        .then_some((if share { x / 100.0 } else { x }, share))
}

/// The tables of report sections from a command above the run (the
/// optimizer's levers, figures and frontier), one after another under
/// their headings, numbers as numbers; a scatter chart of the frontier
/// when there is one.
fn sections_sheet(
    ws: &mut Worksheet,
    name: &str,
    blocks: &[Block],
    book: &Book,
) -> Result<(), XlsxError> {
    let f = book.f;
    let mut row = 0u32;
    let mut heading = String::new();
    let mut frontier: Option<(u32, u32)> = None;
    for b in blocks {
        match b {
            Block::Heading(_, h) => heading = h.clone(),
            Block::Table {
                header: head, rows, ..
            } => {
                if !heading.is_empty() {
                    ws.write_string_with_format(row, 0, &heading, &f.bold)?;
                    row += 1;
                }
                row = header(ws, row, head, f)?;
                let r0 = row;
                for cells in rows {
                    for (c, text) in cells.iter().enumerate() {
                        match cell_number(text) {
                            Some((x, true)) => num(ws, row, c as u16, x, &f.share)?,
                            Some((x, false)) if c > 0 => num(ws, row, c as u16, x, &f.number)?,
                            _ => {
                                ws.write_string(row, c as u16, text)?;
                            }
                        }
                    }
                    row += 1;
                }
                if heading.contains("frontier") && head.len() >= 3 && row > r0 {
                    frontier = Some((r0, row - 1));
                }
                row += 1;
            }
            _ => {}
        }
    }
    widths(ws, &[(0, 44.0)], 1..4, 22.0)?;
    if let Some((r0, r1)) = frontier {
        let mut chart = Chart::new(ChartType::ScatterStraightWithMarkers);
        chart
            .title()
            .set_name("Efficient frontier: best mean value for each risk limit");
        chart
            .add_series()
            .set_name("frontier")
            .set_categories((name, r0, 1, r1, 1))
            .set_values((name, r0, 2, r1, 2));
        chart.x_axis().set_name("risk measure");
        chart.y_axis().set_name("mean value");
        chart.set_width(640);
        ws.insert_chart(1, 5, &chart)?;
    }
    Ok(())
}

/// Writes `summary.xlsx` into `dir` (see [`super::write_results`]).
pub fn write(dir: &std::path::Path, input: &Input) -> crate::error::Result<()> {
    let path = dir.join("summary.xlsx");
    let bytes = build(input).map_err(|e| crate::error::Error::output(&path, e))?;
    std::fs::write(&path, bytes).map_err(|e| crate::error::Error::output(&path, e))
}
