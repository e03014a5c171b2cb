//! Raw scenario -> validated [`Scenario`]: every rule of the model contract,
//! each refusal naming the file, line and key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::names;
use super::raw::*;
use crate::error::InputError;
use crate::model::{
    Exit, Gate, GrowthFade, Jumps, Param, Policy, Role, Scenario, Terms, Uncertain, Unit, Valuation,
};

mod correlations;
mod dist;
mod funding;
mod model;
#[cfg(test)]
mod tests;
mod valuation;

use correlations::correlations;
pub use correlations::{
    matrix as correlation_matrix, not_positive_semidefinite as correlations_problem,
    MAX_CORRELATIONS,
};
use funding::funding;
pub use model::check_model;
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
        let offset = self.files.last().map_or(0, |f| f.offset + f.text.len() + 1);
        self.files.push(SourceFile {
            path: path.to_path_buf(),
            text: text.to_string(),
            offset,
        });
        let mut padded = " ".repeat(offset);
        padded.push_str(text);
        padded
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

fn any(_: f64) -> bool {
    true
}
fn nonneg(x: f64) -> bool {
    x >= 0.0
}
fn share(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

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

    let file_valuation = match &raw.valuation {
        Some(rv) => valuation_keys(&v, rv, "valuation")?,
        None => ValuationKeys::default(),
    };

    // Factors.
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

    // Units.
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
        let mut u = unit(&v, i, ru, spy, &factors, &units, &others)?;
        u.valuation = unit_valuation(
            &v,
            &file_valuation,
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

    // Policies.
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
        let p = policy(&v, pname, rp, &hs, &units)?;
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
        trials: trials as u64,
        seed: **sd as u64,
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

/// The distribution a raw table describes, when it describes one the
/// validator accepts (for warnings on drawn keys).
pub(super) fn raw_dist(d: &RawDist) -> Option<crate::model::Dist> {
    dist::parse(d).ok()
}

/// Why a unit table without `role` is refused: it names no unit of this
/// file or of the files it extends (a variant changes a unit by naming it
/// as its parent does), so it adds a new unit, which needs a role; and the
/// existing unit it most likely meant: the closest name, or the one whose
/// name starts with it ("Cloud" for "Cloud Intelligence").
fn new_unit_needs_role(name: &str, others: &[&str]) -> String {
    let mut m = format!(
        "missing required key `role`: no unit is named \"{name}\" in this file or the files it extends, so this [[units]] table adds a new unit, and a new unit needs `role` (\"core\", \"non_core\" or \"innovation\")"
    );
    let key = names::key(name);
    let starting: Vec<&str> = others
        .iter()
        .copied()
        .filter(|o| !key.is_empty() && names::key(o).starts_with(&key))
        .collect();
    let meant = names::suggest(name, others.iter().copied())
        .or_else(|| (starting.len() == 1).then(|| starting[0]));
    if let Some(c) = meant {
        m.push_str(&format!(
            "; did you mean \"{c}\"? (to change that unit, write its name exactly)"
        ));
    }
    m
}

fn unit(
    v: &V,
    i: usize,
    ru: &Sp<RawUnit>,
    spy: i64,
    factors: &[String],
    earlier: &[Unit],
    others: &[&str],
) -> R<Unit> {
    let k = |field: &str| format!("units[{i}].{field}");
    let us = ru.span();
    let u = ru.get_ref();
    let name = v.text(&u.name, &us, &k("name"))?;
    if let Some(e) = earlier.iter().find(|e| names::same(&e.name, &name)) {
        let span = u.name.as_ref().map_or(us.clone(), |s| s.span());
        return Err(v.err(
            span,
            &k("name"),
            format!(
                "duplicate unit name \"{name}\"{}",
                same_as(&e.name, u.name.as_deref().map_or("", |n| n.as_str()))
            ),
        ));
    }
    let Some(role) = &u.role else {
        return Err(v.err(us, &k("role"), new_unit_needs_role(&name, others)));
    };
    let role = v.role(role, &k("role"))?;
    // Keys that may be distributions: the number (or the distribution's
    // mean) here, the distribution in `uncertain`.
    let mut uncertain: Vec<Uncertain> = Vec::new();
    let mut keep = |param: Param, c: dist::Checked| -> f64 {
        if let Some(dist) = c.dist {
            uncertain.push(Uncertain {
                param,
                dist,
                also_target: false,
            });
        }
        c.value
    };
    let revenue = keep(
        Param::Revenue,
        dist::req_param(
            v,
            &u.revenue,
            &us,
            &k("revenue"),
            |x| x > 0.0,
            "must be positive",
        )?,
    );
    let growth = keep(
        Param::Growth,
        dist::req_param(
            v,
            &u.growth,
            &us,
            &k("growth"),
            |x| x > -1.0,
            "must be greater than -1",
        )?,
    );
    let volatility = keep(
        Param::Volatility,
        dist::req_param(
            v,
            &u.volatility,
            &us,
            &k("volatility"),
            nonneg,
            "must be >= 0",
        )?,
    );
    let margin = keep(
        Param::Margin,
        dist::req_param(
            v,
            &u.margin,
            &us,
            &k("margin"),
            |x| x <= 1.0,
            "must be <= 1 (a share of revenue)",
        )?,
    );
    let target_margin = match dist::opt_param(
        v,
        &u.target_margin,
        &k("target_margin"),
        |x| x <= 1.0,
        "must be <= 1 (a share of revenue)",
    )? {
        Some(c) => keep(Param::TargetMargin, c),
        None => margin,
    };
    // margin_speed x dt must stay <= 1 or the margin would overshoot its
    // target within one step.
    let margin_speed = match dist::opt_param(
        v,
        &u.margin_speed,
        &k("margin_speed"),
        |x| (0.0..=spy as f64).contains(&x),
        &format!("must be in [0, steps_per_year = {spy}] (per year)"),
    )? {
        Some(c) => keep(Param::MarginSpeed, c),
        None => 0.0,
    };
    let growth_fade = match &u.growth_fade {
        Some(f) => {
            let fs = f.span();
            Some(GrowthFade {
                from: v.req_num(
                    &f.from,
                    &fs,
                    &k("growth_fade.from"),
                    |x| x > -1.0,
                    "must be greater than -1",
                )?,
                years: v.req_num(
                    &f.years,
                    &fs,
                    &k("growth_fade.years"),
                    |x| x > 0.0,
                    "must be positive (years until growth has settled)",
                )?,
            })
        }
        None => None,
    };
    let m = v.req(&u.multiple, &us, &k("multiple"))?;
    let ms = m.span();
    let multiple_median = v.req_num(
        &m.median,
        &ms,
        &k("multiple.median"),
        |x| x > 0.0,
        "must be positive",
    )?;
    let multiple_dispersion = v.req_num(
        &m.dispersion,
        &ms,
        &k("multiple.dispersion"),
        nonneg,
        "must be >= 0",
    )?;
    let mut loadings = vec![0.0; factors.len()];
    if let Some(l) = &u.loadings {
        let mut sum_sq = 0.0;
        let mut given: Vec<Option<&str>> = vec![None; factors.len()];
        for (fname, x) in l.iter() {
            let key = k(&format!("loadings.{fname}"));
            let Some(fi) = factors.iter().position(|f| names::same(f, fname)) else {
                let known = if factors.is_empty() {
                    "no [[factors]] are defined".to_string()
                } else {
                    format!("factors are: {}", factors.join(", "))
                };
                return Err(v.err(
                    x.span(),
                    &key,
                    format!(
                        "loading on unknown factor \"{fname}\"{} ({known})",
                        names::did_you_mean(fname, factors.iter().map(String::as_str))
                    ),
                ));
            };
            if let Some(other) = given[fi].replace(fname) {
                return Err(v.err(
                    x.span(),
                    &key,
                    format!(
                        "a second loading on factor \"{}\" (also given as \"{other}\"; names are compared ignoring case, surrounding spaces and Unicode form)",
                        factors[fi]
                    ),
                ));
            }
            let x = v.num(x, &key, |x| (-1.0..=1.0).contains(&x), "must be in [-1, 1]")?;
            loadings[fi] = x;
            sum_sq += x * x;
        }
        if sum_sq > 1.0 + LOADING_TOLERANCE {
            return Err(v.err(
                l.span(),
                &k("loadings"),
                format!("the squares of the loadings sum to {sum_sq:.6}, more than 1"),
            ));
        }
    }
    let idiosyncratic = (1.0 - loadings.iter().map(|x| x * x).sum::<f64>())
        .max(0.0)
        .sqrt();
    let (max_uplift, half_saturation) = match &u.response {
        Some(r) => (
            keep(
                Param::MaxUplift,
                dist::req_param(
                    v,
                    &r.max_uplift,
                    &r.span(),
                    &k("response.max_uplift"),
                    nonneg,
                    "must be >= 0",
                )?,
            ),
            keep(
                Param::HalfSaturation,
                dist::req_param(
                    v,
                    &r.half_saturation,
                    &r.span(),
                    &k("response.half_saturation"),
                    nonneg,
                    "must be >= 0",
                )?,
            ),
        ),
        None => (0.0, 0.0),
    };
    // A drawn margin with no target of its own does not drift: its
    // target is the drawn margin.
    if u.target_margin.is_none() {
        for x in uncertain.iter_mut().filter(|x| x.param == Param::Margin) {
            x.also_target = true;
        }
    }
    uncertain.sort_by_key(|x| Param::ALL.iter().position(|p| *p == x.param));
    let jumps = match &u.jumps {
        Some(j) => Some(Jumps {
            rate: v.req_num(
                &j.rate,
                &j.span(),
                &k("jumps.rate"),
                |x| (0.0..=MAX_JUMP_RATE).contains(&x),
                &format!("must be in [0, {MAX_JUMP_RATE}] (jumps per year)"),
            )?,
            mean: v.req_num(&j.mean, &j.span(), &k("jumps.mean"), any, "")?,
            stdev: v.req_num(
                &j.stdev,
                &j.span(),
                &k("jumps.stdev"),
                nonneg,
                "must be >= 0",
            )?,
        }),
        None => None,
    };
    Ok(Unit {
        name,
        role,
        revenue,
        growth,
        volatility,
        margin,
        target_margin,
        margin_speed,
        multiple_median,
        multiple_dispersion,
        loadings,
        idiosyncratic,
        max_uplift,
        half_saturation,
        jumps,
        valuation: Valuation::Multiple,
        uncertain,
        growth_fade,
    })
}

fn gate(v: &V, g: &Sp<RawGate>, key: &str) -> R<Gate> {
    Ok(Gate {
        year: v.req_num(
            &g.year,
            &g.span(),
            &format!("{key}.year"),
            nonneg,
            "must be >= 0 (years)",
        )?,
        min_revenue_multiple: v.req_num(
            &g.min_revenue_multiple,
            &g.span(),
            &format!("{key}.min_revenue_multiple"),
            nonneg,
            "must be >= 0",
        )?,
    })
}

/// A policy's `non_core` table: intensity, exit_after, exit_window,
/// exit_discount (each may be missing).
type NonCoreTerms = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);
/// A policy's `innovation` table: budget, years, gate.
type InnovationTerms = (Option<f64>, Option<f64>, Option<Gate>);

/// Policy-level terms of one role, as given (each may be missing).
struct RoleTerms {
    core: Option<f64>,
    non_core: Option<NonCoreTerms>,
    innovation: Option<InnovationTerms>,
}

fn policy(v: &V, pname: &str, p: &RawPolicy, header: &Range<usize>, units: &[Unit]) -> R<Policy> {
    let ps = p.anchor().unwrap_or(header.clone());
    let pk = |field: &str| format!("policies.{pname}.{field}");
    let display = names::clean(pname);
    if display.is_empty() {
        return Err(v.err(
            ps.clone(),
            &format!("policies.\"{pname}\""),
            "a policy name must not be empty (write e.g. [policies.reset])",
        ));
    }
    if let Some(why) = names::unsafe_reason(pname) {
        return Err(v.err(
            ps.clone(),
            &format!("policies.{}", crate::format::toml_key(pname)),
            format!("policy name {pname:?} {why}"),
        ));
    }
    let reinvest_share = v.req_num(
        &p.reinvest_share,
        &ps,
        &pk("reinvest_share"),
        share,
        "must be a share in [0, 1]",
    )?;
    let recycle_share = v
        .opt_num(
            &p.recycle_share,
            &pk("recycle_share"),
            share,
            "must be a share in [0, 1]",
        )?
        .unwrap_or(0.0);
    let terms = RoleTerms {
        core: match &p.core {
            Some(c) => Some(v.req_num(
                &c.intensity,
                &c.span(),
                &pk("core.intensity"),
                nonneg,
                "must be >= 0",
            )?),
            None => None,
        },
        non_core: match &p.non_core {
            Some(c) => Some((
                v.opt_num(
                    &c.intensity,
                    &pk("non_core.intensity"),
                    nonneg,
                    "must be >= 0",
                )?,
                v.opt_num(
                    &c.exit_after,
                    &pk("non_core.exit_after"),
                    nonneg,
                    "must be >= 0 (years)",
                )?,
                v.opt_num(
                    &c.exit_window,
                    &pk("non_core.exit_window"),
                    nonneg,
                    "must be >= 0 (years)",
                )?,
                v.opt_num(
                    &c.exit_discount,
                    &pk("non_core.exit_discount"),
                    share,
                    "must be a share in [0, 1]",
                )?,
            )),
            None => None,
        },
        innovation: match &p.innovation {
            Some(c) => Some((
                v.opt_num(&c.budget, &pk("innovation.budget"), nonneg, "must be >= 0")?,
                v.opt_num(&c.years, &pk("innovation.years"), nonneg, "must be >= 0")?,
                c.gate
                    .as_ref()
                    .map(|g| gate(v, g, &pk("innovation.gate")))
                    .transpose()?,
            )),
            None => None,
        },
    };
    // The required keys of a role's table are required even if every unit
    // of that role overrides them: the table states the policy's terms.
    if let Some(c) = &p.non_core {
        v.req(&c.intensity, &c.span(), &pk("non_core.intensity"))?;
    }
    if let Some(c) = &p.innovation {
        v.req(&c.budget, &c.span(), &pk("innovation.budget"))?;
        v.req(&c.years, &c.span(), &pk("innovation.years"))?;
    }

    // Overrides, by unit index.
    let mut overrides: Vec<Option<(&str, &RawOverride)>> = vec![None; units.len()];
    if let Some(map) = &p.units {
        for (uname, ov) in map {
            let at = ov.anchor().unwrap_or(ps.clone());
            let key = pk(&format!("units.\"{uname}\""));
            let Some(ui) = units.iter().position(|u| names::same(&u.name, uname)) else {
                return Err(v.err(
                    at,
                    &key,
                    format!(
                        "override names no unit: \"{uname}\"{}",
                        names::did_you_mean(uname, units.iter().map(|u| u.name.as_str()))
                    ),
                ));
            };
            if let Some((other, _)) = overrides[ui].replace((uname, ov)) {
                return Err(v.err(
                    at,
                    &key,
                    format!(
                        "a second override of unit \"{}\" (also given as \"{other}\"; names are compared ignoring case, surrounding spaces and Unicode form)",
                        units[ui].name
                    ),
                ));
            }
        }
    }

    let mut out = Vec::with_capacity(units.len());
    for (ui, u) in units.iter().enumerate() {
        out.push(unit_terms(
            v,
            pname,
            &ps,
            &terms,
            u,
            overrides[ui].map(|o| o.1),
        )?);
    }
    exit_terms_need_exit_after(v, pname, p, &out, units, &overrides)?;
    Ok(Policy {
        name: display,
        description: p
            .description
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default(),
        reinvest_share,
        recycle_share,
        terms: out,
    })
}

/// The effective terms of one unit under one policy.
fn unit_terms(
    v: &V,
    pname: &str,
    policy_span: &Range<usize>,
    terms: &RoleTerms,
    u: &Unit,
    o: Option<&RawOverride>,
) -> R<Terms> {
    let ok = |field: &str| format!("policies.{pname}.units.\"{}\".{field}", u.name);
    let role = match o.and_then(|o| o.role.as_ref()) {
        Some(r) => v.role(r, &ok("role"))?,
        None => u.role,
    };
    // Keys that do not apply to the unit's effective role are refused: an
    // override of `budget` on a core unit would silently do nothing.
    if let Some(o) = o {
        let allowed: &[&str] = match role {
            Role::Core => &["intensity"],
            Role::NonCore => &["intensity", "exit_after", "exit_window", "exit_discount"],
            Role::Innovation => &["budget", "years", "gate"],
        };
        let given: [(&str, Option<Range<usize>>); 7] = [
            ("intensity", o.intensity.as_ref().map(|x| x.span())),
            ("exit_after", o.exit_after.as_ref().map(|x| x.span())),
            ("exit_window", o.exit_window.as_ref().map(|x| x.span())),
            ("exit_discount", o.exit_discount.as_ref().map(|x| x.span())),
            ("budget", o.budget.as_ref().map(|x| x.span())),
            ("years", o.years.as_ref().map(|x| x.span())),
            ("gate", o.gate.as_ref().map(|x| x.span())),
        ];
        for (key, span) in given {
            if let Some(span) = span {
                if !allowed.contains(&key) {
                    return Err(v.err(
                        span,
                        &ok(key),
                        format!(
                            "`{key}` does not apply to a {} unit under this policy (its terms are: {})",
                            role.as_str(),
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    let missing = |what: &str| {
        v.err(
            policy_span.clone(),
            &format!("policies.{pname}.{}", role.as_str()),
            format!(
                "policy \"{pname}\" gives no `{}` terms, but unit \"{}\" is {} under it (add [policies.{pname}.{}] or set `{what}` in an override)",
                role.as_str(),
                u.name,
                role.as_str(),
                role.as_str()
            ),
        )
    };
    let over = |x: Option<&Sp<f64>>, key: &str, f: fn(f64) -> bool, rule: &str| -> R<Option<f64>> {
        x.map(|x| v.num(x, &ok(key), f, rule)).transpose()
    };
    Ok(match role {
        Role::Core => {
            let intensity = over(
                o.and_then(|o| o.intensity.as_ref()),
                "intensity",
                nonneg,
                "must be >= 0",
            )?
            .or(terms.core)
            .ok_or_else(|| missing("intensity"))?;
            Terms {
                role,
                intensity,
                exit: None,
                budget: 0.0,
                years: 0.0,
                gate: None,
            }
        }
        Role::NonCore => {
            let base = terms.non_core;
            let intensity = over(
                o.and_then(|o| o.intensity.as_ref()),
                "intensity",
                nonneg,
                "must be >= 0",
            )?
            .or(base.and_then(|b| b.0))
            .ok_or_else(|| missing("intensity"))?;
            let after = over(
                o.and_then(|o| o.exit_after.as_ref()),
                "exit_after",
                nonneg,
                "must be >= 0 (years)",
            )?
            .or(base.and_then(|b| b.1));
            let window = over(
                o.and_then(|o| o.exit_window.as_ref()),
                "exit_window",
                nonneg,
                "must be >= 0 (years)",
            )?
            .or(base.and_then(|b| b.2));
            let discount = over(
                o.and_then(|o| o.exit_discount.as_ref()),
                "exit_discount",
                share,
                "must be a share in [0, 1]",
            )?
            .or(base.and_then(|b| b.3));
            Terms {
                role,
                intensity,
                exit: after.map(|after| Exit {
                    after,
                    window: window.unwrap_or(0.0),
                    discount: discount.unwrap_or(0.0),
                }),
                budget: 0.0,
                years: 0.0,
                gate: None,
            }
        }
        Role::Innovation => {
            let base = terms.innovation;
            let budget = over(
                o.and_then(|o| o.budget.as_ref()),
                "budget",
                nonneg,
                "must be >= 0",
            )?
            .or(base.and_then(|b| b.0))
            .ok_or_else(|| missing("budget"))?;
            let years = over(
                o.and_then(|o| o.years.as_ref()),
                "years",
                nonneg,
                "must be >= 0",
            )?
            .or(base.and_then(|b| b.1))
            .ok_or_else(|| missing("years"))?;
            let gate = match o.and_then(|o| o.gate.as_ref()) {
                Some(g) => Some(gate(v, g, &ok("gate"))?),
                None => base.and_then(|b| b.2),
            };
            Terms {
                role,
                intensity: 0.0,
                exit: None,
                budget,
                years,
                gate,
            }
        }
    })
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

/// `exit_window` and `exit_discount` only shape an exit: without
/// `exit_after` the unit is kept and they would silently do nothing, so a
/// unit whose effective terms have them without `exit_after` is refused.
fn exit_terms_need_exit_after(
    v: &V,
    pname: &str,
    p: &RawPolicy,
    terms: &[Terms],
    units: &[Unit],
    overrides: &[Option<(&str, &RawOverride)>],
) -> R<()> {
    for (ui, t) in terms.iter().enumerate() {
        if t.role != Role::NonCore || t.exit.is_some() {
            continue;
        }
        let o = overrides[ui];
        let from_override = o.and_then(|(uname, o)| {
            let at = |x: &Option<Sp<f64>>, key: &str| {
                x.as_ref().map(|x| {
                    (
                        x.span(),
                        format!("policies.{pname}.units.\"{uname}\".{key}"),
                    )
                })
            };
            at(&o.exit_window, "exit_window").or_else(|| at(&o.exit_discount, "exit_discount"))
        });
        let from_policy = p.non_core.as_ref().and_then(|c| {
            let at = |x: &Option<Sp<f64>>, key: &str| {
                x.as_ref()
                    .map(|x| (x.span(), format!("policies.{pname}.non_core.{key}")))
            };
            at(&c.exit_window, "exit_window").or_else(|| at(&c.exit_discount, "exit_discount"))
        });
        if let Some((span, key)) = from_override.or(from_policy) {
            return Err(v.err(
                span,
                &key,
                format!(
                    "`{}` shapes an exit, but unit \"{}\" has no `exit_after` under policy \"{pname}\", so it is never sold and this key would do nothing; add `exit_after = YEARS` (e.g. exit_after = 0.5) or remove it",
                    last(&key),
                    units[ui].name
                ),
            ));
        }
    }
    Ok(())
}
