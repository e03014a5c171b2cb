//! Period labels of a revenue history: `2021Q3`, `2021-Q3`, `Q3 2021`,
//! `2021`, or dates such as `2021-09-30`.
//!
//! A label says its frequency itself (a quarter or a year); a date does
//! not, so dates are read as a whole file: when every unit's consecutive
//! dates lie whole years apart the file is annual, otherwise each date
//! stands for the calendar quarter that holds it. Mixing labels of
//! different kinds in one file is refused: the estimators need one
//! frequency, and a file that mixes them is more likely a mistake than a
//! plan.

use std::fmt;

/// How often a history reports revenue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Frequency {
    Quarterly,
    Annual,
}

impl Frequency {
    /// Periods per year: 4 or 1.
    pub fn per_year(self) -> usize {
        match self {
            Frequency::Quarterly => 4,
            Frequency::Annual => 1,
        }
    }

    /// "quarterly" or "annual".
    pub fn name(self) -> &'static str {
        match self {
            Frequency::Quarterly => "quarterly",
            Frequency::Annual => "annual",
        }
    }

    /// "quarter" or "year".
    pub fn period_name(self) -> &'static str {
        match self {
            Frequency::Quarterly => "quarter",
            Frequency::Annual => "year",
        }
    }
}

/// One period: consecutive periods have consecutive indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// year x 4 + quarter - 1 (quarterly), or the year (annual).
    pub index: i64,
    pub frequency: Frequency,
}

impl Period {
    pub fn quarter(year: i64, quarter: i64) -> Period {
        Period {
            index: year * 4 + quarter - 1,
            frequency: Frequency::Quarterly,
        }
    }

    pub fn year(year: i64) -> Period {
        Period {
            index: year,
            frequency: Frequency::Annual,
        }
    }

    /// The period `n` periods later.
    pub fn plus(self, n: i64) -> Period {
        Period {
            index: self.index + n,
            ..self
        }
    }

    /// Position within the year: the quarter minus 1 (0..=3), or 0.
    pub fn season(self) -> usize {
        match self.frequency {
            Frequency::Quarterly => self.index.rem_euclid(4) as usize,
            Frequency::Annual => 0,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frequency {
            Frequency::Quarterly => write!(
                f,
                "{}Q{}",
                self.index.div_euclid(4),
                self.index.rem_euclid(4) + 1
            ),
            Frequency::Annual => write!(f, "{}", self.index),
        }
    }
}

/// A period label as written, before the file's frequency is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// `2021Q3`, `2021-Q3`, `2021 Q3`, `Q3 2021`, `Q3-2021`.
    Quarter { year: i64, quarter: i64 },
    /// `2021`.
    Year(i64),
    /// `2021-09-30`, `2021/09/30` or `2021-09`.
    Date { year: i64, month: i64 },
}

impl Label {
    /// What kind of label this is, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            Label::Quarter { .. } => "a quarter such as 2021Q3",
            Label::Year(_) => "a year such as 2021",
            Label::Date { .. } => "a date such as 2021-09-30",
        }
    }

    /// Months since year 0 (dates only).
    pub fn month_index(self) -> Option<i64> {
        match self {
            Label::Date { year, month } => Some(year * 12 + month - 1),
            _ => None,
        }
    }

    /// The period of the label under `frequency` (dates map to the
    /// quarter, or the year, that holds them).
    pub fn period(self, frequency: Frequency) -> Period {
        match (self, frequency) {
            (Label::Quarter { year, quarter }, _) => Period::quarter(year, quarter),
            (Label::Year(year), _) => Period::year(year),
            (Label::Date { year, month }, Frequency::Quarterly) => {
                Period::quarter(year, (month - 1) / 3 + 1)
            }
            (Label::Date { year, .. }, Frequency::Annual) => Period::year(year),
        }
    }
}

/// The forms [`parse`] accepts, for error messages.
pub const FORMS: &str = "2021Q3, 2021-Q3, Q3 2021, 2021 (a year) or a date 2021-09-30";

/// Parses a period label (surrounding spaces and letter case ignored).
pub fn parse(text: &str) -> Result<Label, String> {
    let t = text.trim().to_ascii_uppercase();
    let bad = || format!("{text:?} is not a period; write {FORMS}");
    let year = |s: &str| -> Option<i64> {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
            .filter(|&y| y >= 1000)
    };
    let quarter = |s: &str| -> Option<i64> {
        let q = s.strip_prefix('Q')?;
        match q {
            "1" | "2" | "3" | "4" => q.parse().ok(),
            _ => None,
        }
    };
    if let Some(y) = year(&t) {
        return Ok(Label::Year(y));
    }
    // Year then quarter: 2021Q3, 2021-Q3, 2021 Q3.
    if t.len() >= 6 && t.is_char_boundary(4) {
        let (y, rest) = t.split_at(4);
        let rest = rest
            .strip_prefix('-')
            .or_else(|| rest.strip_prefix(' '))
            .unwrap_or(rest);
        if let (Some(year), Some(quarter)) = (year(y), quarter(rest)) {
            return Ok(Label::Quarter { year, quarter });
        }
    }
    // Quarter then year: Q3 2021, Q3-2021.
    if t.starts_with('Q') && t.len() >= 6 && t.is_char_boundary(2) {
        let (q, rest) = t.split_at(2);
        let rest = rest
            .strip_prefix('-')
            .or_else(|| rest.strip_prefix(' '))
            .unwrap_or(rest);
        if let (Some(quarter), Some(year)) = (quarter(q), year(rest)) {
            return Ok(Label::Quarter { year, quarter });
        }
    }
    // Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY-MM.
    let parts: Vec<&str> = t.split(['-', '/']).collect();
    if (parts.len() == 2 || parts.len() == 3) && !t.contains("-/") && !t.contains("/-") {
        let y = year(parts[0]).ok_or_else(bad)?;
        let two = |s: &str| -> Option<i64> {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let month = two(parts[1])
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| {
                format!("{text:?}: the month must be 01 to 12 (dates are year-month-day)")
            })?;
        if let Some(d) = parts.get(2) {
            let day = two(d).ok_or_else(bad)?;
            if !(1..=days_in_month(y, month)).contains(&day) {
                return Err(format!(
                    "{text:?} is not a date: {y}-{month:02} has no day {day}"
                ));
            }
        }
        return Ok(Label::Date { year: y, month });
    }
    Err(bad())
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_labels_in_every_accepted_form() {
        for s in [
            "2021Q3", "2021q3", "2021-Q3", "2021 Q3", "Q3 2021", "q3-2021", " 2021Q3 ",
        ] {
            assert_eq!(
                parse(s),
                Ok(Label::Quarter {
                    year: 2021,
                    quarter: 3
                }),
                "{s}"
            );
        }
        assert_eq!(parse("2021"), Ok(Label::Year(2021)));
    }

    #[test]
    fn dates_map_to_their_quarter_or_year() {
        let d = parse("2021-09-30").unwrap();
        assert_eq!(
            d,
            Label::Date {
                year: 2021,
                month: 9
            }
        );
        assert_eq!(d.period(Frequency::Quarterly).to_string(), "2021Q3");
        assert_eq!(d.period(Frequency::Annual).to_string(), "2021");
        assert_eq!(
            parse("2021/01/01")
                .unwrap()
                .period(Frequency::Quarterly)
                .to_string(),
            "2021Q1"
        );
        assert_eq!(
            parse("2021-12")
                .unwrap()
                .period(Frequency::Quarterly)
                .to_string(),
            "2021Q4"
        );
        assert_eq!(
            parse("2024-02-29").unwrap().month_index(),
            Some(2024 * 12 + 1)
        );
    }

    #[test]
    fn bad_labels_are_refused_with_a_reason() {
        for s in [
            "",
            "21Q3",
            "2021Q5",
            "2021Q0",
            "Q3",
            "2021-13-01",
            "2021-02-30",
            "2023-02-29",
            "2021-9-30",
            "09/30/2021",
            "FY2021",
            "2021Q3x",
            "0999",
            "2021--Q3",
            "２０２１",
            "2021-/09",
            "2021-09-30-01",
        ] {
            assert!(parse(s).is_err(), "{s:?} accepted");
        }
        assert!(parse("2021-13-01").unwrap_err().contains("month"));
        assert!(parse("2021-02-30").unwrap_err().contains("no day 30"));
    }

    #[test]
    fn periods_count_and_print() {
        let q = Period::quarter(2021, 4);
        assert_eq!(q.plus(1).to_string(), "2022Q1");
        assert_eq!(q.plus(1).season(), 0);
        assert_eq!(q.season(), 3);
        assert_eq!(Period::year(2021).plus(2).to_string(), "2023");
        assert!(Period::quarter(2021, 1) < Period::quarter(2021, 2));
    }
}
