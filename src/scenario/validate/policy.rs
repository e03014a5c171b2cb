//! One policy: its own numbers, its role tables, per-unit overrides and
//! the effective terms of every unit under it.

use super::*;
use crate::model::keys::{self, Owner, TermField};

/// A term given as a number, checked by its registry rule.
fn term(v: &V, x: &Sp<f64>, f: TermField, key: &str) -> R<f64> {
    let row = f.key();
    v.num(x, key, |y| row.rule.allows(y, 1), row.rule.text)
}

/// An optional term of a role's table or an override.
fn opt_term(v: &V, x: Option<&Sp<f64>>, f: TermField, key: &str) -> R<Option<f64>> {
    x.map(|x| term(v, x, f, key)).transpose()
}

/// A required term, reported missing at `table`.
fn req_term(v: &V, x: &Option<Sp<f64>>, table: &Range<usize>, f: TermField, key: &str) -> R<f64> {
    term(v, v.req(x, table, key)?, f, key)
}

fn gate(v: &V, g: &Sp<RawGate>, key: &str) -> R<Gate> {
    let at = |f: TermField| {
        let k = format!("{key}.{}", f.key().leaf());
        req_term(v, g.term_slot(f), &g.span(), f, &k)
    };
    Ok(Gate {
        year: at(TermField::GateYear)?,
        min_revenue_multiple: at(TermField::GateMin)?,
    })
}

/// A policy's `non_core` table: intensity, then the exit's after, window and
/// discount (each may be missing).
type NonCoreTerms = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);
/// A policy's `innovation` table: budget, years, gate.
type InnovationTerms = (Option<f64>, Option<f64>, Option<Gate>);

/// Policy-level terms of one role, as given (each may be missing).
struct RoleTerms {
    core: Option<f64>,
    non_core: Option<NonCoreTerms>,
    innovation: Option<InnovationTerms>,
}

pub(super) fn policy(
    v: &V,
    pname: &str,
    p: &RawPolicy,
    header: &Range<usize>,
    units: &[Unit],
) -> R<Policy> {
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
    // The policy's own numbers, by the registry's rules and defaults.
    let mut shares = Vec::new();
    for k in keys::of(Owner::Policy) {
        let keys::Field::Policy(f) = k.field else {
            continue;
        };
        let ok = |x: f64| k.rule.allows(x, 1);
        let x = match k.default {
            None => v.req_num(p.share(f), &ps, &pk(k.path), ok, k.rule.text)?,
            Some(d) => v
                .opt_num(p.share(f), &pk(k.path), ok, k.rule.text)?
                .unwrap_or(d),
        };
        shares.push((f, x));
    }
    let terms = role_tables(v, p, &pk)?;

    // Overrides, by unit index.
    let overrides = overrides(v, p, units, &ps, &pk)?;

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
    let mut policy = Policy {
        name: display,
        description: p
            .description
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default(),
        terms: out,
        ..Policy::default()
    };
    for (f, x) in shares {
        f.set(&mut policy, x);
    }
    Ok(policy)
}

/// The terms each role's table gives (each may be missing), checked by
/// the registry's rules; a table's required keys are required even if
/// every unit of that role overrides them.
fn role_tables(v: &V, p: &RawPolicy, pk: &dyn Fn(&str) -> String) -> R<RoleTerms> {
    use Role::{Innovation, NonCore};
    use TermField::*;
    // A term of a role's table, at its dotted key, by its registry rule.
    let role_term = |role: Role, f: TermField| {
        let key = pk(&format!("{}.{}", role.as_str(), f.key().path));
        opt_term(v, p.role_term(role, f), f, &key)
    };
    let terms = RoleTerms {
        core: match &p.core {
            Some(c) => Some(req_term(
                v,
                &c.intensity,
                &c.span(),
                Intensity,
                &pk("core.intensity"),
            )?),
            None => None,
        },
        non_core: match &p.non_core {
            Some(_) => Some((
                role_term(NonCore, Intensity)?,
                role_term(NonCore, ExitAfter)?,
                role_term(NonCore, ExitWindow)?,
                role_term(NonCore, ExitDiscount)?,
            )),
            None => None,
        },
        innovation: match &p.innovation {
            Some(c) => Some((
                role_term(Innovation, Budget)?,
                role_term(Innovation, Years)?,
                c.gate
                    .as_ref()
                    .map(|g| gate(v, g, &pk("innovation.gate")))
                    .transpose()?,
            )),
            None => None,
        },
    };
    if let Some(c) = &p.non_core {
        v.req(&c.intensity, &c.span(), &pk("non_core.intensity"))?;
    }
    if let Some(c) = &p.innovation {
        v.req(&c.budget, &c.span(), &pk("innovation.budget"))?;
        v.req(&c.years, &c.span(), &pk("innovation.years"))?;
    }
    Ok(terms)
}

/// The policy's per-unit overrides, by unit index (each names a unit,
/// once).
fn overrides<'a>(
    v: &V,
    p: &'a RawPolicy,
    units: &[Unit],
    ps: &Range<usize>,
    pk: &dyn Fn(&str) -> String,
) -> R<Vec<Option<(&'a str, &'a RawOverride)>>> {
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
    Ok(overrides)
}

/// Refuses an override's key that is not a term of the unit's role
/// (its terms are the registry's for that role).
fn not_of_role(v: &V, o: &RawOverride, role: Role, ok: &dyn Fn(&str) -> String) -> R<()> {
    let table = |path: &'static str| path.split('.').next().unwrap_or(path);
    let mut allowed: Vec<&str> = keys::role_terms(role).map(|k| table(k.path)).collect();
    allowed.dedup();
    let mut checked: Vec<&str> = Vec::new();
    for k in keys::terms() {
        let (keys::Field::Term(f), key) = (k.field, table(k.path)) else {
            continue;
        };
        if checked.contains(&key) {
            continue;
        }
        checked.push(key);
        let span = match f {
            TermField::GateYear | TermField::GateMin => o.gate.as_ref().map(|g| g.span()),
            _ => o.term(f).map(|x| x.span()),
        };
        if let Some(span) = span.filter(|_| !allowed.contains(&key)) {
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
    Ok(())
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
        not_of_role(v, o, role, &ok)?;
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
    // A term as the override gives it, by its registry rule.
    let over = |f: TermField| opt_term(v, o.and_then(|o| o.term(f)), f, &ok(f.key().path));
    Ok(match role {
        Role::Core => {
            let intensity = over(TermField::Intensity)?
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
            let intensity = over(TermField::Intensity)?
                .or(base.and_then(|b| b.0))
                .ok_or_else(|| missing("intensity"))?;
            let after = over(TermField::ExitAfter)?.or(base.and_then(|b| b.1));
            let window = over(TermField::ExitWindow)?.or(base.and_then(|b| b.2));
            let discount = over(TermField::ExitDiscount)?.or(base.and_then(|b| b.3));
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
            let budget = over(TermField::Budget)?
                .or(base.and_then(|b| b.0))
                .ok_or_else(|| missing("budget"))?;
            let years = over(TermField::Years)?
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

/// An exit's window and discount only shape an exit: without
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
        // The exit's shape without its start: where an override, else the
        // policy's table, gives it.
        let shape = [TermField::ExitWindow, TermField::ExitDiscount];
        let from_override = o.and_then(|(uname, o)| {
            shape.iter().find_map(|&f| {
                let key = format!("policies.{pname}.units.\"{uname}\".{}", f.key().path);
                o.term(f).map(|x| (x.span(), key))
            })
        });
        let from_policy = shape.iter().find_map(|&f| {
            let key = format!("policies.{pname}.non_core.{}", f.key().path);
            p.role_term(Role::NonCore, f).map(|x| (x.span(), key))
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
