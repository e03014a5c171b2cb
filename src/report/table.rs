//! The headline table printed after a run.

use std::fmt::Write;

use super::Summary;
use crate::model::Scenario;

/// Formats money with thousands separators and sensible precision.
pub fn money(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let decimals = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// The table: per policy and horizon, value (mean, P5-P95), revenue, delta
/// vs the baseline and the probability of beating it.
pub fn render(scenario: &Scenario, summary: &Summary) -> String {
    let base = &scenario.policies[scenario.baseline].name;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} | {} trials | seed {} | {} | baseline: {}",
        summary.scenario, summary.trials, summary.seed, summary.currency, base
    );
    let pw = scenario
        .policies
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let header = format!(
        "{:<pw$}  {:>4}  {:>16}  {:>10}  {:>10}  {:>10}  {:>15}  {:>14}",
        "policy", "year", "value ±se", "P5", "P95", "revenue", "Δ vs base ±se", "P(beat) ±se"
    );
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
    for p in &scenario.policies {
        for &h in &scenario.horizons {
            let v = summary.row(&p.name, h, "value", None);
            let r = summary.row(&p.name, h, "revenue", None);
            let d = summary.row(&p.name, h, "delta_value", None);
            let with_se = |x: Option<&super::summary::Row>| {
                x.map(|x| format!("{} ±{}", money(x.mean), money(x.stderr)))
                    .unwrap_or_default()
            };
            let (delta, prob) = if p.name == *base {
                ("-".to_string(), "-".to_string())
            } else {
                let prob = summary
                    .prob_beats_baseline
                    .iter()
                    .find(|x| x.policy == p.name && x.horizon == h)
                    .map(|x| format!("{:.1}% ±{:.1}", 100.0 * x.p, 100.0 * x.stderr))
                    .unwrap_or_default();
                (with_se(d), prob)
            };
            let _ = writeln!(
                out,
                "{:<pw$}  {:>4}  {:>16}  {:>10}  {:>10}  {:>10}  {:>15}  {:>14}",
                p.name,
                h,
                with_se(v),
                v.map(|v| money(v.p5)).unwrap_or_default(),
                v.map(|v| money(v.p95)).unwrap_or_default(),
                r.map(|r| money(r.mean)).unwrap_or_default(),
                delta,
                prob,
            );
        }
    }
    let _ = writeln!(
        out,
        "value: present value of distributions plus war chest and held units' value ({}); Δ: same-trial difference vs {}; ±se: Monte Carlo standard error.",
        summary.currency, base
    );
    out
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_readable() {
        assert_eq!(money(1234567.8), "1,234,568");
        assert_eq!(money(-1234.0), "-1,234");
        assert_eq!(money(12.345), "12.3");
        assert_eq!(money(0.123), "0.12");
        assert_eq!(money(-0.001), "0.00");
    }
}
