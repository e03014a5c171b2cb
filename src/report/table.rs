//! The headline table printed after a run.

use std::fmt::Write;

use crate::format::{money, tail_label};
use crate::model::Scenario;
use crate::results::Summary;

/// The table: per policy and horizon, value (mean, P5-P95, tail risk),
/// revenue, the gain over the baseline (mean, its VaR and CVaR) and the
/// probability of beating it; then what the columns mean and the headline
/// sentences. Columns are as wide as their widest cell.
pub fn render(scenario: &Scenario, summary: &Summary) -> String {
    let base = &scenario.policies[scenario.baseline].name;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} | {} trials | seed {} | {} | baseline: {}",
        summary.scenario, summary.trials, summary.seed, summary.currency, base
    );
    let t = tail_label(summary.tail);
    // The VaR of value is P5 at the default tail; another tail adds it.
    let show_var = summary.tail != crate::results::summary::DEFAULT_TAIL;
    let mut header = vec!["policy", "year", "value ±se", "P5", "P95"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    if show_var {
        header.push(format!("VaR{t}"));
    }
    header.extend([
        format!("CVaR{t}"),
        "revenue".into(),
        "Δ vs base ±se".into(),
        format!("Δ VaR{t}"),
        format!("Δ CVaR{t}"),
        "P(beat) ±se".into(),
    ]);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &scenario.policies {
        for &h in &scenario.horizons {
            let v = summary.row(&p.name, h, "value", None);
            let r = summary.row(&p.name, h, "revenue", None);
            let d = summary.row(&p.name, h, "delta_value", None);
            let with_se = |x: Option<&crate::results::summary::Row>| {
                x.map(|x| format!("{} ±{}", money(x.mean), money(x.stderr)))
                    .unwrap_or_default()
            };
            let fig = |x: Option<&crate::results::summary::Row>,
                       f: fn(&crate::results::summary::Row) -> f64| {
                x.map(|x| money(f(x))).unwrap_or_default()
            };
            let mut cells = vec![
                p.name.clone(),
                h.to_string(),
                with_se(v),
                fig(v, |x| x.p5),
                fig(v, |x| x.p95),
            ];
            if show_var {
                cells.push(fig(v, |x| x.var));
            }
            cells.extend([fig(v, |x| x.cvar), fig(r, |x| x.mean)]);
            if p.name == *base {
                cells.extend(["-", "-", "-", "-"].map(String::from));
            } else {
                let prob = summary
                    .prob_beats_baseline
                    .iter()
                    .find(|x| x.policy == p.name && x.horizon == h)
                    .map(|x| format!("{:.1}% ±{:.1}", 100.0 * x.p, 100.0 * x.stderr))
                    .unwrap_or_default();
                cells.extend([with_se(d), fig(d, |x| x.var), fig(d, |x| x.cvar), prob]);
            }
            rows.push(cells);
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (c, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
            if c == 0 {
                let _ = write!(l, "{cell:<w$}");
            } else {
                let _ = write!(l, "  {cell:>w$}");
            }
        }
        l
    };
    let header_line = line(&header);
    let _ = writeln!(out, "{header_line}");
    let _ = writeln!(out, "{}", "-".repeat(header_line.chars().count()));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    let _ = writeln!(
        out,
        "value: present value of distributions plus war chest and held units' value ({}); Δ: same-trial difference vs {}; ±se: Monte Carlo standard error.",
        summary.currency, base
    );
    let _ = writeln!(
        out,
        "VaR{t}: the level the worst {t}% of trials fall below (P{t}); CVaR{t}: the mean of those worst {t}% of trials."
    );
    out.push('\n');
    for s in &summary.headline {
        let _ = writeln!(out, "{}", s.text);
    }
    out
}
