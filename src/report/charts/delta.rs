//! `delta_vs_baseline.png`: for each policy other than the baseline, the
//! distribution of value(policy) - value(baseline) in the same trial (the
//! `delta_value` metric: a paired comparison on common random numbers),
//! with the probability of beating the baseline written on it.

use super::style::{self, colour, Entry, Swatch};
use super::value_distribution::{overlay, Series};
use super::{Area, Chart, DrawResult, Input};
use crate::format;
use crate::model::Metric;

pub struct DeltaVsBaseline;

impl Chart for DeltaVsBaseline {
    fn file(&self) -> &'static str {
        "delta_vs_baseline.png"
    }

    fn title(&self, input: &Input) -> String {
        format!(
            "Gain over {} at year {}, trial by trial",
            input.policy(input.baseline()),
            input.years(input.last())
        )
    }

    fn how_to_read(&self, input: &Input) -> String {
        format!(
            "Each curve is the spread of a policy's value minus {}'s in the same simulated future; the mass right of the black zero line is the probability of beating {} (written in the legend), and the solid line marks the median gain.",
            input.policy(input.baseline()),
            input.policy(input.baseline())
        )
    }

    fn draw(&self, input: &Input, root: &Area) -> DrawResult {
        let h = input.last();
        let base = input.baseline();
        let base_name = input.policy(base).to_string();
        let body = style::header(
            root,
            &self.title(input),
            &style::subtitle(input, "same random draws for every policy"),
        )?;
        let others: Vec<usize> = (0..input.scenario.policies.len())
            .filter(|&p| p != base)
            .collect();
        if others.is_empty() {
            return style::message(
                &body,
                &format!(
                    "Only one policy ({base_name}): there is nothing to compare with the baseline."
                ),
            );
        }
        let series: Vec<Series> = others
            .iter()
            .map(|&p| Series {
                policy: p,
                metric: input.metric(p, h, Metric::DeltaValue),
                stats: input.stats(p, h, Metric::DeltaValue),
            })
            .collect();
        let entries: Vec<Entry> = series
            .iter()
            .map(|s| {
                let name = input.policy(s.policy);
                let p = input.summary.prob(name, input.years(h)).unwrap_or(f64::NAN);
                let [p5, _, p50, _, p95] = s.stats.quantiles;
                Entry {
                    colour: colour(input, s.policy),
                    name: name.to_string(),
                    details: vec![
                        format!("beats {base_name} in {:.1}% of trials", 100.0 * p),
                        if s.metric.min() == s.metric.max() {
                            format!(
                                "the same gain in every trial: {}",
                                format::signed_money(p50)
                            )
                        } else {
                            format!(
                                "median gain {} (P5 {}, P95 {})",
                                format::signed_money(p50),
                                format::signed_money(p5),
                                format::signed_money(p95)
                            )
                        },
                    ],
                    strong: 1,
                    swatch: Swatch::Line,
                }
            })
            .collect();
        let x_desc = format!(
            "Value minus {base_name}'s value in the same trial, year {} ({}, present value)",
            input.years(h),
            input.currency()
        );
        let notes = vec![
            format!("Right of the zero line: the policy beat {base_name}."),
            if series.len() <= 8 {
                "Solid line: median gain. Dashed: P5 and P95."
            } else {
                "Solid line: median gain."
            }
            .to_string(),
        ];
        overlay(
            &body,
            input,
            &series,
            &x_desc,
            Some(&format!("{base_name} better")),
            &format!("Policy vs {base_name}"),
            &notes,
            &entries,
        )
    }
}
