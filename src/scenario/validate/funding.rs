//! The `[funding]` study table: the policy, the innovation units and the
//! funded years it varies, each refused with its line and key.

use std::ops::Range;

use super::{RawFunding, Sp, MAX_HORIZON_YEARS, MAX_METRICS, R, V};
use crate::model::{Funding, Policy, Role, Unit};

/// Most values of `[funding] years`, and most variant runs of the study.
pub const MAX_FUNDING_YEARS: usize = 16;
pub const MAX_FUNDING_VARIANTS: usize = 64;

/// The `[funding]` study table.
pub(super) fn funding(
    v: &V,
    rf: &RawFunding,
    header: &Range<usize>,
    units: &[Unit],
    policies: &[Policy],
    horizons: usize,
) -> R<Funding> {
    let at = rf.anchor().unwrap_or_else(|| header.clone());
    let pv = v.req(&rf.policy, &at, "funding.policy")?;
    let policy = policies
        .iter()
        .position(|p| p.name == **pv)
        .ok_or_else(|| {
            let known: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
            v.err(
                pv.span(),
                "funding.policy",
                format!(
                    "names no policy: \"{}\" (policies are: {})",
                    pv.get_ref(),
                    known.join(", ")
                ),
            )
        })?;
    let chosen = chosen(v, rf, pv, units, &policies[policy])?;
    let yv = v.req(&rf.years, &at, "funding.years")?;
    if yv.is_empty() {
        return Err(v.err(
            yv.span(),
            "funding.years",
            "must list at least one number of funded years",
        ));
    }
    if yv.len() > MAX_FUNDING_YEARS {
        return Err(v.err(
            yv.span(),
            "funding.years",
            format!("at most {MAX_FUNDING_YEARS} values, got {}", yv.len()),
        ));
    }
    let mut years = years(v, yv)?;
    years.sort_by(f64::total_cmp);
    let variants = chosen.len() * years.len();
    if variants > MAX_FUNDING_VARIANTS {
        return Err(v.err(
            yv.span(),
            "funding.years",
            format!(
                "{} units x {} funded years (0 included) make {variants} runs, more than the {MAX_FUNDING_VARIANTS} allowed",
                chosen.len(),
                years.len()
            ),
        ));
    }
    // The study's run reports every metric of each variant: the same
    // bound on memory as a scenario's.
    let metrics = variants * horizons * (4 + 2 * units.len());
    if metrics > MAX_METRICS {
        return Err(v.err(
            yv.span(),
            "funding.years",
            format!(
                "{variants} runs x {horizons} horizons x {} units make {metrics} reported metrics, more than the {MAX_METRICS} allowed (study fewer units or years)",
                units.len()
            ),
        ));
    }
    Ok(Funding {
        policy,
        units: chosen,
        years,
    })
}

/// The units studied: those listed (innovation units under the policy,
/// once each), or every innovation unit under it.
fn chosen(
    v: &V,
    rf: &RawFunding,
    pv: &Sp<String>,
    units: &[Unit],
    policy: &Policy,
) -> R<Vec<usize>> {
    let terms = &policy.terms;
    let innovation: Vec<usize> = (0..units.len())
        .filter(|&u| terms[u].role == Role::Innovation)
        .collect();
    Ok(match &rf.units {
        Some(list) => {
            if list.is_empty() {
                return Err(v.err(
                    list.span(),
                    "funding.units",
                    "must name at least one unit (or leave `units` out for every innovation unit)",
                ));
            }
            let mut out = Vec::new();
            for (i, n) in list.iter().enumerate() {
                let key = format!("funding.units[{i}]");
                let Some(u) = units.iter().position(|u| u.name == **n) else {
                    return Err(v.err(
                        n.span(),
                        &key,
                        format!("names no unit: \"{}\"", n.get_ref()),
                    ));
                };
                if terms[u].role != Role::Innovation {
                    return Err(v.err(
                        n.span(),
                        &key,
                        format!(
                            "\"{}\" is {} under policy \"{}\": funded years apply to innovation units only",
                            n.get_ref(),
                            terms[u].role.as_str(),
                            policy.name
                        ),
                    ));
                }
                if out.contains(&u) {
                    return Err(v.err(
                        n.span(),
                        &key,
                        format!("\"{}\" is listed twice", n.get_ref()),
                    ));
                }
                out.push(u);
            }
            out
        }
        None => {
            if innovation.is_empty() {
                return Err(v.err(
                    pv.span(),
                    "funding.policy",
                    format!(
                        "policy \"{}\" has no innovation unit whose funded years could vary",
                        policy.name
                    ),
                ));
            }
            innovation
        }
    })
}

/// The funded years listed, each once, with 0 (the reference) first.
fn years(v: &V, yv: &Sp<Vec<Sp<f64>>>) -> R<Vec<f64>> {
    let mut years = vec![0.0];
    for (i, y) in yv.iter().enumerate() {
        let key = format!("funding.years[{i}]");
        let x = v.num(
            y,
            &key,
            |x| (0.0..=MAX_HORIZON_YEARS as f64).contains(&x),
            &format!("must be a number of years in [0, {MAX_HORIZON_YEARS}]"),
        )?;
        if yv[..i].iter().any(|z| **z == x) {
            return Err(v.err(y.span(), &key, format!("{x} years is listed twice")));
        }
        if x != 0.0 {
            years.push(x);
        }
    }
    Ok(years)
}
