//! Raw scenario -> validated [`Scenario`]: every rule of the model contract,
//! each refusal naming the file, line and key.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::raw::*;
use crate::error::InputError;
use crate::model::{Exit, Gate, Jumps, Policy, Role, Scenario, Terms, Unit};

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
pub const MAX_JUMP_RATE: f64 = 10_000.0;
/// Tolerance on the sum of squared loadings (rounding of typed decimals).
const LOADING_TOLERANCE: f64 = 1e-9;

/// Where the text came from, for messages.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at a byte span of the source.
    pub fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> InputError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        let source_line = self.text[line_start..]
            .lines()
            .next()
            .map(|l| l.trim_end().to_string());
        InputError {
            file: self.path.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
            source_line,
        }
    }
}

type R<T> = std::result::Result<T, InputError>;

/// A `Spanned<f64>` checked to be finite and to satisfy `ok`.
fn num(src: &Source, v: &Spanned<f64>, key: &str, ok: impl Fn(f64) -> bool, rule: &str) -> R<f64> {
    let x = *v.get_ref();
    if !x.is_finite() {
        return Err(src.error(v.span(), key, format!("must be a finite number, got {x}")));
    }
    if !ok(x) {
        return Err(src.error(v.span(), key, format!("{rule}, got {x}")));
    }
    Ok(x)
}

fn any(x: f64) -> bool {
    let _ = x;
    true
}
fn nonneg(x: f64) -> bool {
    x >= 0.0
}
fn share(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

fn text(src: &Source, v: &Spanned<String>, key: &str) -> R<String> {
    let s = v.get_ref().trim();
    if s.is_empty() {
        return Err(src.error(v.span(), key, "must not be empty"));
    }
    Ok(v.get_ref().clone())
}

/// Validates a parsed file.
pub fn validate(src: &Source, raw: &RawFile) -> R<Scenario> {
    let h = raw.scenario.get_ref();
    let name = text(src, &h.name, "scenario.name")?;
    let currency = text(src, &h.currency, "scenario.currency")?;
    let trials = *h.trials.get_ref();
    if trials < 1 || trials as u64 > MAX_TRIALS {
        return Err(src.error(
            h.trials.span(),
            "scenario.trials",
            format!("must be between 1 and {MAX_TRIALS}, got {trials}"),
        ));
    }
    let seed = *h.seed.get_ref();
    if seed < 0 {
        return Err(src.error(
            h.seed.span(),
            "scenario.seed",
            format!("must be a non-negative integer, got {seed}"),
        ));
    }
    let spy = *h.steps_per_year.get_ref();
    if !(1..=MAX_STEPS_PER_YEAR).contains(&spy) {
        return Err(src.error(
            h.steps_per_year.span(),
            "scenario.steps_per_year",
            format!("must be between 1 and {MAX_STEPS_PER_YEAR}, got {spy}"),
        ));
    }
    let mut horizons = Vec::new();
    if h.horizons.get_ref().is_empty() {
        return Err(src.error(
            h.horizons.span(),
            "scenario.horizons",
            "must list at least one horizon (whole years)",
        ));
    }
    for (i, y) in h.horizons.get_ref().iter().enumerate() {
        let key = format!("scenario.horizons[{i}]");
        let v = *y.get_ref();
        if !(1..=MAX_HORIZON_YEARS).contains(&v) {
            return Err(src.error(
                y.span(),
                &key,
                format!(
                    "must be a whole number of years between 1 and {MAX_HORIZON_YEARS}, got {v}"
                ),
            ));
        }
        if horizons.contains(&(v as u32)) {
            return Err(src.error(y.span(), &key, format!("horizon {v} is listed twice")));
        }
        horizons.push(v as u32);
    }
    horizons.sort_unstable();
    let max_h = *horizons.last().unwrap_or(&1) as i64;
    if max_h * spy > MAX_STEPS {
        return Err(src.error(
            h.steps_per_year.span(),
            "scenario.steps_per_year",
            format!(
                "{max_h} years x {spy} steps per year = {} steps per trial, more than the {MAX_STEPS} allowed",
                max_h * spy
            ),
        ));
    }
    let discount_rate = num(
        src,
        &h.discount_rate,
        "scenario.discount_rate",
        |x| x > -1.0,
        "must be greater than -1",
    )?;

    // Factors.
    let mut factors: Vec<String> = Vec::new();
    if raw.factors.len() > MAX_FACTORS {
        return Err(src.error(
            raw.factors[MAX_FACTORS].span(),
            "factors",
            format!("at most {MAX_FACTORS} factors are allowed"),
        ));
    }
    for (i, f) in raw.factors.iter().enumerate() {
        let key = format!("factors[{i}].name");
        let n = text(src, &f.get_ref().name, &key)?;
        if factors.contains(&n) {
            return Err(src.error(
                f.get_ref().name.span(),
                &key,
                format!("duplicate factor name \"{n}\""),
            ));
        }
        factors.push(n);
    }

    // Units.
    let raw_units = raw.units.get_ref();
    if raw_units.is_empty() {
        return Err(src.error(raw.units.span(), "units", "at least one unit is required"));
    }
    if raw_units.len() > MAX_UNITS {
        return Err(src.error(
            raw_units[MAX_UNITS].span(),
            "units",
            format!(
                "at most {MAX_UNITS} units are allowed, got {}",
                raw_units.len()
            ),
        ));
    }
    let mut units: Vec<Unit> = Vec::with_capacity(raw_units.len());
    for (i, ru) in raw_units.iter().enumerate() {
        units.push(unit(src, i, ru.get_ref(), spy, &factors, &units)?);
    }

    // Policies.
    let raw_policies = &raw.policies;
    if raw_policies.is_empty() {
        return Err(src.error(
            raw.scenario.span(),
            "policies",
            "at least one [policies.NAME] table is required",
        ));
    }
    if raw_policies.len() > MAX_POLICIES {
        return Err(src.error(
            raw_policies[MAX_POLICIES].span(),
            "policies",
            format!(
                "at most {MAX_POLICIES} policies are allowed, got {}",
                raw_policies.len()
            ),
        ));
    }
    let mut policies = Vec::with_capacity(raw_policies.len());
    for (pname, rp) in raw_policies {
        policies.push(policy(src, pname, rp, &units)?);
    }
    let baseline_name = h.baseline.get_ref();
    let baseline = policies
        .iter()
        .position(|p| &p.name == baseline_name)
        .ok_or_else(|| {
            let known: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
            src.error(
                h.baseline.span(),
                "scenario.baseline",
                format!(
                    "names no policy: \"{baseline_name}\" (policies are: {})",
                    known.join(", ")
                ),
            )
        })?;

    let metrics = policies.len() * horizons.len() * (4 + 2 * units.len());
    if metrics > MAX_METRICS {
        return Err(src.error(
            raw.units.span(),
            "units",
            format!(
                "{} policies x {} horizons x {} units make {metrics} reported metrics, more than the {MAX_METRICS} allowed",
                policies.len(),
                horizons.len(),
                units.len()
            ),
        ));
    }

    Ok(Scenario {
        name,
        currency,
        trials: trials as u64,
        seed: seed as u64,
        steps_per_year: spy as u32,
        horizons,
        discount_rate,
        baseline,
        factors,
        units,
        policies,
    })
}

fn role(src: &Source, v: &Spanned<String>, key: &str) -> R<Role> {
    Role::parse(v.get_ref()).ok_or_else(|| {
        src.error(
            v.span(),
            key,
            format!(
                "unknown role \"{}\": expected \"core\", \"non_core\" or \"innovation\"",
                v.get_ref()
            ),
        )
    })
}

fn unit(
    src: &Source,
    i: usize,
    u: &RawUnit,
    spy: i64,
    factors: &[String],
    earlier: &[Unit],
) -> R<Unit> {
    let k = |field: &str| format!("units[{i}].{field}");
    let name = text(src, &u.name, &k("name"))?;
    if earlier.iter().any(|e| e.name == name) {
        return Err(src.error(
            u.name.span(),
            &k("name"),
            format!("duplicate unit name \"{name}\""),
        ));
    }
    let role = role(src, &u.role, &k("role"))?;
    let revenue = num(
        src,
        &u.revenue,
        &k("revenue"),
        |x| x > 0.0,
        "must be positive",
    )?;
    let growth = num(
        src,
        &u.growth,
        &k("growth"),
        |x| x > -1.0,
        "must be greater than -1",
    )?;
    let volatility = num(src, &u.volatility, &k("volatility"), nonneg, "must be >= 0")?;
    let margin = num(
        src,
        &u.margin,
        &k("margin"),
        |x| x <= 1.0,
        "must be <= 1 (a share of revenue)",
    )?;
    let target_margin = match &u.target_margin {
        Some(v) => num(
            src,
            v,
            &k("target_margin"),
            |x| x <= 1.0,
            "must be <= 1 (a share of revenue)",
        )?,
        None => margin,
    };
    // margin_speed x dt must stay <= 1 or the margin would overshoot its
    // target within one step.
    let margin_speed = match &u.margin_speed {
        Some(v) => num(
            src,
            v,
            &k("margin_speed"),
            |x| (0.0..=spy as f64).contains(&x),
            &format!("must be in [0, steps_per_year = {spy}] (per year)"),
        )?,
        None => 0.0,
    };
    let m = u.multiple.get_ref();
    let multiple_median = num(
        src,
        &m.median,
        &k("multiple.median"),
        |x| x > 0.0,
        "must be positive",
    )?;
    let multiple_dispersion = num(
        src,
        &m.dispersion,
        &k("multiple.dispersion"),
        nonneg,
        "must be >= 0",
    )?;
    let mut loadings = vec![0.0; factors.len()];
    if let Some(l) = &u.loadings {
        let mut sum_sq = 0.0;
        for (fname, v) in l.get_ref() {
            let key = k(&format!("loadings.{fname}"));
            let Some(fi) = factors.iter().position(|f| f == fname) else {
                let known = if factors.is_empty() {
                    "no [[factors]] are defined".to_string()
                } else {
                    format!("factors are: {}", factors.join(", "))
                };
                return Err(src.error(
                    v.span(),
                    &key,
                    format!("loading on unknown factor \"{fname}\" ({known})"),
                ));
            };
            let x = num(
                src,
                v,
                &key,
                |x| (-1.0..=1.0).contains(&x),
                "must be in [-1, 1]",
            )?;
            loadings[fi] = x;
            sum_sq += x * x;
        }
        if sum_sq > 1.0 + LOADING_TOLERANCE {
            return Err(src.error(
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
        Some(r) => {
            let r = r.get_ref();
            (
                num(
                    src,
                    &r.max_uplift,
                    &k("response.max_uplift"),
                    nonneg,
                    "must be >= 0",
                )?,
                num(
                    src,
                    &r.half_saturation,
                    &k("response.half_saturation"),
                    nonneg,
                    "must be >= 0",
                )?,
            )
        }
        None => (0.0, 0.0),
    };
    let jumps = match &u.jumps {
        Some(j) => {
            let j = j.get_ref();
            Some(Jumps {
                rate: num(
                    src,
                    &j.rate,
                    &k("jumps.rate"),
                    |x| (0.0..=MAX_JUMP_RATE).contains(&x),
                    &format!("must be in [0, {MAX_JUMP_RATE}] (jumps per year)"),
                )?,
                mean: num(src, &j.mean, &k("jumps.mean"), any, "")?,
                stdev: num(src, &j.stdev, &k("jumps.stdev"), nonneg, "must be >= 0")?,
            })
        }
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
    })
}

fn policy(src: &Source, pname: &str, rp: &Spanned<RawPolicy>, units: &[Unit]) -> R<Policy> {
    let p = rp.get_ref();
    let pk = |field: &str| format!("policies.{pname}.{field}");
    let reinvest_share = num(
        src,
        &p.reinvest_share,
        &pk("reinvest_share"),
        share,
        "must be a share in [0, 1]",
    )?;
    let recycle_share = match &p.recycle_share {
        Some(v) => num(
            src,
            v,
            &pk("recycle_share"),
            share,
            "must be a share in [0, 1]",
        )?,
        None => 0.0,
    };
    let core = match &p.core {
        Some(c) => Some(num(
            src,
            &c.get_ref().intensity,
            &pk("core.intensity"),
            nonneg,
            "must be >= 0",
        )?),
        None => None,
    };
    let non_core = match &p.non_core {
        Some(c) => {
            let c = c.get_ref();
            let intensity = num(
                src,
                &c.intensity,
                &pk("non_core.intensity"),
                nonneg,
                "must be >= 0",
            )?;
            let after = opt(
                src,
                &c.exit_after,
                &pk("non_core.exit_after"),
                nonneg,
                "must be >= 0 (years)",
            )?;
            let window = opt(
                src,
                &c.exit_window,
                &pk("non_core.exit_window"),
                nonneg,
                "must be >= 0 (years)",
            )?;
            let discount = opt(
                src,
                &c.exit_discount,
                &pk("non_core.exit_discount"),
                share,
                "must be a share in [0, 1]",
            )?;
            Some((intensity, after, window, discount))
        }
        None => None,
    };
    let innovation = match &p.innovation {
        Some(c) => {
            let c = c.get_ref();
            let budget = num(
                src,
                &c.budget,
                &pk("innovation.budget"),
                nonneg,
                "must be >= 0",
            )?;
            let years = num(
                src,
                &c.years,
                &pk("innovation.years"),
                nonneg,
                "must be >= 0",
            )?;
            let gate = match &c.gate {
                Some(g) => Some(gate(src, g.get_ref(), &pk("innovation.gate"))?),
                None => None,
            };
            Some((budget, years, gate))
        }
        None => None,
    };

    // Overrides, by unit index.
    let mut overrides: Vec<Option<&Spanned<RawOverride>>> = vec![None; units.len()];
    if let Some(map) = &p.units {
        for (uname, ov) in map {
            let Some(ui) = units.iter().position(|u| &u.name == uname) else {
                return Err(src.error(
                    ov.span(),
                    &pk(&format!("units.\"{uname}\"")),
                    format!("override names no unit: \"{uname}\""),
                ));
            };
            overrides[ui] = Some(ov);
        }
    }

    let mut terms = Vec::with_capacity(units.len());
    for (ui, u) in units.iter().enumerate() {
        let ov = overrides[ui].map(|o| o.get_ref());
        let ok = |field: &str| pk(&format!("units.\"{}\".{field}", u.name));
        let role = match ov.and_then(|o| o.role.as_ref()) {
            Some(r) => role(src, r, &ok("role"))?,
            None => u.role,
        };
        // Keys that do not apply to the unit's effective role are refused:
        // an override of `budget` on a core unit would silently do nothing.
        if let Some(o) = ov {
            let allowed: &[&str] = match role {
                Role::Core => &["intensity"],
                Role::NonCore => &["intensity", "exit_after", "exit_window", "exit_discount"],
                Role::Innovation => &["budget", "years", "gate"],
            };
            let given: [(&str, Option<Range<usize>>); 7] = [
                ("intensity", o.intensity.as_ref().map(|v| v.span())),
                ("exit_after", o.exit_after.as_ref().map(|v| v.span())),
                ("exit_window", o.exit_window.as_ref().map(|v| v.span())),
                ("exit_discount", o.exit_discount.as_ref().map(|v| v.span())),
                ("budget", o.budget.as_ref().map(|v| v.span())),
                ("years", o.years.as_ref().map(|v| v.span())),
                ("gate", o.gate.as_ref().map(|v| v.span())),
            ];
            for (key, span) in given {
                if let Some(span) = span {
                    if !allowed.contains(&key) {
                        return Err(src.error(
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
            src.error(
                rp.span(),
                &pk(role.as_str()),
                format!(
                    "policy \"{pname}\" gives no `{}` terms, but unit \"{}\" is {} under it (add [policies.{pname}.{}] or set `{what}` in an override)",
                    role.as_str(),
                    u.name,
                    role.as_str(),
                    role.as_str()
                ),
            )
        };
        let t = match role {
            Role::Core => {
                let intensity = match ov.and_then(|o| o.intensity.as_ref()) {
                    Some(v) => num(src, v, &ok("intensity"), nonneg, "must be >= 0")?,
                    None => core.ok_or_else(|| missing("intensity"))?,
                };
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
                let base = non_core;
                let intensity = match ov.and_then(|o| o.intensity.as_ref()) {
                    Some(v) => num(src, v, &ok("intensity"), nonneg, "must be >= 0")?,
                    None => base.ok_or_else(|| missing("intensity"))?.0,
                };
                let pick = |o: Option<&Spanned<f64>>,
                            b: Option<f64>,
                            key: &str,
                            ok_fn: fn(f64) -> bool,
                            rule: &str|
                 -> R<Option<f64>> {
                    match o {
                        Some(v) => Ok(Some(num(src, v, &ok(key), ok_fn, rule)?)),
                        None => Ok(b),
                    }
                };
                let after = pick(
                    ov.and_then(|o| o.exit_after.as_ref()),
                    base.and_then(|b| b.1),
                    "exit_after",
                    nonneg,
                    "must be >= 0 (years)",
                )?;
                let window = pick(
                    ov.and_then(|o| o.exit_window.as_ref()),
                    base.and_then(|b| b.2),
                    "exit_window",
                    nonneg,
                    "must be >= 0 (years)",
                )?;
                let discount = pick(
                    ov.and_then(|o| o.exit_discount.as_ref()),
                    base.and_then(|b| b.3),
                    "exit_discount",
                    share,
                    "must be a share in [0, 1]",
                )?;
                let exit = after.map(|after| Exit {
                    after,
                    window: window.unwrap_or(0.0),
                    discount: discount.unwrap_or(0.0),
                });
                Terms {
                    role,
                    intensity,
                    exit,
                    budget: 0.0,
                    years: 0.0,
                    gate: None,
                }
            }
            Role::Innovation => {
                let base = innovation;
                let budget = match ov.and_then(|o| o.budget.as_ref()) {
                    Some(v) => num(src, v, &ok("budget"), nonneg, "must be >= 0")?,
                    None => base.ok_or_else(|| missing("budget"))?.0,
                };
                let years = match ov.and_then(|o| o.years.as_ref()) {
                    Some(v) => num(src, v, &ok("years"), nonneg, "must be >= 0")?,
                    None => base.ok_or_else(|| missing("years"))?.1,
                };
                let gate = match ov.and_then(|o| o.gate.as_ref()) {
                    Some(g) => Some(gate(src, g.get_ref(), &ok("gate"))?),
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
        };
        terms.push(t);
    }
    let description = p
        .description
        .as_ref()
        .map(|d| d.get_ref().clone())
        .unwrap_or_default();
    Ok(Policy {
        name: pname.to_string(),
        description,
        reinvest_share,
        recycle_share,
        terms,
    })
}

fn opt(
    src: &Source,
    v: &Option<Spanned<f64>>,
    key: &str,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> R<Option<f64>> {
    match v {
        Some(v) => Ok(Some(num(src, v, key, ok, rule)?)),
        None => Ok(None),
    }
}

fn gate(src: &Source, g: &RawGate, key: &str) -> R<Gate> {
    Ok(Gate {
        year: num(
            src,
            &g.year,
            &format!("{key}.year"),
            nonneg,
            "must be >= 0 (years)",
        )?,
        min_revenue_multiple: num(
            src,
            &g.min_revenue_multiple,
            &format!("{key}.min_revenue_multiple"),
            nonneg,
            "must be >= 0",
        )?,
    })
}
