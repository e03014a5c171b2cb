//! The optimizer's words: the printed summary and its section of the
//! report (what it varied, the optimum against the start, how far the
//! in-sample figures can be trusted, the frontier's table).

use std::fmt::Write as _;

use super::super::config::trim;
use super::super::Outcome;
use super::{binding, num};
use crate::report::markup::Block;

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
        super::super::objective_words(o),
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
    let mut b = vec![Block::Heading(2, "Optimization".into()), intro(o)];
    b.push(levers_table(o));
    b.push(figures_table(o));
    b.push(Block::Para(honesty(o)));
    frontier_blocks(o, charts, &mut b);
    if charts {
        convergence_blocks(&mut b);
    }
    b
}

/// What was varied, for what, under which limits, at what cost.
fn intro(o: &Outcome) -> Block {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
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
    Block::Para(format!(
        "simulate optimize varied {} lever{} of policy \"{}\" to maximize {}{}. It scored {} candidates of {} trials each, in {} runs of the engine (each run scores a batch of candidates on one generation of the same draws). The optimum is policy \"{}\": optimized.toml holds it beside the scenario's policies, and `simulate optimized.toml` reproduces these figures. It is the best policy under these assumptions: every figure is about the model's simulated futures, whose spread holds the assumptions' stated uncertainty and nothing the scenario leaves out.",
        p.levers.len(),
        if p.levers.len() == 1 { "" } else { "s" },
        p.start.name,
        super::super::objective_words(o),
        if limits.is_empty() {
            String::new()
        } else {
            format!(", subject to {}", limits.join("; "))
        },
        o.log.len(),
        crate::format::number(o.scenario.trials as f64, 0),
        o.batches,
        p.name
    ))
}

/// Each lever: its bounds, the start's value and the optimum's.
fn levers_table(o: &Outcome) -> Block {
    let p = &o.problem;
    Block::Table {
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
    }
}

/// The objective in and out of sample and each constraint, start against
/// optimum.
fn figures_table(o: &Outcome) -> Block {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
    let h = &o.honest;
    let mut rows = vec![
        vec![
            format!("Objective: {}, in sample", super::super::objective_words(o)),
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

/// The frontier's heading, chart and table, when the run has one.
fn frontier_blocks(o: &Outcome, charts: bool, b: &mut Vec<Block>) {
    let p = &o.problem;
    let base = &o.scenario.policies[o.scenario.baseline].name;
    if let Some(f) = &o.frontier {
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
    }
}

/// The convergence chart and how to read it.
fn convergence_blocks(b: &mut Vec<Block>) {
    b.push(Block::Heading(3, "How the search converged".into()));
    b.push(Block::Image {
        file: "convergence.png".into(),
        alt: "Convergence of the search".into(),
    });
    b.push(Block::Para(
            "Every candidate the search scored, in order: dots meet every constraint, crosses miss one; the line is the best objective among those that meet them all. Shaded bands separate the phases: the swarm explores the whole box, Nelder-Mead polishes the best, restarts check it from elsewhere, and whole-number levers are tried a step either way. Every candidate is in optimize.csv.".into(),
        ));
}
