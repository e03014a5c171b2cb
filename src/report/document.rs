//! `report.md` and `report.html`: the headline table and every chart with a
//! sentence on how to read it, for people who will not open summary.json.
//!
//! The document is built once as a list of blocks (`markup`) and rendered
//! twice, so the two files always say the same thing. The HTML is
//! self-contained (inline style, no scripts) and references the PNGs beside
//! it.

use super::charts::Figure;
use super::Input;
use crate::format::{money, number, signed_money, tail_label, trim_num, values_format};
use crate::model::Metric;
use crate::results::Studies;

pub use super::markup::{Block, Document};

impl Document {
    /// The report of a run; `figures` are the charts drawn (empty when
    /// charts were skipped).
    pub fn new(input: &Input, figures: &[Figure]) -> Document {
        let sc = input.scenario;
        let s = input.summary;
        let base = input.policy(input.baseline()).to_string();
        let years: Vec<String> = sc.horizons.iter().map(|h| h.to_string()).collect();
        let mut blocks = vec![Block::Para(format!(
            "{} trials, seed {}; money in {}, present values discounted at {}% a year; horizons: year {}; baseline policy: {}.",
            number(s.trials as f64, 0),
            s.seed,
            s.currency,
            trim_num(100.0 * sc.discount_rate),
            years.join(", "),
            base
        ))];
        if !s.headline.is_empty() {
            blocks.push(Block::Heading(2, "At a glance".into()));
            blocks.push(Block::List(
                s.headline.iter().map(|h| h.text.clone()).collect(),
            ));
        }
        blocks.push(Block::Heading(2, "Policies".into()));
        blocks.push(Block::List(
            sc.policies
                .iter()
                .map(|p| {
                    if p.description.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{}: {}", p.name, p.description)
                    }
                })
                .collect(),
        ));
        blocks.push(Block::Heading(2, "Headline".into()));
        blocks.push(headline(input));
        blocks.push(Block::Para(format!(
            "Value: present value at the horizon of distributions to the group plus the war chest and the held units' value, in {}. P5/P50/P95: 5th, 50th and 95th percentiles over trials. CVaR{t}: the mean of the worst {t}% of trials (VaR{t}, the level they fall below, is P{t}). Δ: mean same-trial difference from {base}, with its VaR{t} and CVaR{t}; P(beat): share of trials in which the policy's value exceeds {base}'s.",
            s.currency,
            t = tail_label(s.tail)
        )));
        blocks.extend(input.sections.iter().cloned());
        blocks.extend(super::uncertainty::report_blocks(input));
        if let Some(st) = input.studies {
            if let Some(f) = &st.funding {
                blocks.extend(super::funding::report_blocks(f));
            }
            blocks.extend(studies(input, st));
        }
        blocks.push(Block::Heading(2, "Charts".into()));
        if figures.is_empty() {
            blocks.push(Block::Para(
                "Charts were not drawn for this run (--no-charts); run again without that flag to get them.".into(),
            ));
        }
        for f in figures {
            // The chart draws its own title: the page names the file, not
            // the title a second time above the picture.
            blocks.push(Block::Heading(3, f.file.clone()));
            blocks.push(Block::Image {
                file: f.file.clone(),
                alt: f.title.clone(),
            });
            blocks.push(Block::Para(f.how_to_read.clone()));
        }
        Document {
            title: s.scenario.clone(),
            blocks,
        }
    }
}

/// A change of the mean gain, or "skipped" for a step that did not run.
fn change(x: f64) -> String {
    if x.is_nan() {
        "skipped".to_string()
    } else {
        crate::format::signed(x)
    }
}

/// What the sweep and sensitivity studies ran and where their figures are.
fn studies(input: &Input, st: &Studies) -> Vec<Block> {
    let mut items = Vec::new();
    let years = input.years(input.last());
    if st.has_sweep() {
        let what: Vec<String> = st
            .sweeps
            .iter()
            .map(|s| {
                let f = values_format(&s.values);
                let v: Vec<String> = s.values.iter().map(&f).collect();
                format!("{} = {}", s.path, v.join(", "))
            })
            .collect();
        items.push(format!(
            "Sweep: {} ({} runs on the same random draws as the base run); value P5/P50/P95, the paired gain over the baseline (mean, its 95% band, median) and the chance of beating it per point, policy and horizon in sweep.csv.",
            what.join(" × "),
            st.points.len()
        ));
    }
    if st.has_sensitivity() {
        let base = input.policy(input.baseline());
        let inputs = st
            .sensitivity
            .iter()
            .filter(|r| r.policy == input.policy(input.studied()))
            .count();
        items.push(format!(
            "Sensitivity of the decision: {inputs} inputs (every unit's assumptions, every policy's levers, the discount rate) moved down and up one at a time ({}), on the same random draws; each policy's mean gain over {base} and its chance of beating it at year {years}, per input, in sensitivity.csv, ranked by how far the mean gain moves.",
            st.sensitivity_steps.describe()
        ));
        for p in &input.scenario.policies {
            let rows: Vec<&crate::results::Sensitivity> = st
                .sensitivity
                .iter()
                .filter(|r| r.policy == p.name)
                .take_while(|r| r.estimated.is_none())
                .filter(|r| r.swing() > 0.0)
                .take(5)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let top: Vec<String> = rows
                .iter()
                .map(|r| {
                    let beat = |p: f64| {
                        if p.is_nan() {
                            "skipped".to_string()
                        } else {
                            crate::format::share(p)
                        }
                    };
                    format!(
                        "{} ({} / {}: {} / {}, P(beat) {} / {})",
                        r.label(),
                        r.show(r.low),
                        r.show(r.high),
                        change(r.gain_low - r.gain_base),
                        change(r.gain_high - r.gain_base),
                        beat(r.beat_low),
                        beat(r.beat_high)
                    )
                })
                .collect();
            items.push(format!(
                "What moves the mean gain of {} over {base} most ({} change at the input low / high, and the chance of beating {base} there; base run: {}, {}): {}.",
                p.name,
                input.currency(),
                crate::format::signed(rows[0].gain_base),
                crate::format::share(rows[0].beat_base),
                top.join("; ")
            ));
        }
        let skipped = st
            .sensitivity
            .iter()
            .filter(|r| {
                r.policy == input.policy(input.studied()) && (r.low.is_nan() || r.high.is_nan())
            })
            .count();
        let screened: Vec<&crate::results::Sensitivity> = st
            .sensitivity
            .iter()
            .filter(|r| r.policy == input.policy(input.studied()) && r.estimated.is_some())
            .collect();
        if let (Some(top), false) = (st.sensitivity_top, screened.is_empty()) {
            items.push(format!(
                "Screened for the top {top} (--sensitivity-top): {} of the {inputs} inputs ran every trial and have the exact figures; the other {} stopped after their first trials (at least {} of {}), where they could no longer reach the top {top}, and sensitivity.csv gives their estimates, with how far each may be off in its note.",
                inputs - screened.len(),
                screened.len(),
                screened
                    .iter()
                    .filter_map(|r| r.estimated.map(|e| e.trials))
                    .min()
                    .unwrap_or(0),
                input.summary.trials,
            ));
        }
        if skipped > 0 {
            items.push(format!(
                "{skipped} input{} had a step the scenario refuses (a margin above 100%, a terminal growth at the discount rate); such a step is skipped, not clamped, and the note column of sensitivity.csv says which and why.",
                if skipped == 1 { "" } else { "s" },
            ));
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    vec![Block::Heading(2, "Studies".into()), Block::List(items)]
}

/// The headline table: per policy and horizon, value, revenue and the
/// comparison with the baseline (the figures of summary.json).
fn headline(input: &Input) -> Block {
    let base = input.baseline();
    let t = tail_label(input.summary.tail);
    let header = [
        "policy",
        "year",
        "value (mean)",
        "± s.e.",
        "P5",
        "P50",
        "P95",
        &format!("CVaR{t}"),
        "revenue (mean)",
        "Δ vs baseline",
        &format!("Δ VaR{t}"),
        &format!("Δ CVaR{t}"),
        "P(beat)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for (p, policy) in input.scenario.policies.iter().enumerate() {
        for (h, &years) in input.scenario.horizons.iter().enumerate() {
            let v = input.stats(p, h, Metric::Value);
            let r = input.stats(p, h, Metric::Revenue);
            let row = |m: &str| input.summary.row(&policy.name, years, m, None);
            let cvar = row("value").map_or("-".into(), |r| money(r.cvar));
            let (d_var, d_cvar) = match row("delta_value") {
                Some(r) if p != base => (signed_money(r.var), signed_money(r.cvar)),
                _ => ("-".to_string(), "-".to_string()),
            };
            let (delta, prob) = if p == base {
                ("-".to_string(), "-".to_string())
            } else {
                let d = input.stats(p, h, Metric::DeltaValue);
                let pr = input
                    .summary
                    .prob(&policy.name, years)
                    .map(|x| format!("{:.1}%", 100.0 * x))
                    .unwrap_or_else(|| "-".into());
                (signed_money(d.mean), pr)
            };
            let name = if p == base {
                format!("{} (baseline)", policy.name)
            } else {
                policy.name.clone()
            };
            rows.push(vec![
                name,
                years.to_string(),
                money(v.mean),
                money(v.stderr),
                money(v.quantiles[0]),
                money(v.quantiles[2]),
                money(v.quantiles[4]),
                cvar,
                money(r.mean),
                delta,
                d_var,
                d_cvar,
                prob,
            ]);
        }
    }
    Block::Table {
        header,
        numeric_from: 1,
        rows,
    }
}
