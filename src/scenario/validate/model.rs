//! The validator's rules over a scenario that was not read from a file (a
//! shard's header): the same limits as [`super::validate`], every key's
//! rule from the key registry ([`crate::model::keys`]), and the rules that
//! tie keys together, so that the engine can run it without a panic and
//! within the documented sizes.

use super::{
    correlations_problem, LOADING_TOLERANCE, MAX_CORRELATIONS, MAX_FACTORS, MAX_HORIZON_YEARS,
    MAX_METRICS, MAX_POLICIES, MAX_STEPS, MAX_STEPS_PER_YEAR, MAX_TRIALS, MAX_UNITS,
};
use crate::model::{keys, Param, Scenario, Valuation};

type R = std::result::Result<(), String>;

/// Checks a validated scenario again: the first rule it breaks, in words.
pub fn check_model(s: &Scenario) -> R {
    sizes(s)?;
    if let Some(broken) = keys::first_broken(s) {
        return Err(broken);
    }
    units(s)?;
    correlations(s)?;
    for p in &s.policies {
        if p.terms.len() != s.units.len() {
            return Err(format!(
                "policy \"{}\" has terms outside their rules",
                p.name
            ));
        }
    }
    Ok(())
}

/// The limits on trials, units, policies, factors, steps and metrics.
fn sizes(s: &Scenario) -> R {
    if !(1..=MAX_TRIALS).contains(&s.trials) {
        return Err(format!("{} trials", s.trials));
    }
    if s.units.is_empty() || s.units.len() > MAX_UNITS {
        return Err(format!("{} units", s.units.len()));
    }
    if s.policies.is_empty() || s.policies.len() > MAX_POLICIES || s.baseline >= s.policies.len() {
        return Err(format!(
            "{} policies, baseline {}",
            s.policies.len(),
            s.baseline
        ));
    }
    if s.funding.is_some() {
        return Err("a [funding] study (shards never run one)".into());
    }
    if s.factors.len() > MAX_FACTORS {
        return Err(format!("{} factors", s.factors.len()));
    }
    let spy = i64::from(s.steps_per_year);
    if !(1..=MAX_STEPS_PER_YEAR).contains(&spy) {
        return Err(format!("{spy} steps per year"));
    }
    let increasing = s.horizons.windows(2).all(|w| w[0] < w[1]);
    let max_h = i64::from(*s.horizons.last().unwrap_or(&0));
    if s.horizons.is_empty()
        || !increasing
        || s.horizons[0] < 1
        || max_h > MAX_HORIZON_YEARS
        || max_h * spy > MAX_STEPS
    {
        return Err(format!("horizons {:?}", s.horizons));
    }
    if s.policies.len() * s.horizons.len() * (4 + 2 * s.units.len()) > MAX_METRICS {
        return Err("more reported metrics than allowed".into());
    }
    Ok(())
}

/// What ties a unit's keys together: its loadings (one per factor, in
/// [-1, 1], squares summing to at most 1, and the idiosyncratic weight
/// that follows), and a fade valuation's finite held value (a x beta < 1,
/// MODEL.md v3).
fn units(s: &Scenario) -> R {
    for u in &s.units {
        let sum_sq: f64 = u.loadings.iter().map(|x| x * x).sum();
        let tail_ok = match u.valuation {
            Valuation::Multiple => true,
            Valuation::Fade(f) => {
                f.tail_ratio(u.jumps.as_ref(), s.discount_rate, s.steps_per_year) < 1.0
            }
        };
        let ok = u.loadings.len() == s.factors.len()
            && u.loadings.iter().all(|x| (-1.0..=1.0).contains(x))
            && sum_sq <= 1.0 + LOADING_TOLERANCE
            && u.idiosyncratic.is_finite()
            && (0.0..=1.0).contains(&u.idiosyncratic)
            && tail_ok;
        if !ok {
            return Err(format!(
                "unit \"{}\" has values outside their rules",
                u.name
            ));
        }
    }
    Ok(())
}

/// Correlations: indices in range, both keys drawn, a coefficient in
/// [-1, 1], and a matrix the validator accepts (the copula factors it).
fn correlations(s: &Scenario) -> R {
    if s.correlations.len() > MAX_CORRELATIONS {
        return Err(format!("{} correlations", s.correlations.len()));
    }
    let drawn = |(u, p): (usize, Param)| s.units.get(u).is_some_and(|u| u.drawn(p).is_some());
    for c in &s.correlations {
        if !(drawn(c.a) && drawn(c.b) && c.a != c.b && (-1.0..=1.0).contains(&c.rank)) {
            return Err("correlations outside their rules".into());
        }
    }
    match correlations_problem(&s.correlations, &s.units) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn shipped_scenarios_pass_and_a_broken_key_is_named() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut reset = None;
        for name in [
            "reset.toml",
            "reset_uncertain.toml",
            "reset_correlated.toml",
        ] {
            let loaded = crate::scenario::load_raw(&root.join("scenarios").join(name)).unwrap();
            let s = loaded.scenario().unwrap();
            assert_eq!(check_model(&s), Ok(()), "{name}");
            reset.get_or_insert(s);
        }
        let mut s = reset.unwrap();
        let half = keys::UnitField::HalfSaturation;
        half.set(&mut s.units[1], -0.5);
        let e = check_model(&s).unwrap_err();
        let path = keys::of_param(Param::HalfSaturation).path;
        assert!(e.starts_with(&format!("{path} of unit")), "{e}");
        assert!(e.ends_with("must be >= 0, got -0.5"), "{e}");
        half.set(&mut s.units[1], 0.1);
        s.policies[0].terms[0].intensity = f64::NAN;
        let e = check_model(&s).unwrap_err();
        assert!(
            e.contains("intensity of unit") && e.contains("finite"),
            "{e}"
        );
    }
}
