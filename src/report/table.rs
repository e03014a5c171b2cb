//! The headline table printed after a run.

use std::fmt::Write;

use crate::format::{money, tail_label};
use crate::model::Scenario;
use crate::results::Summary;

/// Separates a figure from its standard error inside a cell until the
/// cells of a column are aligned (see [`align_se`]).
const SE: char = '\u{1f}';

/// A probability with its standard error: "62.4% ±0.5", "0.30% ±0.04",
/// "<0.1% ±0.01", "100% ±0"; the error gets the decimals that show its
/// first significant digit (at most three) and the share the same decimals
/// (never "0.3% ±0.0", never "88% ±0.1"); shares below 0.1% or above
/// 99.9% are written as [`crate::format::share`] writes them.
pub fn prob_cell(p: f64, stderr: f64) -> String {
    let se = 100.0 * stderr;
    let d = if se <= 0.0 || !se.is_finite() {
        0
    } else {
        ((-se.log10()).ceil().max(0.0) as usize).clamp(1, 3)
    };
    let se_text = if se > 0.0 && se < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{se:.d$}")
    };
    // The share to as many decimals as its error shows ("87.6% ±0.1",
    // not "88% ±0.1"), except where it says "<0.1%", ">99.9%", 0 or 100%.
    let share = if (0.001..=0.999).contains(&p) && d > 0 {
        format!("{:.d$}%", 100.0 * p)
    } else {
        crate::format::share(p)
    };
    format!("{share}{SE}{se_text}")
}

/// Aligns "figure ±error" cells on their "±": in each column, the figures
/// are right-aligned to the widest figure and the errors left-aligned to
/// the widest error, so that large values do not push the columns out of
/// line.
fn align_se(rows: &mut [Vec<String>]) {
    let cols = rows.first().map_or(0, Vec::len);
    for c in 0..cols {
        let parts: Vec<Option<(usize, usize)>> = rows
            .iter()
            .map(|r| {
                r[c].split_once(SE)
                    .map(|(a, b)| (a.chars().count(), b.chars().count()))
            })
            .collect();
        let wa = parts.iter().flatten().map(|p| p.0).max().unwrap_or(0);
        let wb = parts.iter().flatten().map(|p| p.1).max().unwrap_or(0);
        for r in rows.iter_mut() {
            if let Some((a, b)) = r[c].split_once(SE) {
                r[c] = format!("{a:>wa$} ±{b:<wb$}");
            }
        }
    }
}

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
    let show_var = summary.tail != crate::results::figures::DEFAULT_TAIL;
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
            let with_se = |x: Option<&crate::results::figures::Row>| {
                x.map(|x| format!("{}{SE}{}", money(x.mean), money(x.stderr)))
                    .unwrap_or_default()
            };
            let fig = |x: Option<&crate::results::figures::Row>,
                       f: fn(&crate::results::figures::Row) -> f64| {
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
                    .map(|x| prob_cell(x.p, x.stderr))
                    .unwrap_or_default();
                cells.extend([with_se(d), fig(d, |x| x.var), fig(d, |x| x.cvar), prob]);
            }
            rows.push(cells);
        }
    }
    align_se(&mut rows);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(cell: String) -> String {
        let mut rows = vec![vec![cell]];
        align_se(&mut rows);
        rows.remove(0).remove(0)
    }

    #[test]
    fn probabilities_keep_their_error_visible() {
        assert_eq!(shown(prob_cell(0.003, 0.00017)), "0.30% ±0.02");
        assert_eq!(shown(prob_cell(0.0004, 0.00006)), "<0.1% ±0.006");
        assert_eq!(shown(prob_cell(0.624, 0.0048)), "62.4% ±0.5");
        assert_eq!(shown(prob_cell(0.876, 0.001)), "87.6% ±0.1");
        assert_eq!(shown(prob_cell(1.0, 0.0)), "100% ±0");
        assert!(!shown(prob_cell(0.003, 0.00001)).contains("±0.0 "));
    }

    #[test]
    fn figures_and_errors_line_up_in_a_column() {
        let mut rows = vec![
            vec![format!("2,133{SE}1.2")],
            vec![format!("1,234,567{SE}10.5")],
            vec!["-".to_string()],
        ];
        align_se(&mut rows);
        let pos: Vec<usize> = rows[..2].iter().map(|r| r[0].find('±').unwrap()).collect();
        assert_eq!(pos[0], pos[1], "{rows:?}");
        assert_eq!(rows[0][0].chars().count(), rows[1][0].chars().count());
    }
}
