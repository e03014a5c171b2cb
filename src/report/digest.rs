//! `simulate check`: a one-screen digest of what a scenario contains.

use std::fmt::Write;

use crate::format::{money, number, percent};
use crate::model::keys::{self, Owner};
use crate::model::{Param, Policy, Role, Scenario, Terms, Valuation};

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The digest text.
pub fn render(s: &Scenario) -> String {
    let mut out = String::new();
    let steps = match s.steps_per_year {
        1 => "yearly steps".to_string(),
        4 => "quarterly steps".to_string(),
        12 => "monthly steps".to_string(),
        n => format!("{n} steps a year"),
    };
    let horizons: Vec<String> = s.horizons.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(out, "{}", s.name);
    let _ = writeln!(
        out,
        "  {} trials, seed {}, {steps}, horizons {} years, discount rate {}, money in {}",
        number(s.trials as f64, 0),
        s.seed,
        horizons.join(", "),
        percent(s.discount_rate, 1),
        s.currency
    );
    if s.factors.is_empty() {
        let _ = writeln!(out, "  no common factors");
    } else {
        let _ = writeln!(
            out,
            "  {} factors: {}",
            s.factors.len(),
            s.factors.join(", ")
        );
    }
    units(&mut out, s);
    drawn(&mut out, s);
    let fades = s
        .units
        .iter()
        .filter(|u| matches!(u.valuation, Valuation::Fade(_)))
        .count();
    let _ = writeln!(
        out,
        "  held at a horizon: {}",
        match fades {
            0 => "every unit valued at revenue x multiple".to_string(),
            n if n == s.units.len() => "every unit valued by the one-future fade".to_string(),
            n => format!(
                "{n} units valued by the one-future fade (fade: years → terminal growth, s/c: sales to capital), {} at revenue x multiple",
                s.units.len() - n
            ),
        }
    );
    fade_schedule(&mut out, s);
    let _ = writeln!(
        out,
        "\n{} policies (baseline: {}):",
        s.policies.len(),
        s.policies[s.baseline].name
    );
    for p in &s.policies {
        policy(&mut out, s, p);
    }
    if let Some(f) = &s.funding {
        let units: Vec<&str> = f.units.iter().map(|&u| s.units[u].name.as_str()).collect();
        let years: Vec<String> = f.years.iter().map(|y| y.to_string()).collect();
        let _ = writeln!(
            out,
            "
funding study under {}: {} funded for {} years, one unit at a time ({} runs on the same draws)",
            s.policies[f.policy].name,
            units.join(", "),
            years.join(", "),
            units.len() * years.len()
        );
    }
    out
}

/// The units' table (the first 24), one line a unit with its extras.
fn units(out: &mut String, s: &Scenario) {
    let total: f64 = s.units.iter().map(|u| u.revenue).sum();
    let _ = writeln!(
        out,
        "\n{} units, revenue {} at t = 0:",
        s.units.len(),
        money(total)
    );
    let _ = writeln!(
        out,
        "  {:<28} {:<10} {:>9} {:>7} {:>6} {:>7} {:>6} extras",
        "unit", "role", "revenue", "growth", "vol", "margin", "EV/rev"
    );
    let shown = 24;
    for u in s.units.iter().take(shown) {
        let mut extras = Vec::new();
        if u.max_uplift > 0.0 {
            extras.push(format!("uplift ≤{}", percent(u.max_uplift, 1)));
        }
        if let Some(j) = u.jumps {
            extras.push(format!("jumps {}/yr", j.rate));
        }
        if u.target_margin != u.margin && u.margin_speed > 0.0 {
            extras.push(format!("margin → {}", percent(u.target_margin, 1)));
        }
        if let Some(g) = u.growth_fade {
            extras.push(format!(
                "growth {} → {} over {}y",
                percent(g.from, 1),
                percent(u.growth, 1),
                g.years
            ));
        }
        if !u.uncertain.is_empty() {
            extras.push("drawn: see below".to_string());
        }
        if let Valuation::Fade(f) = u.valuation {
            extras.push(format!(
                "fade {}y → {}, s/c {}",
                f.years,
                percent(f.terminal_growth, 1),
                f.sales_to_capital
            ));
        }
        let _ = writeln!(
            out,
            "  {:<28} {:<10} {:>9} {:>7} {:>6} {:>7} {:>5.1}x {}",
            truncate(&u.name, 28),
            u.role.as_str(),
            money(u.revenue),
            percent(u.growth, 1),
            percent(u.volatility, 1),
            percent(u.margin, 1),
            u.multiple_median,
            extras.join(", ")
        );
    }
    if s.units.len() > shown {
        let _ = writeln!(out, "  … and {} more", s.units.len() - shown);
    }
}

/// One policy: its own numbers, each role's common terms, the units whose
/// terms differ, role overrides and its description.
fn policy(out: &mut String, s: &Scenario, p: &Policy) {
    // The policy's own numbers, each by its first word ("reinvest").
    let mut parts: Vec<String> = keys::of(Owner::Policy)
        .filter_map(|k| match k.field {
            keys::Field::Policy(f) => Some(format!(
                "{} {}",
                k.path.split('_').next().unwrap_or(k.path),
                percent(f.get(p), 1)
            )),
            _ => None,
        })
        .collect();
    let mut overrides: Vec<String> = Vec::new();
    for (u, t) in s.units.iter().zip(&p.terms) {
        if t.role != u.role {
            overrides.push(format!("{} as {}", u.name, t.role.as_str()));
        }
    }
    // Per role, the terms most of its units have (the policy's table);
    // units with other terms are named with what differs.
    let mut roles: Vec<String> = Vec::new();
    let mut per_unit: Vec<String> = Vec::new();
    for role in [Role::Core, Role::NonCore, Role::Innovation] {
        let mine: Vec<(&str, &Terms)> = s
            .units
            .iter()
            .zip(&p.terms)
            .filter(|(_, t)| t.role == role)
            .map(|(u, t)| (u.name.as_str(), t))
            .collect();
        let Some(common) = most_common(&mine) else {
            continue;
        };
        roles.push(term(common));
        for (name, t) in &mine {
            if *t != common {
                per_unit.push(format!("{name} {}", differs(common, t)));
            }
        }
    }
    parts.extend(roles);
    let _ = writeln!(out, "  {:<14} {}", truncate(&p.name, 14), parts.join("; "));
    if !per_unit.is_empty() {
        let _ = writeln!(
            out,
            "  {:<14} per unit: {}",
            "",
            truncate(&per_unit.join("; "), 100)
        );
    }
    if !overrides.is_empty() {
        let _ = writeln!(out, "  {:<14} role overrides: {}", "", overrides.join(", "));
    }
    if !p.description.is_empty() {
        let _ = writeln!(out, "  {:<14} {}", "", truncate(&p.description, 90));
    }
}

/// What the fade valuation assumes, before anything runs: each fade
/// unit's base growth at t = 0 and at every horizon (the schedule anchored
/// at t = 0), and A, its held value per unit of revenue at each horizon
/// (H = R x A: the value of carrying on with no policy investment).
fn fade_schedule(out: &mut String, s: &Scenario) {
    let fades: Vec<(usize, &crate::model::Unit, crate::model::Fade)> = s
        .units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| match u.valuation {
            Valuation::Fade(f) => Some((i, u, f)),
            Valuation::Multiple => None,
        })
        .collect();
    if fades.is_empty() {
        return;
    }
    let plan = crate::kernel::Plan::new(s);
    let drawn = fades.iter().any(|(_, u, _)| !u.uncertain.is_empty());
    let _ = writeln!(
        out,
        "\n  fade valuation: base growth from today to each horizon (it pays ((1 + g)^dt - 1) / s of capital a step), and A = value held / revenue at each horizon{}:",
        if drawn { " (drawn keys at their means)" } else { "" }
    );
    let mut header = format!("  {:<28} {:>7}", "unit", "g today");
    for h in &s.horizons {
        let _ = write!(header, " {:>8}", format!("g y{h}"));
    }
    for h in &s.horizons {
        let _ = write!(header, " {:>7}", format!("A y{h}"));
    }
    let _ = writeln!(out, "{header}");
    for (i, u, f) in fades.iter().take(24) {
        let g = |t: f64| {
            crate::kernel::valuation::unit_growth(u.growth, u.growth_fade.as_ref(), Some(f), t)
        };
        let mut line = format!("  {:<28} {:>7}", truncate(&u.name, 28), percent(g(0.0), 1));
        for &h in &s.horizons {
            let _ = write!(line, " {:>8}", percent(g(h as f64), 1));
        }
        for hi in 0..s.horizons.len() {
            let _ = write!(line, " {:>6.2}x", plan.held_multiple(hi, *i));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The terms most of `units` have (the first of the most frequent).
fn most_common<'a>(units: &[(&str, &'a Terms)]) -> Option<&'a Terms> {
    let count = |t: &Terms| units.iter().filter(|(_, u)| **u == *t).count();
    let mut best: Option<&Terms> = None;
    for (_, t) in units {
        if best.is_none_or(|b| count(t) > count(b)) {
            best = Some(t);
        }
    }
    best
}

fn gate(g: Option<crate::model::Gate>) -> String {
    match g {
        Some(g) => format!("gate {}x at {} y", g.min_revenue_multiple, g.year),
        None => "no gate".into(),
    }
}

/// A role's terms as the digest writes them.
fn term(t: &Terms) -> String {
    match t.role {
        Role::Core => format!("core {}", percent(t.intensity, 1)),
        Role::NonCore => match t.exit {
            Some(e) => format!(
                "non_core {} sold in {}-{} y at -{}",
                percent(t.intensity, 1),
                e.after,
                e.after + e.window,
                percent(e.discount, 1)
            ),
            None => format!("non_core {} kept", percent(t.intensity, 1)),
        },
        Role::Innovation => {
            let g = t
                .gate
                .map(|_| format!(", {}", gate(t.gate)))
                .unwrap_or_default();
            format!("innovation {}/yr for {} y{g}", t.budget, t.years)
        }
    }
}

/// What a unit's terms change from its role's common terms: "budget
/// 6/yr", "gate 1.15x at 2 y", "intensity 12.0%".
fn differs(common: &Terms, t: &Terms) -> String {
    let mut out = Vec::new();
    if t.intensity != common.intensity && t.role != Role::Innovation {
        out.push(format!("intensity {}", percent(t.intensity, 1)));
    }
    if t.exit != common.exit {
        out.push(match t.exit {
            Some(e) => format!(
                "sold in {}-{} y at -{}",
                e.after,
                e.after + e.window,
                percent(e.discount, 1)
            ),
            None => "kept".into(),
        });
    }
    if t.budget != common.budget {
        out.push(format!("budget {}/yr", t.budget));
    }
    if t.years != common.years {
        out.push(format!("{} y", t.years));
    }
    if t.gate != common.gate {
        out.push(gate(t.gate));
    }
    if out.is_empty() {
        out.push(term(t));
    }
    out.join(", ")
}

/// A drawn value as the digest shows it: money for revenue, percent for
/// rates, a plain number for the rest.
fn shown(param: Param, x: f64) -> String {
    match param {
        Param::Revenue => money(x),
        Param::MarginSpeed | Param::HalfSaturation => crate::format::num(x),
        _ => percent(x, 1),
    }
}

/// The uncertain assumptions: each distribution with its P5 / P50 / P95
/// (the table above shows their means).
fn drawn(out: &mut String, s: &Scenario) {
    let n: usize = s.units.iter().map(|u| u.uncertain.len()).sum();
    if n == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "  {n} assumptions drawn once per trial (the table shows their means):"
    );
    let _ = writeln!(
        out,
        "    {:<28} {:<26} {:<10} {:>8} {:>8} {:>8}",
        "unit", "key", "dist", "P5", "P50", "P95"
    );
    for u in &s.units {
        for x in &u.uncertain {
            let q = |p: f64| shown(x.param, x.dist.quantile(p));
            let _ = writeln!(
                out,
                "    {:<28} {:<26} {:<10} {:>8} {:>8} {:>8}",
                truncate(&u.name, 28),
                x.param.key(),
                x.dist.name(),
                q(0.05),
                q(0.5),
                q(0.95)
            );
        }
    }
    if !s.correlations.is_empty() {
        let pairs: Vec<String> = s
            .correlations
            .iter()
            .map(|c| {
                let l = |(u, p): (usize, Param)| format!("{}.{}", s.units[u].name, p.key());
                format!("{} ~ {} {}", l(c.a), l(c.b), c.rank)
            })
            .collect();
        let _ = writeln!(
            out,
            "  rank correlations (Gaussian copula, marginals as written): {}",
            truncate(&pairs.join("; "), 200)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_unit_terms_are_named() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let sc = crate::scenario::load(&path).unwrap();
        let text = super::render(&sc);
        assert!(
            text.contains("per unit: 1688 gate 1.15x at 2 y; Quark budget 6/yr"),
            "{text}"
        );
        assert!(!text.contains("per-unit terms"), "{text}");
        // One innovation entry per policy: the table's.
        let reset = text
            .lines()
            .find(|l| l.trim_start().starts_with("reset "))
            .unwrap();
        assert_eq!(reset.matches("innovation").count(), 1, "{reset}");
    }
}
