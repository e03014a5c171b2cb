//! Headline sentences: what a strategist reads first, per policy and
//! horizon, in words ("At year 5, reset beats status_quo in 62% of trials;
//! median gain +41 CNY bn (P5 -30, P95 +120).").
//!
//! Every sentence is generated here from the figures of the summary (the
//! paired gain over the baseline, its quantiles and the share of trials in
//! which it is positive) and, when a sensitivity study ran, the input that
//! moves the gain most. The table footer, summary.json (`headline`), the
//! report pages and the workbook all print these same sentences, so they
//! cannot disagree. Numbers are formatted by
//! [`crate::format::share`] and [`crate::format::amount`]: a
//! probability never reads "0.0%" when some trial beat the baseline, and
//! money keeps three significant figures however small or large it is.

pub use super::figures::Sentence;
use super::figures::{Row, Summary};
use super::studies::Studies;
use crate::format::{amount, number, share, signed};
use crate::model::Scenario;

/// The input that moves a policy's gain over the baseline most, as a
/// sensitivity study found it.
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    /// The input as a reader names it ("Quark growth", "reset core
    /// intensity").
    pub input: String,
    /// The input's value when moved down and up, as text ("9.0%", "5.4").
    pub low: String,
    pub high: String,
    /// How much the mean gain moved when the input was low and high (NaN
    /// for a step that was skipped).
    pub change_low: f64,
    pub change_high: f64,
}

/// The figures one sentence is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures<'a> {
    pub policy: &'a str,
    pub baseline: &'a str,
    pub horizon: u32,
    pub currency: &'a str,
    pub trials: u64,
    /// The policy's value (used for the baseline's own sentence).
    pub value: &'a Row,
    /// The paired gain over the baseline (`delta_value`).
    pub gain: &'a Row,
    /// Share of trials with a positive gain.
    pub p_beat: f64,
    pub driver: Option<&'a Driver>,
}

/// Every sentence of a run, policy by policy, horizon by horizon (the
/// order of the summary's rows). `studies` adds the top driver at the last
/// horizon when a sensitivity study ran.
pub fn sentences(
    scenario: &Scenario,
    summary: &Summary,
    studies: Option<&Studies>,
) -> Vec<Sentence> {
    let baseline = &scenario.policies[scenario.baseline].name;
    let drivers = studies
        .map(|s| top_drivers(scenario, s))
        .unwrap_or_default();
    let last = scenario.horizons.last().copied();
    let mut out = Vec::new();
    for policy in &scenario.policies {
        for &h in &scenario.horizons {
            let (Some(value), Some(gain)) = (
                summary.row(&policy.name, h, "value", None),
                summary.row(&policy.name, h, "delta_value", None),
            ) else {
                continue;
            };
            let driver = drivers
                .iter()
                .find(|(p, _)| *p == policy.name && Some(h) == last)
                .map(|(_, d)| d);
            let figures = Figures {
                policy: &policy.name,
                baseline,
                horizon: h,
                currency: &summary.currency,
                trials: summary.trials,
                value,
                gain,
                p_beat: summary.prob(&policy.name, h).unwrap_or(0.0),
                driver,
            };
            out.push(Sentence {
                policy: policy.name.clone(),
                horizon: h,
                text: sentence(&figures),
            });
        }
    }
    out
}

/// The sentence of one policy at one horizon.
pub fn sentence(f: &Figures) -> String {
    let cur = f.currency;
    if f.policy == f.baseline {
        let v = f.value;
        return format!(
            "At year {}, {} (the baseline) is worth a median {} {cur} (P5 {}, P95 {}).",
            f.horizon,
            f.policy,
            amount(v.p50),
            amount(v.p5),
            amount(v.p95)
        );
    }
    let g = f.gain;
    if g.min == 0.0 && g.max == 0.0 {
        return format!(
            "At year {}, {} is worth exactly what {} is in every trial.",
            f.horizon, f.policy, f.baseline
        );
    }
    let mut text = format!(
        "At year {}, {} beats {} {}; median gain {} {cur} (P5 {}, P95 {}).",
        f.horizon,
        f.policy,
        f.baseline,
        beats(f.p_beat, f.trials),
        signed(g.p50),
        signed(g.p5),
        signed(g.p95)
    );
    if g.mean * g.p50 < 0.0 {
        let (few, side) = if g.mean < 0.0 {
            ("large losses", "below")
        } else {
            ("large gains", "above")
        };
        text.push_str(&format!(
            " The mean gain, {} {cur}, has the other sign: a few {few} in the tail pull it {side} zero.",
            signed(g.mean)
        ));
    }
    if let Some(d) = f.driver {
        let moves: Vec<String> = [(d.change_low, &d.low), (d.change_high, &d.high)]
            .into_iter()
            .filter(|(c, _)| c.is_finite())
            .map(|(c, v)| format!("{} at {v}", signed(c)))
            .collect();
        text.push_str(&format!(
            " The gain depends most on {}: its mean moves {} ({cur}).",
            d.input,
            moves.join(" and ")
        ));
    }
    text
}

/// "in 62% of trials", "in none of the 1,000 trials", "in all 1,000
/// trials" (a count of trials is a whole number: "7", never "7.00").
fn beats(p: f64, trials: u64) -> String {
    let n = number(trials as f64, 0);
    // "all" and "none" are about the model's trials, not the world: say
    // so where it reads as certainty.
    if trials == 1 && p <= 0.0 {
        "in no trial (one simulated, under these assumptions)".into()
    } else if trials == 1 && p >= 1.0 {
        "in the only simulated trial (under these assumptions)".into()
    } else if p <= 0.0 {
        format!("in none of the {n} simulated trials (under these assumptions)")
    } else if p >= 1.0 {
        format!("in all {n} simulated trials (under these assumptions)")
    } else {
        format!("in {} of trials", share(p))
    }
}

/// The top driver of each policy's gain: the first row of the policy in
/// the sensitivity study's ranking (the input that moves its mean gain
/// over the baseline most at the last horizon), when it moves it at all.
/// Empty without a sensitivity study.
pub fn top_drivers(scenario: &Scenario, studies: &Studies) -> Vec<(String, Driver)> {
    let mut out = Vec::new();
    for (i, policy) in scenario.policies.iter().enumerate() {
        if i == scenario.baseline {
            continue;
        }
        let Some(r) = studies
            .sensitivity
            .iter()
            .find(|r| r.policy == policy.name)
            .filter(|r| r.swing() > 0.0 && r.estimated.is_none())
        else {
            continue;
        };
        out.push((
            policy.name.clone(),
            Driver {
                input: r.label(),
                low: r.show(r.low),
                high: r.show(r.high),
                change_low: r.gain_low - r.gain_base,
                change_high: r.gain_high - r.gain_base,
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &'static str, mean: f64, p5: f64, p50: f64, p95: f64) -> Row {
        Row {
            policy: "reset".into(),
            horizon: 5,
            metric,
            unit: None,
            mean,
            stdev: 1.0,
            stderr: 0.1,
            p5,
            p25: p50,
            p50,
            p75: p50,
            p95,
            min: p5 - 1.0,
            max: p95 + 1.0,
            var: p5,
            cvar: p5 - 0.5,
        }
    }

    fn figures<'a>(value: &'a Row, gain: &'a Row, p: f64) -> Figures<'a> {
        Figures {
            policy: "reset",
            baseline: "status_quo",
            horizon: 5,
            currency: "CNY bn",
            trials: 100_000,
            value,
            gain,
            p_beat: p,
            driver: None,
        }
    }

    #[test]
    fn a_policy_sentence_states_share_median_and_band() {
        let v = row("value", 2200.0, 1900.0, 2210.0, 2600.0);
        let g = row("delta_value", 38.2, -30.4, 41.04, 120.3);
        assert_eq!(
            sentence(&figures(&v, &g, 0.6213)),
            "At year 5, reset beats status_quo in 62% of trials; median gain +41.0 CNY bn (P5 -30.4, P95 +120)."
        );
    }

    #[test]
    fn skew_is_noted_when_mean_and_median_disagree() {
        let v = row("value", 2200.0, 1900.0, 2210.0, 2600.0);
        let g = row("delta_value", -6.6, -250.0, 3.12, 60.0);
        assert_eq!(
            sentence(&figures(&v, &g, 0.54)),
            "At year 5, reset beats status_quo in 54% of trials; median gain +3.12 CNY bn (P5 -250, P95 +60.0). The mean gain, -6.60 CNY bn, has the other sign: a few large losses in the tail pull it below zero."
        );
        let g = row("delta_value", 2.5, -1.0, -0.25, 90.0);
        assert!(sentence(&figures(&v, &g, 0.45)).ends_with(
            "The mean gain, +2.50 CNY bn, has the other sign: a few large gains in the tail pull it above zero."
        ));
        // Same signs (or a zero median): no note.
        let g = row("delta_value", 2.5, -1.0, 0.0, 90.0);
        assert!(!sentence(&figures(&v, &g, 0.45)).contains("other sign"));
    }

    #[test]
    fn the_top_driver_is_named_with_its_inputs_and_moves() {
        let v = row("value", 2200.0, 1900.0, 2210.0, 2600.0);
        let g = row("delta_value", 38.0, -30.0, 41.0, 120.0);
        let d = Driver {
            input: "Taobao & Tmall growth".into(),
            low: "3.0%".into(),
            high: "5.0%".into(),
            change_low: -12.04,
            change_high: 15.5,
        };
        let f = Figures {
            driver: Some(&d),
            ..figures(&v, &g, 0.62)
        };
        assert!(sentence(&f).ends_with(
            " The gain depends most on Taobao & Tmall growth: its mean moves -12.0 at 3.0% and +15.5 at 5.0% (CNY bn)."
        ));
        // A skipped step is left out.
        let d = Driver {
            change_low: f64::NAN,
            ..d
        };
        let f = Figures {
            driver: Some(&d),
            ..figures(&v, &g, 0.62)
        };
        assert!(sentence(&f).ends_with(" its mean moves +15.5 at 5.0% (CNY bn)."));
    }

    #[test]
    fn the_baseline_gets_its_value_and_equal_policies_say_so() {
        let v = row("value", 2200.0, 1899.6, 2217.7, 2600.2);
        let g = row("delta_value", 0.0, 0.0, 0.0, 0.0);
        let f = Figures {
            policy: "status_quo",
            ..figures(&v, &g, 0.0)
        };
        assert_eq!(
            sentence(&f),
            "At year 5, status_quo (the baseline) is worth a median 2,218 CNY bn (P5 1,900, P95 2,600)."
        );
        let g = Row {
            min: 0.0,
            max: 0.0,
            ..g
        };
        assert_eq!(
            sentence(&figures(&v, &g, 0.0)),
            "At year 5, reset is worth exactly what status_quo is in every trial."
        );
    }

    #[test]
    fn extreme_shares_are_never_rounded_to_never_or_always() {
        let v = row("value", 1.0, 1.0, 1.0, 1.0);
        let g = row("delta_value", -5.0, -9.0, -5.0, -0.5);
        let text = |p| sentence(&figures(&v, &g, p));
        assert!(text(0.0).contains(
            "beats status_quo in none of the 100,000 simulated trials (under these assumptions);"
        ));
        assert!(text(0.00002).contains("in <0.1% of trials"));
        assert!(text(0.003).contains("in 0.3% of trials"));
        assert!(text(0.9996).contains("in >99.9% of trials"));
        assert!(text(0.995).contains("in 99.5% of trials"));
        assert!(text(1.0).contains("in all 100,000 simulated trials (under these assumptions)"));
    }

    #[test]
    fn a_count_of_trials_is_a_whole_number() {
        let v = row("value", 1.0, 1.0, 1.0, 1.0);
        let g = row("delta_value", -5.0, -9.0, -5.0, -0.5);
        let text = |trials, p| {
            sentence(&Figures {
                trials,
                ..figures(&v, &g, p)
            })
        };
        assert!(text(7, 0.0).contains("in none of the 7 simulated trials"));
        assert!(text(1234, 1.0).contains("in all 1,234 simulated trials"));
        assert!(text(1, 0.0).contains("in no trial (one simulated, under these assumptions);"));
        assert!(text(1, 1.0).contains("in the only simulated trial (under these assumptions);"));
    }

    /// On a real run: every number in every sentence is the formatted
    /// figure of the summary it claims to be, in order.
    #[test]
    fn sentences_of_a_run_carry_its_figures() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let mut sc = crate::scenario::load(&path).unwrap();
        sc.trials = 3000;
        let (plan, acc) = crate::engine::run(&sc, Some(1), &|_| {}).unwrap();
        let summary = Summary::new(&sc, &plan, &acc);
        assert_eq!(
            summary.headline.len(),
            sc.policies.len() * sc.horizons.len()
        );
        let base = &sc.policies[sc.baseline].name;
        for s in &summary.headline {
            let v = summary.row(&s.policy, s.horizon, "value", None).unwrap();
            let g = summary
                .row(&s.policy, s.horizon, "delta_value", None)
                .unwrap();
            let p = summary.prob(&s.policy, s.horizon).unwrap();
            let mut want = if s.policy == *base {
                format!(
                    "At year {}, {} (the baseline) is worth a median {} CNY bn (P5 {}, P95 {}).",
                    s.horizon,
                    base,
                    amount(v.p50),
                    amount(v.p5),
                    amount(v.p95)
                )
            } else {
                format!(
                    "At year {}, {} beats {base} in {} of trials; median gain {} CNY bn (P5 {}, P95 {}).",
                    s.horizon,
                    s.policy,
                    share(p),
                    signed(g.p50),
                    signed(g.p5),
                    signed(g.p95)
                )
            };
            if s.policy != *base && g.mean * g.p50 < 0.0 {
                assert!(s
                    .text
                    .contains(&format!("The mean gain, {} CNY bn", signed(g.mean))));
                // The sentence, then the note.
                assert!(s.text.starts_with(&want), "{} / {want}", s.text);
                want.push_str(&s.text[want.len()..]);
            }
            assert_eq!(s.text, want);
            // The formatted figures read back to the summary's, within
            // their rounding.
            let back = |t: &str| t.replace([',', '+', '%'], "").parse::<f64>().unwrap();
            if s.policy != *base {
                assert!((back(&signed(g.p50)) - g.p50).abs() <= 0.005 * g.p50.abs() + 0.5);
                assert!((back(&share(p)) / 100.0 - p).abs() <= 0.005);
            }
        }
    }

    #[test]
    fn the_driver_is_the_top_of_the_ranking() {
        use crate::results::{Owner, Sensitivity, StepKind};
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cloud_spinoff.toml");
        let sc = crate::scenario::load(&path).unwrap();
        let other = sc
            .policies
            .iter()
            .enumerate()
            .find(|(i, _)| *i != sc.baseline)
            .unwrap()
            .1
            .name
            .clone();
        let row = |unit: &str, lo: f64, hi: f64| Sensitivity {
            policy: other.clone(),
            owner: Owner::Unit,
            owner_name: unit.into(),
            parameter: "growth".into(),
            path: format!("units.{unit}.growth"),
            kind: StepKind::Rate,
            base: 0.1,
            low: 0.09,
            high: 0.11,
            gain_base: 10.0,
            gain_low: lo,
            gain_high: hi,
            beat_base: 0.5,
            beat_low: 0.4,
            beat_high: 0.6,
            note: None,
            estimated: None,
        };
        // Rows come ranked: the first one of the policy is its driver.
        let studies = Studies {
            sensitivity: vec![row("Small", 3.0, 14.0), row("Tiny", 9.0, 11.0)],
            ..Default::default()
        };
        let d = top_drivers(&sc, &studies);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, other);
        assert_eq!(d[0].1.input, "Small growth");
        assert_eq!(
            (d[0].1.low.as_str(), d[0].1.high.as_str()),
            ("9.0%", "11.0%")
        );
        assert_eq!((d[0].1.change_low, d[0].1.change_high), (-7.0, 4.0));
        // An input that moves nothing drives nothing.
        let flat = Studies {
            sensitivity: vec![row("Flat", 10.0, 10.0)],
            ..Default::default()
        };
        assert!(top_drivers(&sc, &flat).is_empty());
        assert!(top_drivers(&sc, &Studies::default()).is_empty());
    }
}
