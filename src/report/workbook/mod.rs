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

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

mod run_sheets;
mod study_sheets;

use run_sheets::*;
use study_sheets::*;

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

/// Writes `summary.xlsx` into `dir` (see [`super::write_results`]).
pub fn write(dir: &std::path::Path, input: &Input) -> crate::error::Result<()> {
    let path = dir.join("summary.xlsx");
    let bytes = build(input).map_err(|e| crate::error::Error::output(&path, e))?;
    std::fs::write(&path, bytes).map_err(|e| crate::error::Error::output(&path, e))
}
