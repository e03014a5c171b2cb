//! Reading a revenue history: a long CSV of `period,unit,revenue` rows.
//!
//! Everything the estimators assume is checked here, so that they never
//! see a gap, a duplicate or a revenue they cannot take the log of: a
//! malformed file is refused with its line and column (exit 2), never
//! patched. Lines starting with `#` are comments (the shipped synthetic
//! history says what it is in them); a UTF-8 byte-order mark is skipped.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::period::{self, Frequency, Label, Period};
use crate::error::{Error, InputError, Result};

/// Largest history file read (bytes): far above any real history.
pub const MAX_BYTES: u64 = 16 << 20;
/// Most units one history may hold (the scenario's own limit).
pub const MAX_UNITS: usize = crate::scenario::validate::MAX_UNITS;
/// Longest unit name accepted (a scenario's own limit).
pub const MAX_NAME_CHARS: usize = crate::scenario::names::MAX_NAME_CHARS;
/// The columns a history has, in any order.
pub const COLUMNS: [&str; 3] = ["period", "unit", "revenue"];

/// One unit's revenue, one value per consecutive period.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// The first period; value i is that of `first.plus(i)`.
    pub first: Period,
    /// Revenue booked in each period (> 0).
    pub revenue: Vec<f64>,
}

impl Series {
    /// The period of value `i`.
    pub fn period(&self, i: usize) -> Period {
        self.first.plus(i as i64)
    }

    /// The last period.
    pub fn last(&self) -> Period {
        self.period(self.revenue.len().saturating_sub(1))
    }
}

/// A checked history: one frequency, every unit without gaps.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub path: PathBuf,
    pub frequency: Frequency,
    /// In the order units first appear in the file.
    pub units: Vec<Series>,
}

/// Reads and checks a history file (a regular file of at most
/// [`MAX_BYTES`]).
pub fn read(path: &Path) -> Result<History> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::file(path, format!("cannot read the history: {e}")))?;
    if !meta.is_file() {
        return Err(Error::file(path, "the history must be a regular file"));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Error::file(path, format!("cannot read the history: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::file(path, format!("cannot read the history: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::file(
            path,
            format!(
                "the history is larger than {} MiB; a revenue history is far smaller",
                MAX_BYTES >> 20
            ),
        ));
    }
    parse(path, &bytes)
}

/// A data row as read.
struct Row {
    label: Label,
    unit: usize,
    revenue: f64,
    line: u64,
}

/// Locates errors in the file's text.
struct Locator<'a> {
    path: &'a Path,
    lines: Vec<&'a str>,
}

impl Locator<'_> {
    /// An error on `line` (1-based), at field `field` (0-based) when given.
    fn error(&self, line: u64, field: Option<usize>, message: impl Into<String>) -> Error {
        let text = self.lines.get((line as usize).wrapping_sub(1)).copied();
        let column = match (text, field) {
            (Some(t), Some(f)) => field_column(t, f),
            (Some(_), None) => 1,
            _ => 0,
        };
        Error::from(InputError {
            file: self.path.to_path_buf(),
            line: line as usize,
            column,
            key: String::new(),
            message: message.into(),
            source_line: text.map(|t| t.chars().take(200).collect()),
        })
    }

    fn csv_error(&self, e: &csv::Error) -> Error {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        let (field, message) = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => (
                None,
                format!(
                    "this row has {len} field{}, the header has {expected_len}",
                    if *len == 1 { "" } else { "s" }
                ),
            ),
            csv::ErrorKind::Utf8 { err, .. } => (
                Some(err.field()),
                format!("field {} is not valid UTF-8 text", err.field() + 1),
            ),
            _ => (None, format!("not a readable CSV row: {e}")),
        };
        if line == 0 {
            return Error::file(self.path, message);
        }
        self.error(line, field, message)
    }
}

/// The 1-based character column where field `field` (0-based) of a CSV
/// line starts (quotes respected).
fn field_column(line: &str, field: usize) -> usize {
    let mut quoted = false;
    let mut seen = 0;
    for (col, c) in line.chars().enumerate() {
        if seen == field {
            // Point past leading spaces at the value itself.
            return line
                .chars()
                .skip(col)
                .position(|c| c != ' ' && c != '\t')
                .map_or(col + 1, |p| col + p + 1);
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => seen += 1,
            _ => {}
        }
    }
    line.chars().count() + 1
}

/// Parses and checks a history held in memory (`path` names it in
/// messages): the header, then every row, then each unit's series.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<History> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let loc = Locator {
        path,
        lines: text.split('\n').map(|l| l.trim_end_matches('\r')).collect(),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .has_headers(true)
        .from_reader(bytes);
    let columns = columns(&loc, &mut rdr)?;
    let (names, rows) = read_rows(&loc, &mut rdr, &columns)?;
    if rows.is_empty() {
        return Err(Error::file(
            path,
            "the history has a header but no data rows",
        ));
    }
    let frequency = frequency(&loc, &rows, columns.period)?;
    let units = series(&loc, names, &rows, frequency, columns.period)?;
    Ok(History {
        path: path.to_path_buf(),
        frequency,
        units,
    })
}

/// Where each of the history's columns is in its rows.
struct Columns {
    period: usize,
    unit: usize,
    revenue: usize,
}

/// Reads the header: each of [`COLUMNS`] exactly once (any order, any
/// letter case), nothing else.
fn columns(loc: &Locator, rdr: &mut csv::Reader<&[u8]>) -> Result<Columns> {
    let header = rdr.headers().map_err(|e| loc.csv_error(&e))?.clone();
    // The header is the first line that is neither blank nor a comment.
    let header_line = loc
        .lines
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with('#'))
        .map_or(1, |i| i as u64 + 1);
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(Error::file(
            loc.path,
            "the history is empty: expected a header row `period,unit,revenue` and one row per (period, unit)",
        ));
    }
    let mut col = [usize::MAX; 3];
    for (i, name) in header.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        match COLUMNS.iter().position(|&c| c == lower) {
            Some(k) if col[k] != usize::MAX => {
                return Err(loc.error(
                    header_line,
                    Some(i),
                    format!("column {:?} appears twice in the header", COLUMNS[k]),
                ))
            }
            Some(k) => col[k] = i,
            None => {
                return Err(loc.error(
                    header_line,
                    Some(i),
                    format!(
                        "unknown column {name:?} in the header: a history has exactly the columns period, unit, revenue{}",
                        if period::parse(name).is_ok() {
                            " (the first row looks like data: add the header row `period,unit,revenue`)"
                        } else {
                            ""
                        }
                    ),
                ))
            }
        }
    }
    if let Some(k) = col.iter().position(|&c| c == usize::MAX) {
        return Err(loc.error(
            header_line,
            None,
            format!(
                "the header has no column {:?}: a history has the columns period, unit, revenue",
                COLUMNS[k]
            ),
        ));
    }
    let [period, unit, revenue] = col;
    Ok(Columns {
        period,
        unit,
        revenue,
    })
}

/// Reads every data row: the units' names in the order they first appear,
/// and the rows, each checked on its own.
fn read_rows(
    loc: &Locator,
    rdr: &mut csv::Reader<&[u8]>,
    c: &Columns,
) -> Result<(Vec<String>, Vec<Row>)> {
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut rows: Vec<Row> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| loc.csv_error(&e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let label =
            period::parse(&rec[c.period]).map_err(|m| loc.error(line, Some(c.period), m))?;
        let name = unit_name(loc, line, c.unit, &rec[c.unit])?;
        let unit = match index.get(name) {
            Some(&u) => u,
            None => {
                if names.len() == MAX_UNITS {
                    return Err(loc.error(
                        line,
                        Some(c.unit),
                        format!("more than {MAX_UNITS} units in one history"),
                    ));
                }
                index.insert(name.to_string(), names.len());
                names.push(name.to_string());
                names.len() - 1
            }
        };
        let revenue = revenue(loc, line, c.revenue, &rec[c.revenue])?;
        rows.push(Row {
            label,
            unit,
            revenue,
            line,
        });
    }
    Ok((names, rows))
}

/// The unit name of a row's field, refused when empty, too long or unsafe
/// in the files we write.
fn unit_name<'r>(loc: &Locator, line: u64, column: usize, field: &'r str) -> Result<&'r str> {
    // A name that starts like a formula was written with a leading
    // apostrophe (format::csv_text, as `simulate history` writes it):
    // read it back as the name.
    let name = match field.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::format::CSV_FORMULA_STARTS) => rest,
        _ => field,
    };
    if name.is_empty() {
        return Err(loc.error(line, Some(column), "the unit name is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(loc.error(
            line,
            Some(column),
            format!("the unit name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if let Some(why) = crate::scenario::names::unsafe_reason(name) {
        return Err(loc.error(line, Some(column), format!("unit name {name:?} {why}")));
    }
    Ok(name)
}

/// The revenue of a row's field: a finite positive number.
fn revenue(loc: &Locator, line: u64, column: usize, raw: &str) -> Result<f64> {
    let revenue: f64 = raw.parse().map_err(|_| {
        loc.error(
            line,
            Some(column),
            format!("revenue {raw:?} is not a number (write 1234.5: no thousands separators or currency)"),
        )
    })?;
    if !(revenue.is_finite() && revenue > 0.0) {
        return Err(loc.error(
            line,
            Some(column),
            format!(
                "revenue must be a positive number, got {raw:?} (growth is read from log revenue)"
            ),
        ));
    }
    Ok(revenue)
}

/// Each unit's rows in period order as one series, refused where a unit
/// has two rows for one period or a gap.
fn series(
    loc: &Locator,
    names: Vec<String>,
    rows: &[Row],
    frequency: Frequency,
    c_period: usize,
) -> Result<Vec<Series>> {
    let mut units = Vec::with_capacity(names.len());
    let mut by_unit: Vec<Vec<(Period, &Row)>> = vec![Vec::new(); names.len()];
    for r in rows {
        by_unit[r.unit].push((r.label.period(frequency), r));
    }
    for (name, mut list) in names.into_iter().zip(by_unit) {
        list.sort_by_key(|(p, r)| (*p, r.line));
        for pair in list.windows(2) {
            check_next(loc, &name, pair[0], pair[1], frequency, c_period)?;
        }
        units.push(Series {
            name,
            first: list[0].0,
            revenue: list.iter().map(|(_, r)| r.revenue).collect(),
        });
    }
    Ok(units)
}

/// Checks that a unit's row `(p1, r1)` is the period right after its
/// previous one `(p0, r0)`: neither the same period again nor a gap.
fn check_next(
    loc: &Locator,
    name: &str,
    (p0, r0): (Period, &Row),
    (p1, r1): (Period, &Row),
    frequency: Frequency,
    c_period: usize,
) -> Result<()> {
    if p1 == p0 {
        return Err(loc.error(
            r1.line,
            Some(c_period),
            format!(
                "a second row for unit {name:?} in {p1} (the first is on line {}){}",
                r0.line,
                if matches!(r1.label, Label::Date { .. }) {
                    format!(
                        ": both dates fall in {p1}, and fit reads one value per {}",
                        frequency.period_name()
                    )
                } else {
                    String::new()
                }
            ),
        ));
    }
    if p1.index != p0.index + 1 {
        let missing = if p1.index == p0.index + 2 {
            p0.plus(1).to_string()
        } else {
            format!("{} to {}", p0.plus(1), p1.plus(-1))
        };
        return Err(loc.error(
            r1.line,
            Some(c_period),
            format!(
                "unit {name:?} has a gap: no row for {missing} between {p0} (line {}) and {p1}; fit needs consecutive {}s (fill the gap or start the series after it)",
                r0.line,
                frequency.period_name()
            ),
        ));
    }
    Ok(())
}

/// The file's frequency: from its labels, or from the spacing of its
/// dates.
fn frequency(loc: &Locator, rows: &[Row], c_period: usize) -> Result<Frequency> {
    let first = &rows[0];
    let same_kind = |a: Label, b: Label| std::mem::discriminant(&a) == std::mem::discriminant(&b);
    if let Some(r) = rows.iter().find(|r| !same_kind(r.label, first.label)) {
        return Err(loc.error(
            r.line,
            Some(c_period),
            format!(
                "this period is {}, but line {} has {}: one history holds one frequency and one style of period",
                r.label.kind(),
                first.line,
                first.label.kind()
            ),
        ));
    }
    match first.label {
        Label::Quarter { .. } => Ok(Frequency::Quarterly),
        Label::Year(_) => Ok(Frequency::Annual),
        Label::Date { .. } => {
            let units = rows.iter().map(|r| r.unit).max().unwrap_or(0) + 1;
            let mut by_unit: Vec<Vec<&Row>> = vec![Vec::new(); units];
            for r in rows {
                by_unit[r.unit].push(r);
            }
            let mut pairs = Vec::new();
            for list in &mut by_unit {
                list.sort_by_key(|r| (r.label.month_index(), r.line));
                pairs.extend(list.windows(2).map(|w| (w[0], w[1])));
            }
            let months = |a: &Row, b: &Row| {
                b.label.month_index().unwrap_or(0) - a.label.month_index().unwrap_or(0)
            };
            if pairs.iter().all(|&(a, b)| months(a, b) % 12 == 0) {
                return Ok(Frequency::Annual);
            }
            if let Some(&(a, b)) = pairs.iter().find(|&&(a, b)| months(a, b) % 3 != 0) {
                let later = if a.line > b.line { a } else { b };
                return Err(loc.error(
                    later.line,
                    Some(c_period),
                    format!(
                        "irregular dates: this row and line {} of the same unit are {} months apart; fit reads quarterly or annual data (dates 3 or 12 months apart)",
                        if a.line > b.line { b.line } else { a.line },
                        months(a, b)
                    ),
                ));
            }
            Ok(Frequency::Quarterly)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<History> {
        parse(Path::new("h.csv"), s.as_bytes())
    }

    fn input_error(s: &str) -> InputError {
        match parse_str(s) {
            Err(Error::Input(e)) => *e,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_quarterly_history_in_any_row_order() {
        let h = parse_str(
            "# a comment\nunit,period,revenue\nB,2021Q2,5\nA,2021Q1,1\nA,2021Q2,2\nB,2021Q1,4\nA,2021Q3,3\n",
        )
        .unwrap();
        assert_eq!(h.frequency, Frequency::Quarterly);
        assert_eq!(h.units[0].name, "B");
        assert_eq!(h.units[0].revenue, vec![4.0, 5.0]);
        assert_eq!(h.units[1].name, "A");
        assert_eq!(h.units[1].first.to_string(), "2021Q1");
        assert_eq!(h.units[1].last().to_string(), "2021Q3");
        assert_eq!(h.units[1].revenue, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn dates_pick_the_frequency_from_their_spacing() {
        let q = parse_str("period,unit,revenue\n2021-03-31,A,1\n2021-06-30,A,2\n2021-09-30,A,3\n")
            .unwrap();
        assert_eq!(q.frequency, Frequency::Quarterly);
        assert_eq!(q.units[0].first.to_string(), "2021Q1");
        let a = parse_str("period,unit,revenue\n2021-03-31,A,1\n2022-03-31,A,2\n2023-03-31,A,3\n")
            .unwrap();
        assert_eq!(a.frequency, Frequency::Annual);
        assert_eq!(a.units[0].last().to_string(), "2023");
    }

    #[test]
    fn a_bom_and_crlf_are_fine() {
        let h = parse_str("\u{feff}Period,Unit,Revenue\r\n2020,A,1\r\n2021,A,2\r\n").unwrap();
        assert_eq!(h.frequency, Frequency::Annual);
        assert_eq!(h.units[0].revenue, vec![1.0, 2.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        // (file, line, column, words)
        let cases: &[(&str, usize, usize, &str)] = &[
            ("period,unit,revenu\n2021,A,1\n", 1, 13, "unknown column \"revenu\""),
            ("period,unit\n2021,A\n", 1, 1, "no column \"revenue\""),
            ("period,unit,unit,revenue\n", 1, 13, "appears twice"),
            ("# note\n\nperiod,unit,sales\n", 3, 13, "unknown column"),
            ("2021Q1,A,1\n2021Q2,A,2\n", 1, 1, "add the header row"),
            ("period,unit,revenue\n2021Q1,A,1\n2021Q2,A,abc\n", 3, 10, "not a number"),
            ("period,unit,revenue\n2021Q1,A,1\n2021Q2,A, -2\n", 3, 11, "positive"),
            ("period,unit,revenue\n2021Q1,A,0\n", 2, 10, "positive"),
            ("period,unit,revenue\n2021Q1,A,nan\n", 2, 10, "positive"),
            ("period,unit,revenue\n2021Q1,A,inf\n", 2, 10, "positive"),
            ("period,unit,revenue\n2021Q5,A,1\n", 2, 1, "not a period"),
            ("period,unit,revenue\n2021Q1,,1\n", 2, 8, "unit name is empty"),
            ("period,unit,revenue\n2021Q1,A,1\n2021Q1,A,2\n", 3, 1, "first is on line 2"),
            ("period,unit,revenue\n2021Q1,A,1\n2021Q3,A,2\n", 3, 1, "no row for 2021Q2"),
            ("period,unit,revenue\n2021Q1,A,1\n2021,A,2\n", 3, 1, "one frequency"),
            ("period,unit,revenue\n2021Q1,A,1\n2021-06-30,A,2\n", 3, 1, "one frequency"),
            ("period,unit,revenue\n2021Q1,A,1,9\n", 2, 0, "4 fields"),
            (
                "period,unit,revenue\n2021-01-31,A,1\n2021-03-31,A,2\n",
                3,
                1,
                "2 months apart",
            ),
            (
                "period,unit,revenue\n2021-03-31,A,1\n2021-06-15,A,2\n2021-06-30,A,3\n2021-09-30,A,4\n",
                4,
                1,
                "both dates fall in 2021Q2",
            ),
            ("# only\n# comments\nperiod,unit,revenue\n2021,A,1\n2023,A,2\n", 5, 1, "no row for 2022"),
            ("period,unit,revenue\n2019,A,1\n2023,A,2\n", 3, 1, "2020 to 2022"),
        ];
        for &(text, line, column, words) in cases {
            let e = input_error(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            if column > 0 {
                assert_eq!(e.column, column, "{text:?}: {e}");
            }
            assert!(e.to_string().contains(words), "{text:?}: {e}");
        }
    }

    #[test]
    fn empty_files_are_refused() {
        for text in ["", "# nothing\n", "period,unit,revenue\n", "\n\n"] {
            assert!(parse_str(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn quoted_fields_keep_their_commas() {
        let h = parse_str(
            "period,unit,revenue\n2021,\"Local, Services\",1\n2022,\"Local, Services\",2\n",
        )
        .unwrap();
        assert_eq!(h.units[0].name, "Local, Services");
        let e = input_error("period,unit,revenue\n2021,\"A, B\",x\n");
        assert_eq!(e.column, 13);
    }

    #[test]
    fn field_columns_count_characters() {
        assert_eq!(field_column("a,b,c", 0), 1);
        assert_eq!(field_column("a,b,c", 2), 5);
        assert_eq!(field_column("\"x,y\",  b", 1), 9);
        assert_eq!(field_column("é,b", 1), 3);
        assert_eq!(field_column("a", 3), 2);
    }
}
