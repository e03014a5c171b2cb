//! What `simulate optimize` writes and prints: `optimized.toml`, then the
//! full run of it (summary, charts, workbook, report, exactly as
//! `simulate optimized.toml` writes them) with the optimizer's own files
//! beside it (`optimize.csv`, `frontier.csv`, `optimum.json`,
//! `frontier.png`, `convergence.png`) and its section of the report, and a
//! printed summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::config::{trim, Bound, Measure};
use super::search::{Eval, Phase};
use super::Outcome;
use crate::error::{Error, Result};
use crate::format::csv_field;
use crate::report::charts::frontier::{ConvergenceFigure, FrontierFigure, Kind};
use crate::results::Summary;

mod words;
pub use words::{blocks, console_text};

/// A figure as messages print it: money-like to one decimal from 100 up,
/// otherwise four significant digits.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x.abs() >= 100.0 {
        crate::format::number(x, 1)
    } else if x == 0.0 {
        "0".into()
    } else {
        let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 10) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// A CSV number (the shortest text that reads back as the same f64).
fn cnum(x: f64) -> String {
    crate::format::num(x)
}

/// `optimize.csv`: every candidate scored, in order.
pub fn evaluations_csv(o: &Outcome) -> String {
    let p = &o.problem;
    let mut out = String::from("evaluation,phase,batch");
    for l in &p.levers {
        let _ = write!(out, ",{}", csv_field(&l.path));
    }
    let _ = write!(out, ",objective_{}", p.objective.key());
    for c in &p.constraints {
        let _ = write!(out, ",{}", csv_field(&constraint_label(c.measure, c.bound)));
    }
    out.push_str(",violation,feasible\n");
    for (i, e) in o.log.iter().enumerate() {
        let _ = write!(out, "{},{},{}", i + 1, e.phase.name(), e.batch + 1);
        for x in &e.x {
            let _ = write!(out, ",{}", cnum(*x));
        }
        let _ = write!(out, ",{}", cnum(e.objective));
        for v in &e.constraints {
            let _ = write!(out, ",{}", cnum(*v));
        }
        let _ = writeln!(out, ",{},{}", cnum(e.violation), e.feasible);
    }
    out
}

fn constraint_label(m: Measure, b: Bound) -> String {
    let op = match b {
        Bound::AtLeast(_) => "min",
        Bound::AtMost(_) => "max",
    };
    format!("{}_{op}_{}", m.key(), trim(b.value()))
}

/// `frontier.csv`: the frontier's points, then the policies placed on the
/// same axes.
pub fn frontier_csv(o: &Outcome) -> Option<String> {
    let f = o.frontier.as_ref()?;
    let p = &o.problem;
    let mut out = format!("kind,name,limit,{},mean", f.risk.key());
    for l in &p.levers {
        let _ = write!(out, ",{}", csv_field(&l.path));
    }
    out.push_str(",evaluations\n");
    for (i, pt) in f.points.iter().enumerate() {
        let _ = write!(
            out,
            "frontier,point {},{},{},{}",
            i + 1,
            pt.limit.map(cnum).unwrap_or_default(),
            cnum(pt.risk),
            cnum(pt.mean)
        );
        for x in &pt.x {
            let _ = write!(out, ",{}", cnum(*x));
        }
        let _ = writeln!(out, ",{}", pt.evaluations);
    }
    for pl in &f.placed {
        let _ = write!(
            out,
            "policy,{},,{},{}",
            csv_field(&pl.name),
            cnum(pl.risk),
            cnum(pl.mean)
        );
        for _ in &p.levers {
            out.push(',');
        }
        out.push_str(",\n");
    }
    Some(out)
}

#[derive(Serialize)]
struct JsonEstimate {
    value: f64,
    stderr: f64,
}

#[derive(Serialize)]
struct JsonLever<'a> {
    path: &'a str,
    min: f64,
    max: f64,
    integer: bool,
    old: f64,
    new: f64,
}

#[derive(Serialize)]
struct JsonConstraint {
    measure: String,
    bound: &'static str,
    limit: f64,
    value: f64,
    binding: bool,
}

#[derive(Serialize)]
struct JsonOptimum<'a> {
    policy: &'a str,
    new_policy: &'a str,
    horizon: u32,
    objective: String,
    trials: u64,
    seed: u64,
    in_sample: JsonEstimate,
    out_of_sample: JsonEstimate,
    out_of_sample_seed: u64,
    start_in_sample: JsonEstimate,
    start_out_of_sample: JsonEstimate,
    gain_in_sample: JsonEstimate,
    gain_out_of_sample: JsonEstimate,
    gap: f64,
    gap_stderr: f64,
    optimizers_curse: bool,
    mean: f64,
    stdev: f64,
    stderr: f64,
    prob_beats_baseline: Option<f64>,
    levers: Vec<JsonLever<'a>>,
    constraints: Vec<JsonConstraint>,
    evaluations: usize,
    engine_runs: usize,
    search_seconds: f64,
}

/// Whether a constraint holds with (almost) no room: within 1% of its
/// limit's size.
pub fn binding(b: Bound, v: f64) -> bool {
    (v - b.value()).abs() <= 0.01 * b.value().abs().max(1e-9)
}

/// `optimum.json`: the optimum and its honest figures, for programs.
pub fn optimum_json(o: &Outcome) -> String {
    let p = &o.problem;
    let h = &o.honest;
    let est = |e: &super::Estimate| JsonEstimate {
        value: e.value,
        stderr: e.stderr,
    };
    let j = JsonOptimum {
        policy: &p.start.name,
        new_policy: &p.name,
        horizon: p.years,
        objective: p.objective.key(),
        trials: o.scenario.trials,
        seed: o.scenario.seed,
        in_sample: est(&h.in_sample),
        out_of_sample: est(&h.out_of_sample),
        out_of_sample_seed: h.seed,
        start_in_sample: est(&h.start_in_sample),
        start_out_of_sample: est(&h.start_out_of_sample),
        gain_in_sample: est(&h.gain_in_sample),
        gain_out_of_sample: est(&h.gain_out_of_sample),
        gap: h.gap(),
        gap_stderr: h.gap_stderr(),
        optimizers_curse: h.cursed(),
        mean: o.figures.mean,
        stdev: o.figures.stdev,
        stderr: o.figures.stderr,
        prob_beats_baseline: o.figures.prob_beats_baseline,
        levers: p
            .levers
            .iter()
            .zip(&o.best.x)
            .map(|(l, &x)| JsonLever {
                path: &l.path,
                min: l.min,
                max: l.max,
                integer: l.integer,
                old: l.start,
                new: x,
            })
            .collect(),
        constraints: p
            .constraints
            .iter()
            .zip(&o.best.constraints)
            .map(|(c, &v)| JsonConstraint {
                measure: c.measure.key(),
                bound: match c.bound {
                    Bound::AtLeast(_) => "min",
                    Bound::AtMost(_) => "max",
                },
                limit: c.bound.value(),
                value: v,
                binding: binding(c.bound, v),
            })
            .collect(),
        evaluations: o.log.len(),
        engine_runs: o.batches,
        search_seconds: o.search_seconds,
    };
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
    s.push('\n');
    s
}

fn phases(log: &[Eval]) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut last: Option<Phase> = None;
    for (i, e) in log.iter().enumerate() {
        let k = i + 1;
        if last == Some(e.phase) {
            if let Some(p) = out.last_mut() {
                p.2 = k;
            }
        } else {
            out.push((e.phase.name().replace('_', " "), k, k));
            last = Some(e.phase);
        }
    }
    out
}

fn subtitle(o: &Outcome) -> String {
    format!(
        "{} · {} trials, seed {} · {} · year {}",
        o.scenario.name,
        crate::format::number(o.scenario.trials as f64, 0),
        o.scenario.seed,
        o.scenario.currency,
        o.problem.years
    )
}

/// The figures of the two charts.
pub fn figures(o: &Outcome) -> (Option<FrontierFigure>, ConvergenceFigure) {
    let p = &o.problem;
    let frontier = o.frontier.as_ref().map(|f| FrontierFigure {
        title: format!(
            "Efficient frontier: the best mean value for each limit on {}",
            f.risk.short()
        ),
        subtitle: subtitle(o),
        x_desc: format!(
            "{} of value at year {} ({})",
            f.risk.short(),
            p.years,
            o.scenario.currency
        ),
        y_desc: format!("Mean value at year {} ({})", p.years, o.scenario.currency),
        points: f.points.iter().map(|pt| (pt.risk, pt.mean)).collect(),
        placed: f
            .placed
            .iter()
            .map(|pl| {
                let kind = if pl.name == p.name {
                    Kind::Optimum
                } else if pl.name == p.start.name {
                    Kind::Start
                } else {
                    Kind::Policy
                };
                (pl.name.clone(), pl.risk, pl.mean, kind)
            })
            .collect(),
        risk_label: f.risk.short(),
        notes: vec![if f.risk.higher_is_better() {
            "Right is safer (a higher floor); up is more value.".into()
        } else {
            "Left is safer (less spread); up is more value.".into()
        }],
    });
    let mut best: Vec<(usize, f64)> = Vec::new();
    let mut cur: Option<f64> = None;
    for (i, e) in o.log.iter().enumerate() {
        if e.feasible && cur.is_none_or(|c| e.objective > c) {
            cur = Some(e.objective);
            best.push((i + 1, e.objective));
        }
    }
    let conv = ConvergenceFigure {
        title: format!("How the search converged: {}", super::objective_words(o)),
        subtitle: format!(
            "{} · {} candidates in {} engine runs",
            subtitle(o),
            o.log.len(),
            o.batches
        ),
        y_desc: capital(&super::objective_words(o)),
        evals: o
            .log
            .iter()
            .enumerate()
            .map(|(i, e)| (i + 1, e.objective, e.feasible))
            .collect(),
        best,
        phases: phases(&o.log),
        start: Some(o.start.objective),
        notes: vec![format!(
            "The optimum: {} in sample, {} out of sample.",
            num(o.honest.in_sample.value),
            num(o.honest.out_of_sample.value)
        )],
    };
    (frontier, conv)
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Checks that the summary of the full run reports the optimizer's
/// in-sample figures for the new policy, bit for bit.
pub fn check_reproduced(o: &Outcome, summary: &Summary) -> Result<()> {
    let p = &o.problem;
    let fail = |what: &str| {
        Error::Usage(format!(
            "internal error: the run of optimized.toml does not reproduce the optimizer's {what}; please report it"
        ))
    };
    let row = summary
        .row(&p.name, p.years, "value", None)
        .ok_or_else(|| fail("policy"))?;
    let f = &o.figures;
    if row.mean.to_bits() != f.mean.to_bits()
        || row.stdev.to_bits() != f.stdev.to_bits()
        || row.stderr.to_bits() != f.stderr.to_bits()
    {
        return Err(fail("mean value"));
    }
    if let Some(pb) = f.prob_beats_baseline {
        if summary.prob(&p.name, p.years).map(f64::to_bits) != Some(pb.to_bits()) {
            return Err(fail("probability of beating the baseline"));
        }
    }
    Ok(())
}
