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
use crate::report::markup::Block;
use crate::results::Summary;

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

/// The honest-results sentence.
fn honesty(o: &Outcome) -> String {
    let h = &o.honest;
    let gap = h.gap();
    let se = h.gap_stderr();
    let ratio = if se > 0.0 { gap.abs() / se } else { 0.0 };
    let base = format!(
        "In sample (the draws the search saw) the optimum scores {} ± {}; on independent draws (seed {}) it scores {} ± {} (± one standard error). Its gain over {}, paired on the same draws, is {} ± {} in sample and {} ± {} out of sample.",
        num(h.in_sample.value),
        num(h.in_sample.stderr),
        h.seed,
        num(h.out_of_sample.value),
        num(h.out_of_sample.stderr),
        o.problem.start.name,
        num(h.gain_in_sample.value),
        num(h.gain_in_sample.stderr),
        num(h.gain_out_of_sample.value),
        num(h.gain_out_of_sample.stderr)
    );
    let gain_ratio = if h.gain_gap_stderr() > 0.0 {
        h.gain_gap().abs() / h.gain_gap_stderr()
    } else {
        0.0
    };
    let ratio = ratio.max(if h.gain_gap() > 3.0 * h.gain_gap_stderr() {
        gain_ratio
    } else {
        0.0
    });
    if h.cursed() {
        format!(
            "{base} The gap, {} = {:.1} standard errors, is beyond 3: the optimizer's curse. The search fitted the noise of these draws; trust the out-of-sample figure, and run again with more trials before acting on the levers.",
            num(gap),
            ratio
        )
    } else {
        format!(
            "{base} The gap, {} = {:.1} standard errors (the gain's, {:.1}), is within what noise explains: no sign of the optimizer's curse.",
            num(gap),
            ratio,
            gain_ratio
        )
    }
}

/// The printed summary.
pub fn console_text(o: &Outcome) -> String {
    let p = &o.problem;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\noptimize: maximize {} by varying policy \"{}\" -> new policy \"{}\"",
        super::objective_words(o),
        p.start.name,
        p.name
    );
    let _ = writeln!(
        t,
        "  {} candidates scored in {} engine runs of {} trials ({:.1} s)",
        o.log.len(),
        o.batches,
        o.scenario.trials,
        o.search_seconds
    );
    let width = p
        .levers
        .iter()
        .map(|l| l.path.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        t,
        "  {:<width$}  {:>12}  {:>12}  bounds",
        "lever", "old", "optimized"
    );
    for (l, &x) in p.levers.iter().zip(&o.best.x) {
        let _ = writeln!(
            t,
            "  {:<width$}  {:>12}  {:>12}  [{}, {}]{}",
            l.path,
            trim(l.start),
            trim(x),
            trim(l.min),
            trim(l.max),
            if l.integer { " whole" } else { "" }
        );
    }
    let h = &o.honest;
    let _ = writeln!(
        t,
        "  objective in sample:     {} ± {}  (start policy: {} ± {})",
        num(h.in_sample.value),
        num(h.in_sample.stderr),
        num(h.start_in_sample.value),
        num(h.start_in_sample.stderr)
    );
    let _ = writeln!(
        t,
        "  objective out of sample: {} ± {}  (start policy: {}; seed {})",
        num(h.out_of_sample.value),
        num(h.out_of_sample.stderr),
        num(h.start_out_of_sample.value),
        h.seed
    );
    let _ = writeln!(
        t,
        "  gain over the start policy, paired: {} ± {} in sample, {} ± {} out of sample",
        num(h.gain_in_sample.value),
        num(h.gain_in_sample.stderr),
        num(h.gain_out_of_sample.value),
        num(h.gain_out_of_sample.stderr)
    );
    let se = h.gap_stderr();
    let _ = writeln!(
        t,
        "  gap in sample - out of sample: {} = {:.1} se (gain: {:.1} se): {}",
        num(h.gap()),
        if se > 0.0 { h.gap().abs() / se } else { 0.0 },
        if h.gain_gap_stderr() > 0.0 {
            h.gain_gap().abs() / h.gain_gap_stderr()
        } else {
            0.0
        },
        if h.cursed() {
            "OPTIMIZER'S CURSE: the in-sample figure is too good; trust the out-of-sample one and add trials"
        } else {
            "within noise"
        }
    );
    let base = &o.scenario.policies[o.scenario.baseline].name;
    for (c, &v) in p.constraints.iter().zip(&o.best.constraints) {
        let _ = writeln!(
            t,
            "  constraint {} {} {}: {}{}",
            c.measure.describe(p.years, base),
            c.bound.symbol(),
            trim(c.bound.value()),
            num(v),
            if binding(c.bound, v) {
                " (binding)"
            } else {
                ""
            }
        );
    }
    if let Some(f) = &o.frontier {
        let _ = writeln!(
            t,
            "  frontier: {} points of mean value against {} (frontier.csv)",
            f.points.len(),
            f.risk.describe(p.years, base)
        );
    }
    t
}

/// The optimizer's section of the report.
pub fn blocks(o: &Outcome, charts: bool) -> Vec<Block> {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
    let mut b = vec![Block::Heading(2, "Optimization".into())];
    let limits: Vec<String> = p
        .constraints
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.measure.describe(p.years, base),
                c.bound.symbol(),
                trim(c.bound.value())
            )
        })
        .collect();
    b.push(Block::Para(format!(
        "simulate optimize varied {} lever{} of policy \"{}\" to maximize {}{}. It scored {} candidates of {} trials each, in {} runs of the engine (each run scores a batch of candidates on one generation of the same draws). The optimum is policy \"{}\": optimized.toml holds it beside the scenario's policies, and `simulate optimized.toml` reproduces these figures. It is the best policy under these assumptions: every figure is about the model's simulated futures, whose spread holds the assumptions' stated uncertainty and nothing the scenario leaves out.",
        p.levers.len(),
        if p.levers.len() == 1 { "" } else { "s" },
        p.start.name,
        super::objective_words(o),
        if limits.is_empty() {
            String::new()
        } else {
            format!(", subject to {}", limits.join("; "))
        },
        o.log.len(),
        crate::format::number(o.scenario.trials as f64, 0),
        o.batches,
        p.name
    )));
    b.push(Block::Table {
        header: vec![
            "Lever".into(),
            "Bounds".into(),
            format!("Old ({})", p.start.name),
            format!("Optimized ({})", p.name),
        ],
        numeric_from: 2,
        rows: p
            .levers
            .iter()
            .zip(&o.best.x)
            .map(|(l, &x)| {
                vec![
                    l.path.clone(),
                    format!(
                        "{} to {}{}",
                        trim(l.min),
                        trim(l.max),
                        if l.integer { ", whole" } else { "" }
                    ),
                    trim(l.start),
                    trim(x),
                ]
            })
            .collect(),
    });
    b.push(figures_table(o));
    b.push(Block::Para(honesty(o)));
    if let Some(f) = &o.frontier {
        b.extend(frontier_blocks(o, f, charts));
    }
    if charts {
        b.push(Block::Heading(3, "How the search converged".into()));
        b.push(Block::Image {
            file: "convergence.png".into(),
            alt: "Convergence of the search".into(),
        });
        b.push(Block::Para(
            "Every candidate the search scored, in order: dots meet every constraint, crosses miss one; the line is the best objective among those that meet them all. Shaded bands separate the phases: the swarm explores the whole box, Nelder-Mead polishes the best, restarts check it from elsewhere, and whole-number levers are tried a step either way. Every candidate is in optimize.csv.".into(),
        ));
    }
    b
}

/// The report's table of the start policy and the optimum: the objective
/// in and out of sample, and every constraint's figure.
fn figures_table(o: &Outcome) -> Block {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
    let h = &o.honest;
    let mut rows = vec![
        vec![
            format!("Objective: {}, in sample", super::objective_words(o)),
            format!(
                "{} ± {}",
                num(h.start_in_sample.value),
                num(h.start_in_sample.stderr)
            ),
            format!("{} ± {}", num(h.in_sample.value), num(h.in_sample.stderr)),
        ],
        vec![
            format!("The same, out of sample (seed {})", h.seed),
            format!(
                "{} ± {}",
                num(h.start_out_of_sample.value),
                num(h.start_out_of_sample.stderr)
            ),
            format!(
                "{} ± {}",
                num(h.out_of_sample.value),
                num(h.out_of_sample.stderr)
            ),
        ],
    ];
    for (i, c) in p.constraints.iter().enumerate() {
        rows.push(vec![
            format!(
                "{} (limit {} {})",
                c.measure.describe(p.years, base),
                c.bound.symbol(),
                trim(c.bound.value())
            ),
            num(o.start.constraints[i]),
            format!(
                "{}{}",
                num(o.best.constraints[i]),
                if binding(c.bound, o.best.constraints[i]) {
                    " (binding)"
                } else {
                    ""
                }
            ),
        ]);
    }
    Block::Table {
        header: vec![
            "Figure".into(),
            format!("Start ({})", p.start.name),
            format!("Optimum ({})", p.name),
        ],
        numeric_from: 1,
        rows,
    }
}

/// The report's efficient frontier: its chart (with `charts`), what a
/// point is, and the table of points.
fn frontier_blocks(o: &Outcome, f: &super::frontier::Frontier, charts: bool) -> Vec<Block> {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
    let mut b = Vec::new();
    b.push(Block::Heading(3, "Efficient frontier".into()));
    if charts {
        b.push(Block::Image {
            file: "frontier.png".into(),
            alt: "Efficient frontier".into(),
        });
    }
    b.push(Block::Para(format!(
        "Each point is the best mean value at year {} when {} is limited as in the first column, under the same constraints, on the same draws: the best of every candidate scored (by the search above and by the frontier's own searches, which polish each point) that meets the limit. Down the table more risk is allowed, and the best mean never falls; the chart places the scenario's own policies on the same axes. The figures are in frontier.csv.",
        p.years,
        f.risk.describe(p.years, base)
    )));
    b.push(Block::Table {
        header: vec!["Limit".into(), f.risk.short(), "Mean value".into()],
        numeric_from: 0,
        rows: f
            .points
            .iter()
            .map(|pt| {
                vec![
                    pt.limit
                        .map(|l| {
                            format!(
                                "{} {}",
                                if f.risk.higher_is_better() {
                                    ">="
                                } else {
                                    "<="
                                },
                                num(l)
                            )
                        })
                        .unwrap_or_else(|| "none".into()),
                    num(pt.risk),
                    num(pt.mean),
                ]
            })
            .collect(),
    });
    b
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
