//! The one-future valuation (model contract, v3): a value does not depend
//! on the year it is read unless the policy decided something in between.
//!
//! Each test writes its scenario, runs it in-process through the scalar
//! reference (`kernel::TrialState`, the one the batch kernel is checked
//! against bit for bit) and checks a closed form of the contract:
//! - the tower property without randomness, to 1e-12 relative, at every
//!   horizon from 1 to 15 years;
//! - the tower property with volatility, factors, jumps and drawn keys,
//!   within 4 paired standard errors over 200,000 trials;
//! - growth at the cost of capital creates no value.

use std::path::Path;

use stratsim::kernel::{Plan, TrialState};
use stratsim::model::{Metric, Scenario};

fn parse(text: &str) -> Scenario {
    stratsim::scenario::parse(Path::new("one_future.toml"), text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Trial `trial`'s figure `metric` of policy 0 at every horizon.
fn figures(s: &Scenario, plan: &Plan, st: &mut TrialState, trial: u64, metric: Metric) -> Vec<f64> {
    st.run(plan, s.seed, trial);
    (0..s.horizons.len())
        .map(|hi| st.out[plan.layout.index(0, hi, metric)])
        .collect()
}

fn header(horizons: &str, rate: f64, trials: u64) -> String {
    format!(
        r#"[scenario]
name = "one future"
currency = "x"
trials = {trials}
seed = 77
steps_per_year = 4
horizons = {horizons}
discount_rate = {rate:?}
baseline = "still"
"#
    )
}

/// A policy that spends nothing and decides nothing: every horizon reads
/// the same value, to rounding, with margins drifting, growth_fade, a
/// fade of 0 years and a unit whose growth is below its terminal rate.
#[test]
fn a_policy_that_decides_nothing_is_worth_the_same_at_every_horizon() {
    let horizons = format!(
        "[{}]",
        (1..=15)
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let text = header(&horizons, 0.09, 1)
        + r#"
[valuation]
method = "fade"
fade_years = 10
terminal_growth = 0.03
sales_to_capital = 2.0

[[units]]
name = "Fast"
role = "core"
revenue = 100.0
growth = 0.15
volatility = 0.0
margin = 0.10
target_margin = 0.25
margin_speed = 0.5
multiple = { median = 2.0, dispersion = 0.0 }
response = { max_uplift = 0.1, half_saturation = 0.1 }

[[units]]
name = "Spike"
role = "core"
revenue = 20.0
growth = 0.10
growth_fade = { from = 0.8, years = 3 }
volatility = 0.0
margin = -0.2
target_margin = 0.15
margin_speed = 0.3
multiple = { median = 4.0, dispersion = 0.0 }
valuation = { fade_years = 6, sales_to_capital = 1.2 }

[[units]]
name = "Gordon"
role = "core"
revenue = 50.0
growth = 0.2
volatility = 0.0
margin = 0.3
multiple = { median = 1.0, dispersion = 0.0 }
valuation = { fade_years = 0, terminal_growth = 0.01 }

[[units]]
name = "Slow"
role = "non_core"
revenue = 30.0
growth = -0.04
volatility = 0.0
margin = 0.05
target_margin = 0.02
margin_speed = 1.0
multiple = { median = 0.5, dispersion = 0.0 }
valuation = { terminal_growth = 0.05, sales_to_capital = 3.0 }

[policies.still]
description = "spends nothing beyond what base growth costs"
reinvest_share = 0.5
core = { intensity = 0.0 }
non_core = { intensity = 0.0 }
"#;
    let s = parse(&text);
    let plan = Plan::new(&s);
    let mut st = TrialState::new(&plan);
    let values = figures(&s, &plan, &mut st, 0, Metric::Value);
    let v1 = values[0];
    for (h, v) in values.iter().enumerate() {
        assert!(
            (v - v1).abs() <= 1e-12 * v1.abs(),
            "value read at year {} is {v}, at year 1 {v1}",
            h + 1
        );
    }
    // Each unit on its own, too.
    for u in 0..s.units.len() {
        let uv = figures(&s, &plan, &mut st, 0, Metric::UnitValue(u));
        for (h, v) in uv.iter().enumerate() {
            assert!(
                (v - uv[0]).abs() <= 1e-12 * uv[0].abs().max(1.0),
                "{} read at year {}: {v} vs {}",
                s.units[u].name,
                h + 1,
                uv[0]
            );
        }
    }
}

/// The value of a policy that decides nothing after year 2 (innovation
/// funded for 2 years with a gate at 1, a sale before 2 with nothing
/// recycled, no intensities) is the same in expectation read at years
/// 2, 4 and 6, with volatility, a common factor, jumps and drawn growth
/// and margins: the mean of the paired difference V_h - V_2 is within
/// 4 of its standard errors of 0.
#[test]
fn the_tower_property_holds_in_expectation_with_every_source_of_randomness() {
    let trials = 200_000u64;
    let text = header("[2, 4, 6]", 0.08, trials)
        + r#"
[valuation]
method = "fade"
fade_years = 5
terminal_growth = 0.02
sales_to_capital = 1.5

[[factors]]
name = "demand"

[[units]]
name = "Core"
role = "core"
revenue = 100.0
growth = { dist = "triangular", min = 0.0, mode = 0.05, max = 0.15 }
volatility = 0.2
margin = { dist = "uniform", min = 0.1, max = 0.3 }
target_margin = 0.2
margin_speed = 0.5
multiple = { median = 2.0, dispersion = 0.3 }
loadings = { demand = 0.6 }
jumps = { rate = 0.5, mean = -0.1, stdev = 0.1 }

[[units]]
name = "Bet"
role = "innovation"
revenue = 5.0
growth = 0.1
volatility = 0.4
margin = -0.3
target_margin = 0.2
margin_speed = { dist = "pert", min = 0.1, mode = 0.3, max = 0.8 }
multiple = { median = 4.0, dispersion = 0.5 }
loadings = { demand = 0.3 }
response = { max_uplift = 0.3, half_saturation = 0.5 }
jumps = { rate = 0.3, mean = 0.2, stdev = 0.1 }
valuation = { terminal_growth = -0.05 }

[[units]]
name = "Sold"
role = "non_core"
revenue = 30.0
growth = 0.0
volatility = 0.1
margin = 0.05
multiple = { median = 0.5, dispersion = 0.3 }
valuation = { method = "multiple" }

[policies.still]
description = "decides nothing after year 2"
reinvest_share = 1.0
core = { intensity = 0.0 }
non_core = { intensity = 0.0, exit_after = 0.5, exit_window = 1.0, exit_discount = 0.1 }
innovation = { budget = 2.0, years = 2, gate = { year = 1, min_revenue_multiple = 1.05 } }
"#;
    let s = parse(&text);
    let plan = Plan::new(&s);
    // Per trial, V_h - V_2 for h = 4 and 6: sums for the mean and the
    // standard error, in two halves run on two threads.
    let sums = |range: std::ops::Range<u64>| {
        let mut st = TrialState::new(&plan);
        let mut acc = [[0.0f64; 2]; 2];
        for j in range {
            let v = figures(&s, &plan, &mut st, j, Metric::Value);
            for (a, h) in acc.iter_mut().zip([1, 2]) {
                let d = v[h] - v[0];
                a[0] += d;
                a[1] += d * d;
            }
        }
        acc
    };
    let (a, b) = std::thread::scope(|sc| {
        let first = sc.spawn(|| sums(0..trials / 2));
        let second = sums(trials / 2..trials);
        (first.join().unwrap(), second)
    });
    let n = trials as f64;
    for (i, h) in [4, 6].into_iter().enumerate() {
        let sum = a[i][0] + b[i][0];
        let sq = a[i][1] + b[i][1];
        let mean = sum / n;
        let var = (sq - sum * sum / n) / (n - 1.0);
        let se = (var / n).sqrt();
        assert!(se > 0.0, "the paired difference is random");
        assert!(
            mean.abs() <= 4.0 * se,
            "E[V_{h} - V_2] = {mean} with standard error {se}"
        );
    }
}

/// Growth at the cost of capital creates no value: with a constant margin
/// m and s = ((1 + r)^dt - 1) / (m dt), every unit is worth
/// R_0 (1 + r)^-dt (m dt + 1/s) at every horizon, whatever its growth.
#[test]
fn growth_at_the_cost_of_capital_creates_no_value() {
    let (r, m, dt) = (0.09f64, 0.2f64, 0.25f64);
    let s_cap = ((1.0 + r).powf(dt) - 1.0) / (m * dt);
    let unit = |name: &str, growth: &str| {
        format!(
            r#"
[[units]]
name = "{name}"
role = "core"
revenue = 100.0
{growth}
volatility = 0.0
margin = {m:?}
multiple = {{ median = 2.0, dispersion = 0.0 }}
"#
        )
    };
    let text = header("[1, 2, 3, 5, 8, 12]", r, 1)
        + &format!(
            r#"
[valuation]
method = "fade"
fade_years = 10
terminal_growth = 0.03
sales_to_capital = {s_cap:?}
"#
        )
        + &unit("Flat", "growth = 0.0")
        + &unit("Fast", "growth = 0.25")
        + &unit(
            "Spiking",
            "growth = 0.05\ngrowth_fade = { from = 1.5, years = 1 }",
        )
        + r#"
[policies.still]
description = "spends nothing beyond what base growth costs"
reinvest_share = 0.5
core = { intensity = 0.0 }
"#;
    let s = parse(&text);
    let plan = Plan::new(&s);
    let mut st = TrialState::new(&plan);
    let want = 100.0 * (1.0 + r).powf(-dt) * (m * dt + 1.0 / s_cap);
    for u in 0..3 {
        for (h, v) in figures(&s, &plan, &mut st, 0, Metric::UnitValue(u))
            .iter()
            .enumerate()
        {
            assert!(
                (v - want).abs() <= 1e-9 * want,
                "{} at horizon {}: {v} vs {want}",
                s.units[u].name,
                s.horizons[h]
            );
        }
    }
}
