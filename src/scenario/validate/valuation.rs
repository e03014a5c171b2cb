//! `[valuation]` and a unit's `valuation = { ... }` (model contract, v2):
//! each key checked where it is written, then a unit's keys laid over the
//! file's over the defaults. The rule that ties a key to another table
//! (terminal growth below the discount rate) names the line that asked for
//! the fade when the value is a default.

use std::ops::Range;

use super::{RawValuation, Sp, R, V};
use crate::model::{Fade, Valuation};

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
    terminal_growth: Option<(f64, Range<usize>)>,
    sales_to_capital: Option<f64>,
}

/// The rule a terminal growth must follow, in plain words.
fn terminal_growth_rule(g: f64, discount_rate: f64, default: bool) -> String {
    format!(
        "terminal_growth = {g}{} must be below discount_rate ({discount_rate}): a perpetuity growing faster than the discount rate has no finite value",
        if default { " (the default)" } else { "" }
    )
}

pub(super) fn valuation_keys(
    v: &V,
    rv: &RawValuation,
    prefix: &str,
    discount_rate: f64,
) -> R<ValuationKeys> {
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
            if x >= discount_rate {
                return Err(v.err(
                    g.span(),
                    &k("terminal_growth"),
                    terminal_growth_rule(x, discount_rate, false),
                ));
            }
            Some((x, g.span()))
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

/// A unit's valuation: its own keys over the file's `[valuation]` over the
/// defaults.
pub(super) fn unit_valuation(
    v: &V,
    file: &ValuationKeys,
    own: Option<&Sp<RawValuation>>,
    prefix: &str,
    discount_rate: f64,
) -> R<Valuation> {
    let own = match own {
        Some(rv) => valuation_keys(v, rv, prefix, discount_rate)?,
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
    let terminal_growth = match own.terminal_growth.or_else(|| file.terminal_growth.clone()) {
        Some((g, _)) => g,
        None => {
            // Given values were checked where they were written; only the
            // default is left to check against this scenario's rate.
            if DEFAULT_TERMINAL_GROWTH >= discount_rate {
                return Err(v.err(
                    method_span,
                    &format!("{method_table}.terminal_growth"),
                    terminal_growth_rule(DEFAULT_TERMINAL_GROWTH, discount_rate, true),
                ));
            }
            DEFAULT_TERMINAL_GROWTH
        }
    };
    Ok(Valuation::Fade(Fade {
        years: own
            .fade_years
            .or(file.fade_years)
            .unwrap_or(DEFAULT_FADE_YEARS),
        terminal_growth,
        sales_to_capital: own
            .sales_to_capital
            .or(file.sales_to_capital)
            .unwrap_or(DEFAULT_SALES_TO_CAPITAL),
    }))
}
