//! `[valuation]` and a unit's `valuation = { ... }` (model contract, v3):
//! each key checked where it is written, then a unit's keys laid over the
//! file's over the defaults. The rule that ties a key to other tables
//! (terminal growth plus the unit's jumps below the discount rate) names
//! the line that gave the terminal growth, or the one that asked for the
//! fade when the value is a default.

use std::ops::Range;

use super::{RawValuation, Sp, R, V};
use crate::model::{Fade, Jumps, Valuation};

/// Longest growth fade of the `fade` valuation, in years.
pub const MAX_FADE_YEARS: f64 = 50.0;
/// Defaults of `[valuation]` (model contract, v2).
pub const DEFAULT_FADE_YEARS: u32 = 10;
pub const DEFAULT_TERMINAL_GROWTH: f64 = 0.03;
pub const DEFAULT_SALES_TO_CAPITAL: f64 = 2.0;

/// One `[valuation]` table's keys, each checked on its own, with where it
/// was given (so a rule that combines keys can point at the right line).
#[derive(Clone, Debug, Default)]
pub(super) struct ValuationKeys {
    /// Whether the method is "fade".
    fade: Option<(bool, Range<usize>)>,
    fade_years: Option<u32>,
    terminal_growth: Option<(f64, Range<usize>, String)>,
    sales_to_capital: Option<f64>,
}

/// The rule a terminal growth must follow, in plain words.
fn terminal_growth_rule(g: f64, against: &Against, default: bool) -> String {
    let (discount_rate, spy, jumps) =
        (against.discount_rate, against.steps_per_year, against.jumps);
    let psi = Jumps::growth_per_step(jumps, 1.0 / spy as f64);
    let jumped = if psi != 1.0 {
        format!(
            " plus the unit's jumps' expected growth ({:+.1}% a year)",
            (psi.powi(spy as i32) - 1.0) * 100.0
        )
    } else {
        String::new()
    };
    let hint = if jumped.is_empty() {
        ""
    } else {
        "; its jumps keep adding growth after the fade: lower its terminal_growth or value it with valuation = { method = \"multiple\" }"
    };
    format!(
        "unit \"{}\" is valued by \"fade\": terminal_growth = {g}{}{jumped} must stay below the discount rate ({discount_rate}): a unit whose cash grows faster than the discount rate forever has no finite value{hint}",
        against.unit,
        if default { " (the default)" } else { "" },
    )
}

pub(super) fn valuation_keys(v: &V, rv: &RawValuation, prefix: &str) -> R<ValuationKeys> {
    let k = |field: &str| format!("{prefix}.{field}");
    let fade = match &rv.method {
        Some(m) => match m.as_str() {
            "multiple" => Some((false, m.span())),
            "fade" => Some((true, m.span())),
            other => {
                return Err(v.err(
                    m.span(),
                    &k("method"),
                    format!("unknown valuation method \"{other}\": expected \"multiple\" (revenue x multiple) or \"fade\" (growth-fade DCF)"),
                ))
            }
        },
        None => None,
    };
    let fade_years = v
        .opt_num(
            &rv.fade_years,
            &k("fade_years"),
            |x| x.fract() == 0.0 && (0.0..=MAX_FADE_YEARS).contains(&x),
            &format!("must be a whole number of years in [0, {MAX_FADE_YEARS}]"),
        )?
        .map(|x| x as u32);
    let terminal_growth = match &rv.terminal_growth {
        Some(g) => {
            let x = v.num(
                g,
                &k("terminal_growth"),
                |x| x > -1.0,
                "must be greater than -1",
            )?;
            Some((x, g.span(), k("terminal_growth")))
        }
        None => None,
    };
    let sales_to_capital = v.opt_num(
        &rv.sales_to_capital,
        &k("sales_to_capital"),
        |x| x > 0.0,
        "must be positive (revenue added per unit of capital invested)",
    )?;
    Ok(ValuationKeys {
        fade,
        fade_years,
        terminal_growth,
        sales_to_capital,
    })
}

/// What a unit's valuation is checked against: the scenario's discount
/// rate and steps per year, and the unit's jumps.
pub(super) struct Against<'a> {
    /// The unit's name, for the message.
    pub unit: &'a str,
    pub discount_rate: f64,
    pub steps_per_year: u32,
    pub jumps: Option<&'a Jumps>,
}

/// A unit's valuation: its own keys over the file's `[valuation]` over the
/// defaults.
pub(super) fn unit_valuation(
    v: &V,
    file: &ValuationKeys,
    own: Option<&Sp<RawValuation>>,
    prefix: &str,
    against: Against,
) -> R<Valuation> {
    let own = match own {
        Some(rv) => valuation_keys(v, rv, prefix)?,
        None => ValuationKeys::default(),
    };
    // The method's table names the default's key: the unit's own, or the
    // file's [valuation].
    let (fade, method_table) = match own.fade.clone() {
        Some(m) => (Some(m), prefix),
        None => (file.fade.clone(), "valuation"),
    };
    let Some((true, method_span)) = fade else {
        return Ok(Valuation::Multiple);
    };
    // Where the terminal growth was given (the line an error names), or
    // the method's line for the default.
    let (terminal_growth, span, key, default) =
        match own.terminal_growth.or_else(|| file.terminal_growth.clone()) {
            Some((g, span, key)) => (g, span, key, false),
            None => (
                DEFAULT_TERMINAL_GROWTH,
                method_span,
                format!("{method_table}.terminal_growth"),
                true,
            ),
        };
    let fade = Fade {
        years: own
            .fade_years
            .or(file.fade_years)
            .unwrap_or(DEFAULT_FADE_YEARS),
        terminal_growth,
        sales_to_capital: own
            .sales_to_capital
            .or(file.sales_to_capital)
            .unwrap_or(DEFAULT_SALES_TO_CAPITAL),
    };
    // a x beta < 1: the held value's tail is finite (v3).
    let ratio = fade.tail_ratio(against.jumps, against.discount_rate, against.steps_per_year);
    // NaN fails too.
    if ratio.partial_cmp(&1.0) != Some(std::cmp::Ordering::Less) {
        let rule = terminal_growth_rule(terminal_growth, &against, default);
        return Err(v.err(span, &key, rule));
    }
    Ok(Valuation::Fade(fade))
}
