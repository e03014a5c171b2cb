//! Raw scenario -> validated [`Scenario`]: every rule of the model contract,
//! each refusal naming the file, line and key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::names;
use super::raw::*;
use crate::error::InputError;
use crate::model::{
    Exit, Gate, GrowthFade, Jumps, Param, Policy, Role, Scenario, Terms, Uncertain, Unit,
};

mod correlations;
mod dist;
mod funding;
mod model;
mod policy;
#[cfg(test)]
mod tests;
mod unit;
mod valuation;

use correlations::correlations;
pub use correlations::{
    matrix as correlation_matrix, not_positive_semidefinite as correlations_problem,
    MAX_CORRELATIONS,
};
use funding::funding;
pub use model::check_model;
use policy::policy;
use unit::unit;
use valuation::{unit_valuation, valuation_keys, Against, ValuationKeys};

/// Largest accepted trial count: 10^10 trials take hours on a cluster; more
/// is almost certainly a typo (memory would not grow, but time would).
pub const MAX_TRIALS: u64 = 10_000_000_000;
pub const MAX_UNITS: usize = 1_000;
pub const MAX_FACTORS: usize = 100;
pub const MAX_POLICIES: usize = 64;
pub const MAX_HORIZON_YEARS: i64 = 100;
pub const MAX_STEPS_PER_YEAR: i64 = 10_000;
/// Steps in one trial (max horizon x steps per year).
pub const MAX_STEPS: i64 = 100_000;
/// Reported metrics (policies x horizons x (4 + 2 units)): each holds a
/// quantile sketch, so this bounds memory.
pub const MAX_METRICS: usize = 200_000;
/// Jumps per year; far above any real arrival rate, and keeps the Poisson
/// sampler in its valid range.
pub use crate::model::keys::MAX_JUMP_RATE;
/// Tolerance on the sum of squared loadings (rounding of typed decimals).
const LOADING_TOLERANCE: f64 = 1e-9;

/// One text a scenario was read from (a file, or a synthetic snippet such
/// as a sweep point).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Where this text starts in the common span space (see [`Source`]).
    pub offset: usize,
}

/// The texts a scenario was read from. Each text is parsed behind `offset`
/// spaces of padding, so the spans of all texts live in one space and a
/// span alone says which file (and line) a value came from, even after
/// variant files have been merged.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub files: Vec<SourceFile>,
}

impl Source {
    /// A source holding one text.
    pub fn single(path: &Path, text: &str) -> Source {
        let mut s = Source::default();
        s.add(path, text);
        s
    }

    /// Adds a text; returns it padded to its offset, ready to parse.
    pub fn add(&mut self, path: &Path, text: &str) -> String {
        let offset = self.add_label(path, text).start;
        let mut padded = " ".repeat(offset);
        padded.push_str(text);
        padded
    }

    /// Adds a text that is not parsed (a value a study set, spanned
    /// there so that an error about it names `path`); returns its span.
    pub fn add_label(&mut self, path: &Path, text: &str) -> Range<usize> {
        let offset = self.files.last().map_or(0, |f| f.offset + f.text.len() + 1);
        self.files.push(SourceFile {
            path: path.to_path_buf(),
            text: text.to_string(),
            offset,
        });
        offset..offset + text.len()
    }

    /// The file whose text holds span position `pos`.
    fn file_at(&self, pos: usize) -> Option<&SourceFile> {
        self.files.iter().rev().find(|f| pos >= f.offset)
    }

    /// An error at a span.
    pub fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> InputError {
        let Some(file) = self.file_at(span.start) else {
            return InputError {
                file: PathBuf::new(),
                line: 0,
                column: 0,
                key: key.to_string(),
                message: message.into(),
                source_line: None,
            };
        };
        let text = &file.text;
        let start = (span.start - file.offset).min(text.len());
        let start = (0..=start)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..]
            .lines()
            .next()
            .map(|l| l.trim_end().to_string());
        InputError {
            file: file.path.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
            source_line,
        }
    }

    /// The span of the start of the first (root) file.
    fn root(&self) -> Range<usize> {
        0..0
    }
}

type R<T> = std::result::Result<T, InputError>;

/// Validation helpers over one source.
struct V<'a> {
    src: &'a Source,
    /// Warnings found while validating (values that pass every rule but
    /// are almost certainly not meant and need the validated model to be
    /// seen, e.g. a fade's tail), located like errors.
    warnings: std::cell::RefCell<Vec<String>>,
}

impl V<'_> {
    fn warn(&self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let w = self.err(span, key, message).to_string();
        self.warnings.borrow_mut().push(w);
    }

    fn err(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> InputError {
        self.src.error(span, key, message)
    }

    /// A required value: missing keys are reported at their table.
    fn req<'b, T>(&self, v: &'b Option<Sp<T>>, table: &Range<usize>, key: &str) -> R<&'b Sp<T>> {
        v.as_ref().ok_or_else(|| {
            self.err(
                table.clone(),
                key,
                format!("missing required key `{}`", last(key)),
            )
        })
    }

    /// A finite number satisfying `ok`.
    fn num(&self, v: &Sp<f64>, key: &str, ok: impl Fn(f64) -> bool, rule: &str) -> R<f64> {
        let x = **v;
        if !x.is_finite() {
            return Err(self.err(v.span(), key, format!("must be a finite number, got {x}")));
        }
        if !ok(x) {
            return Err(self.err(v.span(), key, format!("{rule}, got {x}")));
        }
        Ok(x)
    }

    fn req_num(
        &self,
        v: &Option<Sp<f64>>,
        table: &Range<usize>,
        key: &str,
        ok: impl Fn(f64) -> bool,
        rule: &str,
    ) -> R<f64> {
        self.num(self.req(v, table, key)?, key, ok, rule)
    }

    fn opt_num(
        &self,
        v: &Option<Sp<f64>>,
        key: &str,
        ok: impl Fn(f64) -> bool,
        rule: &str,
    ) -> R<Option<f64>> {
        v.as_ref().map(|v| self.num(v, key, ok, rule)).transpose()
    }

    fn text(&self, v: &Option<Sp<String>>, table: &Range<usize>, key: &str) -> R<String> {
        let v = self.req(v, table, key)?;
        let clean = names::clean(v);
        if clean.is_empty() {
            return Err(self.err(v.span(), key, "must not be empty"));
        }
        if let Some(why) = names::unsafe_reason(v) {
            return Err(self.err(v.span(), key, format!("{:?} {why}", v.get_ref())));
        }
        Ok(clean)
    }

    fn role(&self, v: &Sp<String>, key: &str) -> R<Role> {
        Role::parse(v).ok_or_else(|| {
            self.err(
                v.span(),
                key,
                format!(
                    "unknown role \"{}\": expected \"core\", \"non_core\" or \"innovation\"{}",
                    v.get_ref(),
                    names::did_you_mean(v, ["core", "non_core", "innovation"])
                ),
            )
        })
    }
}

/// The last segment of a dotted key.
fn last(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Validates a parsed (and merged) file.
pub fn validate(src: &Source, raw: &RawFile) -> R<Scenario> {
    validate_with_warnings(src, raw).map(|(s, _)| s)
}

/// [`validate`], with the warnings only the validated values show (see
/// [`super::plausible`] for those of single keys).
pub fn validate_with_warnings(src: &Source, raw: &RawFile) -> R<(Scenario, Vec<String>)> {
    let v = V {
        src,
        warnings: Default::default(),
    };
    let Some(h) = &raw.scenario else {
        return Err(v.err(src.root(), "scenario", "missing required table [scenario]"));
    };
    let hs = h.anchor().unwrap_or_else(|| src.root());
    let Header {
        name,
        currency,
        trials,
        seed,
        spy,
        horizons,
        discount_rate,
    } = header(&v, h, &hs)?;
    let file_valuation = match &raw.valuation {
        Some(rv) => valuation_keys(&v, rv, "valuation")?,
        None => ValuationKeys::default(),
    };

    let factors = factors(&v, raw)?;

    let units = units(
        &v,
        raw,
        &hs,
        &factors,
        &file_valuation,
        (spy, discount_rate),
    )?;
    let policies = policies(&v, raw, &hs, &units)?;
    let b = v.req(&h.baseline, &hs, "scenario.baseline")?;
    let baseline = policies
        .iter()
        .position(|p| names::same(&p.name, b))
        .ok_or_else(|| {
            let known: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
            v.err(
                b.span(),
                "scenario.baseline",
                format!(
                    "names no policy: \"{}\"{} (policies are: {})",
                    b.get_ref(),
                    names::did_you_mean(b, known.iter().copied()),
                    known.join(", ")
                ),
            )
        })?;

    let metrics = policies.len() * horizons.len() * (4 + 2 * units.len());
    if metrics > MAX_METRICS {
        return Err(v.err(
            raw.units[0].span(),
            "units",
            format!(
                "{} policies x {} horizons x {} units make {metrics} reported metrics, more than the {MAX_METRICS} allowed",
                policies.len(),
                horizons.len(),
                units.len()
            ),
        ));
    }

    let funding = match &raw.funding {
        Some(rf) => Some(funding(&v, rf, &hs, &units, &policies, horizons.len())?),
        None => None,
    };
    let correlations = correlations(&v, &raw.correlations, &units)?;

    let scenario = Scenario {
        name,
        currency,
        trials,
        seed,
        steps_per_year: spy as u32,
        horizons,
        discount_rate,
        baseline,
        factors,
        units,
        policies,
        funding,
        correlations,
    };
    Ok((scenario, v.warnings.into_inner()))
}

/// Every `[[units]]` table, with its valuation (the file's `[valuation]`
/// under its own), against the steps per year and discount rate.
fn units(
    v: &V,
    raw: &RawFile,
    hs: &Range<usize>,
    factors: &[String],
    file_valuation: &ValuationKeys,
    (spy, discount_rate): (i64, f64),
) -> R<Vec<Unit>> {
    if raw.units.is_empty() {
        return Err(v.err(
            hs.clone(),
            "units",
            "at least one [[units]] table is required",
        ));
    }
    if raw.units.len() > MAX_UNITS {
        return Err(v.err(
            raw.units[MAX_UNITS].span(),
            "units",
            format!(
                "at most {MAX_UNITS} units are allowed, got {}",
                raw.units.len()
            ),
        ));
    }
    let mut units: Vec<Unit> = Vec::with_capacity(raw.units.len());
    for (i, ru) in raw.units.iter().enumerate() {
        let others: Vec<&str> = raw
            .units
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .filter_map(|(_, o)| o.get_ref().name.as_deref().map(|n| n.as_str()))
            .collect();
        let mut u = unit(v, i, ru, spy, factors, &units, &others)?;
        u.valuation = unit_valuation(
            v,
            file_valuation,
            ru.valuation.as_ref(),
            &format!("units[{i}].valuation"),
            Against {
                unit: &u.name,
                discount_rate,
                steps_per_year: spy as u32,
                jumps: u.jumps.as_ref(),
            },
        )?;
        units.push(u);
    }
    Ok(units)
}

/// The `[[factors]]`, named once each.
fn factors(v: &V, raw: &RawFile) -> R<Vec<String>> {
    if raw.factors.len() > MAX_FACTORS {
        return Err(v.err(
            raw.factors[MAX_FACTORS].span(),
            "factors",
            format!("at most {MAX_FACTORS} factors are allowed"),
        ));
    }
    let mut factors: Vec<String> = Vec::new();
    for (i, f) in raw.factors.iter().enumerate() {
        let key = format!("factors[{i}].name");
        let n = v.text(&f.name, &f.span(), &key)?;
        if let Some(e) = factors.iter().find(|e| names::same(e, &n)) {
            let span = f.name.as_ref().map_or(f.span(), |s| s.span());
            return Err(v.err(
                span,
                &key,
                format!(
                    "duplicate factor name \"{n}\"{}",
                    same_as(e, f.name.as_deref().map_or("", |n| n.as_str()))
                ),
            ));
        }
        factors.push(n);
    }
    Ok(factors)
}

/// Every `[policies.NAME]` table, named once each.
fn policies(v: &V, raw: &RawFile, hs: &Range<usize>, units: &[Unit]) -> R<Vec<Policy>> {
    if raw.policies.is_empty() {
        return Err(v.err(
            hs.clone(),
            "policies",
            "at least one [policies.NAME] table is required",
        ));
    }
    if raw.policies.len() > MAX_POLICIES {
        return Err(v.err(
            raw.policies[MAX_POLICIES].anchor().unwrap_or(hs.clone()),
            "policies",
            format!(
                "at most {MAX_POLICIES} policies are allowed, got {}",
                raw.policies.len()
            ),
        ));
    }
    let mut policies: Vec<Policy> = Vec::with_capacity(raw.policies.len());
    for (pname, rp) in &raw.policies {
        let p = policy(v, pname, rp, hs, units)?;
        if let Some(e) = policies.iter().find(|e| names::same(&e.name, &p.name)) {
            return Err(v.err(
                rp.anchor().unwrap_or(hs.clone()),
                &format!("policies.{pname}"),
                format!(
                    "duplicate policy name \"{}\"{}",
                    p.name,
                    same_as(&e.name, pname)
                ),
            ));
        }
        policies.push(p);
    }
    Ok(policies)
}

/// `[scenario]`'s keys, checked.
struct Header {
    name: String,
    currency: String,
    trials: u64,
    seed: u64,
    spy: i64,
    horizons: Vec<u32>,
    discount_rate: f64,
}

fn header(v: &V, h: &RawHeader, hs: &Range<usize>) -> R<Header> {
    let hs = hs.clone();
    let name = v.text(&h.name, &hs, "scenario.name")?;
    let currency = v.text(&h.currency, &hs, "scenario.currency")?;
    let t = v.req(&h.trials, &hs, "scenario.trials")?;
    let trials = **t;
    if trials < 1 || trials as u64 > MAX_TRIALS {
        return Err(v.err(
            t.span(),
            "scenario.trials",
            format!("must be between 1 and {MAX_TRIALS}, got {trials}"),
        ));
    }
    let sd = v.req(&h.seed, &hs, "scenario.seed")?;
    if **sd < 0 {
        return Err(v.err(
            sd.span(),
            "scenario.seed",
            format!("must be a non-negative integer, got {}", **sd),
        ));
    }
    let spy_v = v.req(&h.steps_per_year, &hs, "scenario.steps_per_year")?;
    let spy = **spy_v;
    if !(1..=MAX_STEPS_PER_YEAR).contains(&spy) {
        return Err(v.err(
            spy_v.span(),
            "scenario.steps_per_year",
            format!("must be between 1 and {MAX_STEPS_PER_YEAR}, got {spy}"),
        ));
    }
    let hz = v.req(&h.horizons, &hs, "scenario.horizons")?;
    if hz.is_empty() {
        return Err(v.err(
            hz.span(),
            "scenario.horizons",
            "must list at least one horizon (whole years)",
        ));
    }
    let mut horizons = Vec::new();
    for (i, y) in hz.iter().enumerate() {
        let key = format!("scenario.horizons[{i}]");
        let yv = **y;
        if !(1..=MAX_HORIZON_YEARS).contains(&yv) {
            return Err(v.err(
                y.span(),
                &key,
                format!(
                    "must be a whole number of years between 1 and {MAX_HORIZON_YEARS}, got {yv}"
                ),
            ));
        }
        if horizons.contains(&(yv as u32)) {
            return Err(v.err(y.span(), &key, format!("horizon {yv} is listed twice")));
        }
        horizons.push(yv as u32);
    }
    horizons.sort_unstable();
    let max_h = *horizons.last().unwrap_or(&1) as i64;
    if max_h * spy > MAX_STEPS {
        return Err(v.err(
            spy_v.span(),
            "scenario.steps_per_year",
            format!(
                "{max_h} years x {spy} steps per year = {} steps per trial, more than the {MAX_STEPS} allowed",
                max_h * spy
            ),
        ));
    }
    let discount_rate = v.req_num(
        &h.discount_rate,
        &hs,
        "scenario.discount_rate",
        |x| x > -1.0,
        "must be greater than -1",
    )?;

    Ok(Header {
        name,
        currency,
        trials: trials as u64,
        seed: **sd as u64,
        spy,
        horizons,
        discount_rate,
    })
}

/// The distribution a raw table describes, when it describes one the
/// validator accepts (for warnings on drawn keys).
pub(super) fn raw_dist(d: &RawDist) -> Option<crate::model::Dist> {
    dist::parse(d).ok()
}

/// `" (the same name as \"E\" ...)"` when two duplicates are spelled
/// differently, so the reader sees why they clash.
fn same_as(earlier: &str, name: &str) -> String {
    if earlier == name {
        String::new()
    } else {
        format!(
            " (the same name as \"{earlier}\": names are compared ignoring case, surrounding spaces and Unicode form)"
        )
    }
}
