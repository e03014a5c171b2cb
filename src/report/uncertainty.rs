//! The uncertainty view as a reader sees it: a few lines after the table
//! and the report's section "Which uncertainty matters" (its chart is
//! `charts::uncertainty`, its figures uncertainty.csv).

use super::markup::Block;
use super::Input;
use crate::format::{money, percent, signed_money};
use crate::results::uncertainty::{panels, Outcome, Panel};

/// Rows a table of the report shows per outcome.
const REPORT_ROWS: usize = 10;
/// Assumptions named on the terminal.
const TERMINAL_ROWS: usize = 3;

/// "International Digital Commerce growth (pert)".
fn assumption(r: &crate::results::uncertainty::Contribution) -> String {
    format!("{} {} ({})", r.unit, r.key, r.dist)
}

/// What the panel is about, in words.
fn about(input: &Input, p: &Panel) -> String {
    match p.outcome {
        Outcome::Gain => format!(
            "{}'s gain over {} at year {}",
            p.policy,
            input.policy(input.baseline()),
            p.horizon
        ),
        Outcome::Value => format!("{}'s value at year {}", p.policy, p.horizon),
    }
}

/// The lines printed after the table: per gain (or, with one policy, per
/// value), the assumptions that explain most of its variance.
pub fn terminal(input: &Input) -> Option<String> {
    let all = panels(input.scenario, input.layout, input.acc)?;
    let gains: Vec<&Panel> = all.iter().filter(|p| p.outcome == Outcome::Gain).collect();
    let chosen: Vec<&Panel> = if gains.is_empty() {
        all.iter().collect()
    } else {
        gains
    };
    let mut out =
        String::from("\nWhich uncertain assumption matters most (share of variance explained):\n");
    for p in chosen {
        let top: Vec<String> = p
            .rows
            .iter()
            .take(TERMINAL_ROWS)
            .map(|r| format!("{} {}", assumption(r), percent(r.share, 0)))
            .collect();
        out.push_str(&format!("  {}: {}\n", about(input, p), top.join(", ")));
    }
    if !input.scenario.correlations.is_empty() {
        out.push_str(
            "  (some assumptions are correlated: their shares overlap and do not add up)\n",
        );
    }
    out.push_str("  (uncertainty.csv has every assumption, policy and outcome)\n");
    Some(out)
}

/// The report's section.
pub fn report_blocks(input: &Input) -> Vec<Block> {
    let Some(all) = panels(input.scenario, input.layout, input.acc) else {
        return Vec::new();
    };
    let mut blocks = vec![
        Block::Heading(2, "Which uncertainty matters".into()),
        Block::Para(format!(
            "{} assumptions of this scenario are distributions, drawn once per trial and the same for every policy. For each outcome below, an assumption's share is the part of the outcome's variance across trials it explains: its squared correlation with the outcome (for assumptions drawn independently of one another, its squared standardized regression coefficient). The effect is how much the mean outcome moves per standard deviation of the assumption. Research the assumptions with the largest shares before deciding; the part no assumption explains is path randomness (volatility, jumps, exit timing) and interactions.",
            input.layout.drawn.len()
        )),
    ];
    let correlated = !input.scenario.correlations.is_empty();
    if correlated {
        blocks.push(Block::Para(format!(
            "This scenario correlates {} pairs of assumptions ([[correlations]]). Correlated assumptions move together, so each one's share also holds the part of the variance its partners cause: the shares overlap and no longer add up to what the assumptions explain together, and a share is no longer a regression coefficient. Read a share as what knowing that assumption alone would tell you; the column \"correlation\" gives the sign of its link with the outcome.",
            input.scenario.correlations.len()
        )));
    }
    for p in &all {
        let lead = p.rows.first().map_or(String::new(), |r| {
            format!(
                " The largest: {}, {} of the variance.",
                assumption(r),
                percent(r.share, 0)
            )
        });
        blocks.push(Block::Heading(3, heading(input, p)));
        let together = if correlated {
            format!(
                "the shares add up to {}, but they overlap (correlated assumptions)",
                percent(p.rows.iter().map(|r| r.share).sum::<f64>(), 0)
            )
        } else {
            format!(
                "the assumptions together explain {}",
                percent(p.explained(), 0)
            )
        };
        blocks.push(Block::Para(format!(
            "Standard deviation {} {}; {together}.{lead}",
            money(p.stdev),
            input.currency(),
        )));
        blocks.push(Block::Table {
            header: vec![
                "assumption".into(),
                "distribution".into(),
                "share of variance".into(),
                "correlation".into(),
                format!("effect per stdev ({})", input.currency()),
            ],
            numeric_from: 2,
            rows: p
                .rows
                .iter()
                .take(REPORT_ROWS)
                .map(|r| {
                    vec![
                        format!("{} · {}", r.unit, r.key),
                        r.dist.to_string(),
                        percent(r.share, 1),
                        format!("{:+.2}", r.correlation),
                        signed_money(r.effect),
                    ]
                })
                .collect(),
        });
    }
    blocks
}

/// A panel's heading: "Gain of reset over status_quo at year 5" (policy
/// names as written).
fn heading(input: &Input, p: &Panel) -> String {
    match p.outcome {
        Outcome::Gain => format!(
            "Gain of {} over {} at year {}",
            p.policy,
            input.policy(input.baseline()),
            p.horizon
        ),
        Outcome::Value => format!("Value of {} at year {}", p.policy, p.horizon),
    }
}
