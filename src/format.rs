//! Numbers (and TOML values) as text: the one place a figure becomes the
//! string a reader, a spreadsheet or a scenario file sees.
//!
//! Every output shows the same figure the same way because it calls the
//! same function here: the terminal table and the charts group thousands
//! with [`money`] and [`number`], the headline sentences keep three
//! significant figures with [`amount`] and never round a probability to
//! "never" or "always" with [`share`], and every CSV writes numbers with
//! [`num`] (shortest round-trip) and text with [`csv_field`], and TOML
//! fragments (`fit`, sweep points) write values with [`sig`],
//! [`toml_number`], [`toml_string`] and [`toml_key`]. These
//! functions take plain numbers and know nothing of the model, so any layer
//! may use them. Changing one changes output bytes: each is pinned by a
//! test below.

/// Thousands-separated number with a fixed number of decimals, never in
/// scientific notation; "-" for a figure that is not finite. A value that
/// rounds to zero is written without a sign ("0.00", not "-0.00").
pub fn number(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let negative = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Money with thousands separators and the precision its size needs: no
/// decimals from 100 up, one from 10, two below.
pub fn money(x: f64) -> String {
    let decimals = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    number(x, decimals)
}

/// `text` (the figure `x` as written) with a plus sign when `x` is
/// positive and does not round to zero there: "+12.0", "0.00", "-3".
pub fn plus(x: f64, text: String) -> String {
    if x > 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{text}")
    } else {
        text
    }
}

/// A signed money figure for differences: "+1,234" or "-56.7".
pub fn signed_money(x: f64) -> String {
    plus(x, money(x))
}

/// A paired gain with its standard error: "+1.23 ±0.05".
pub fn gain(mean: f64, stderr: f64) -> String {
    format!("{} ±{}", signed_money(mean), money(stderr))
}

/// Money at a glance: whole numbers with thousands separators from 100 up,
/// three significant figures below (41.3, 0.0413), scientific notation
/// outside [1e-4, 1e15) so that neither a tiny nor a huge figure prints as
/// a wall of digits or as a misleading 0.
pub fn amount(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e15).contains(&a) {
        return format!("{x:.2e}");
    }
    // Round to three significant figures first, so that 99.96 reads 100.
    let r: f64 = format!("{x:.2e}").parse().unwrap_or(x);
    if r.abs() >= 100.0 {
        return money(if a >= 100.0 { x } else { r });
    }
    let decimals = (2 - r.abs().log10().floor() as i32).max(0) as usize;
    format!("{r:.decimals$}")
}

/// [`amount`] with its sign always written ("+41", "-30", "0").
pub fn signed(x: f64) -> String {
    let s = amount(x);
    if x > 0.0 && x.is_finite() {
        format!("+{s}")
    } else {
        s
    }
}

/// A probability as a percentage a reader can trust at a glance: whole
/// percent from 10% to 90%, one decimal nearer either end (where a point
/// matters), and "<0.1%" or ">99.9%" rather than a rounded "0.0%" or
/// "100.0%" that would claim never or always.
pub fn share(p: f64) -> String {
    if !p.is_finite() {
        "-".into()
    } else if p <= 0.0 {
        "0%".into()
    } else if p >= 1.0 {
        "100%".into()
    } else if p < 0.001 {
        "<0.1%".into()
    } else if p > 0.999 {
        ">99.9%".into()
    } else if !(0.1..=0.9).contains(&p) {
        format!("{:.1}%", 100.0 * p)
    } else {
        format!("{:.0}%", 100.0 * p)
    }
}

/// A ratio as a percentage with a fixed number of decimals: 0.125 -> "12.5%".
pub fn percent(x: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, 100.0 * x)
}

/// A tail share as the percentage figure of "VaR5", "CVaR2.5".
pub fn tail_label(tail: f64) -> String {
    trim_zeros(format!("{:.3}", 100.0 * tail))
}

/// Shortest representation that reads back to the same f64 (as in JSON):
/// how every CSV the tool writes states a number.
pub fn num(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_default()
}

/// A text cell of any CSV the tool writes: the one place CSV text is
/// written.
///
/// A text that starts like a formula (`=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading apostrophe, so that a spreadsheet shows
/// it as text instead of evaluating it (OWASP's advice against CSV
/// injection: a unit named `=HYPERLINK(...)` must not become a live
/// formula). Then RFC 4180 quoting where needed. Numbers never go through
/// here ([`num`]): a negative number stays a number.
pub fn csv_field(s: &str) -> String {
    let s = csv_text(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The text of a CSV cell before quoting: [`csv_field`]'s leading
/// apostrophe on a text that starts like a formula, for writers that quote
/// themselves (the csv crate's).
pub fn csv_text(s: &str) -> String {
    if s.starts_with(CSV_FORMULA_STARTS) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// What a CSV text cell may not start with (a spreadsheet would evaluate
/// it): [`csv_text`] puts an apostrophe before it.
pub const CSV_FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The fewest decimals (at most `max`) that write every value exactly.
pub fn exact_decimals(values: &[f64], max: usize) -> usize {
    values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| {
            (0..=max)
                .find(|&d| {
                    let k = 10f64.powi(d as i32);
                    ((v * k).round() / k - v).abs() <= 1e-9 * v.abs().max(1.0)
                })
                .unwrap_or(max)
        })
        .max()
        .unwrap_or(0)
}

/// A formatter for a set of input values (a swept parameter's): the fewest
/// decimals that show every value exactly (at most 6), the same for all,
/// so that 3, 4, 5 read as integers and 0.05, 0.1 as 0.05, 0.10.
pub fn values_format(values: &[f64]) -> impl Fn(&f64) -> String {
    let d = exact_decimals(values, 6);
    move |v: &f64| number(*v + 0.0, d)
}

/// `x` with the decimals it needs (at most 6).
pub fn exact(x: f64) -> String {
    values_format(&[x])(&x)
}

/// A short plain number with thousands separators and at most two
/// decimals, trailing zeros dropped: "4", "1.5", "0.25", "1,250".
pub fn short(x: f64) -> String {
    let s = number(x, 2);
    if s.contains('.') {
        trim_zeros(s)
    } else {
        s
    }
}

/// At most two decimals, trailing zeros dropped, no separators: "0.5",
/// "3", "1234.5".
pub fn trim_num(x: f64) -> String {
    trim_zeros(format!("{x:.2}"))
}

/// A decimal text without its trailing zeros (and without a trailing
/// point): "2.500" -> "2.5", "5.000" -> "5".
fn trim_zeros(s: String) -> String {
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A number of years as written: "3", "2.5".
pub fn years(y: f64) -> String {
    format!("{y}")
}

/// "1 year", "3 years", "2.5 years".
pub fn for_years(y: f64) -> String {
    if y == 1.0 {
        "1 year".into()
    } else {
        format!("{} years", years(y))
    }
}

/// A value for a TOML file: an integer when it is one ("4"), else Rust's
/// shortest round-trip form ("0.05", "1e-7").
pub fn toml_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:?}")
    }
}

/// A TOML string value, quoted as the toml crate quotes it.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A name as one segment of a dotted path (`--sweep`, sweep, lever and
/// sensitivity paths; read back by `study::segments`): bare when it can
/// be, else quoted with `\"` and `\\` escaped.
pub fn path_segment(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A TOML key: bare when it can be, else a one-line basic string (escaped
/// as JSON escapes it, which TOML reads the same way).
pub fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// `x` with `digits` significant digits, always written as a TOML float
/// ("0.25", "3.0", "0.0000001").
pub fn sig(x: f64, digits: usize) -> String {
    let rounded: f64 = format!("{:.*e}", digits.saturating_sub(1), x)
        .parse()
        .unwrap_or(x);
    let s = rounded.to_string();
    if s.contains(['.', 'e', 'E']) || !rounded.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// [`sig`], or "-" for a figure that is not finite (a table cell).
pub fn sig_or_dash(x: f64, digits: usize) -> String {
    if x.is_finite() {
        sig(x, digits)
    } else {
        "-".to_string()
    }
}

/// A fixed number of decimals, with no sign on a value that rounds to zero
/// ("-0.0000" reads oddly).
pub fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_and_grouped() {
        assert_eq!(number(1234567.0, 0), "1,234,567");
        assert_eq!(number(-1234.5, 1), "-1,234.5");
        assert_eq!(number(-0.0001, 2), "0.00");
        assert_eq!(number(1e15, 0), "1,000,000,000,000,000");
        assert_eq!(number(f64::NAN, 2), "-");
        assert_eq!(signed_money(12.0), "+12.0");
        assert_eq!(signed_money(-12.0), "-12.0");
        assert_eq!(signed_money(0.001), "0.00");
    }

    #[test]
    fn money_is_readable() {
        assert_eq!(money(1234567.8), "1,234,568");
        assert_eq!(money(-1234.0), "-1,234");
        assert_eq!(money(12.345), "12.3");
        assert_eq!(money(0.123), "0.12");
        assert_eq!(money(-0.001), "0.00");
        assert_eq!(money(f64::INFINITY), "-");
        assert_eq!(gain(1.234, 0.051), "+1.23 ±0.05");
        assert_eq!(gain(-250.0, 3.0), "-250 ±3.00");
        assert_eq!(gain(0.001, 0.001), "0.00 ±0.00");
    }

    #[test]
    fn money_keeps_three_figures_at_any_size() {
        assert_eq!(amount(0.0), "0");
        assert_eq!(amount(41.04), "41.0");
        assert_eq!(amount(-30.46), "-30.5");
        assert_eq!(amount(4.104), "4.10");
        assert_eq!(amount(0.041049), "0.0410");
        assert_eq!(amount(0.00012345), "0.000123");
        assert_eq!(amount(99.96), "100");
        assert_eq!(amount(1234567.8), "1,234,568");
        assert_eq!(amount(-2217.7), "-2,218");
        assert_eq!(amount(3.2e-7), "3.20e-7");
        assert_eq!(amount(-4.5e16), "-4.50e16");
        assert_eq!(amount(f64::NAN), "-");
        assert_eq!(signed(41.0), "+41.0");
        assert_eq!(signed(-41.0), "-41.0");
        assert_eq!(signed(0.0), "0");
    }

    #[test]
    fn shares_never_round_to_never_or_always() {
        assert_eq!(share(0.0), "0%");
        assert_eq!(share(0.00002), "<0.1%");
        assert_eq!(share(0.003), "0.3%");
        assert_eq!(share(0.011), "1.1%");
        assert_eq!(share(0.0099), "1.0%");
        assert_eq!(share(0.1), "10%");
        assert_eq!(share(0.0996), "10.0%");
        assert_eq!(share(0.5), "50%");
        assert_eq!(share(0.93), "93.0%");
        assert_eq!(share(0.999), "99.9%");
        assert_eq!(share(0.9996), ">99.9%");
        assert_eq!(share(1.0), "100%");
        assert_eq!(share(f64::NAN), "-");
        assert_eq!(percent(0.125, 1), "12.5%");
        assert_eq!(percent(0.04, 2), "4.00%");
    }

    #[test]
    fn tail_labels_are_short() {
        assert_eq!(tail_label(0.05), "5");
        assert_eq!(tail_label(0.025), "2.5");
        assert_eq!(tail_label(0.001), "0.1");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("Taobao & Tmall"), "Taobao & Tmall");
        assert_eq!(csv_field("A, B"), "\"A, B\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-Cloud"), "'-Cloud");
        assert_eq!(csv_field("+x"), "'+x");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("=A1,B1"), "\"'=A1,B1\"");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(-0.25), "-0.25");
    }

    #[test]
    fn swept_values_keep_their_decimals() {
        let f = values_format(&[3.0, 4.0, 5.0]);
        assert_eq!(f(&4.0), "4");
        let f = values_format(&[0.05, 0.1, 0.15]);
        assert_eq!(f(&0.1), "0.10");
        let f = values_format(&[1500.0, 2500.0]);
        assert_eq!(f(&1500.0), "1,500");
        assert_eq!(exact(0.125), "0.125");
        assert_eq!(exact(-0.0), "0");
    }

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short(4.0), "4");
        assert_eq!(short(1.5), "1.5");
        assert_eq!(short(1250.0), "1,250");
        assert_eq!(short(0.254), "0.25");
        assert_eq!(trim_num(1234.5), "1234.5");
        assert_eq!(trim_num(3.0), "3");
        assert_eq!(years(2.5), "2.5");
        assert_eq!(for_years(1.0), "1 year");
        assert_eq!(for_years(3.0), "3 years");
    }

    #[test]
    fn names_are_quoted_as_toml_needs() {
        assert_eq!(toml_key("fit_factor_1"), "fit_factor_1");
        for name in [
            "china consumption",
            "a \"b\"\n\\c",
            "Taobao & Tmall",
            "",
            "x.y",
        ] {
            let key = toml_key(name);
            let value = toml_string(name);
            let v: toml::Value = toml::from_str(&format!("t = {{ {key} = {value} }}")).unwrap();
            assert_eq!(v["t"][name].as_str(), Some(name), "{key} = {value}");
        }
    }

    #[test]
    fn toml_numbers_read_back() {
        assert_eq!(toml_number(4.0), "4");
        assert_eq!(toml_number(0.05), "0.05");
        assert_eq!(toml_number(1e20), "1e20");
        assert_eq!(sig(0.123456789, 3), "0.123");
        assert_eq!(sig(3.0, 6), "3.0");
        assert_eq!(sig(1e-7, 6), "0.0000001");
        assert_eq!(sig_or_dash(f64::NAN, 6), "-");
        assert_eq!(fixed(-0.00001, 4), "0.0000");
        assert_eq!(fixed(-0.5, 2), "-0.50");
    }
}
