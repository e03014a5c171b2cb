//! Property tests: invariants of the model and the engine over random valid
//! scenarios (generated as TOML text, so the parser is exercised too).

use proptest::prelude::*;
use stratsim::engine;
use stratsim::kernel::Plan;
use stratsim::results::Summary;
use stratsim::scenario;

/// (role, revenue, growth, volatility, margin, dispersion, max_uplift,
/// half_saturation, has jumps)
type GenUnit = (u8, f64, f64, f64, f64, f64, f64, f64, bool);

#[derive(Debug, Clone)]
struct Gen {
    units: Vec<GenUnit>,
    factors: usize,
    spy: u32,
    horizons: Vec<u32>,
    discount: f64,
    reinvest: f64,
    recycle: f64,
    intensity: f64,
    exit_after: f64,
    exit_window: f64,
    budget: f64,
    years: f64,
    gate: f64,
}

fn gen() -> impl Strategy<Value = Gen> {
    let unit = (
        0u8..3,        // role
        1.0f64..200.0, // revenue
        -0.2f64..0.4,  // growth
        0.0f64..0.6,   // volatility
        -0.3f64..0.5,  // margin
        0.0f64..0.8,   // dispersion
        0.0f64..0.3,   // max_uplift
        0.01f64..1.0,  // half_saturation
        any::<bool>(), // jumps
    );
    (
        prop::collection::vec(unit, 1..5),
        0usize..3,
        prop::sample::select(vec![1u32, 2, 4, 12]),
        prop::sample::subsequence(vec![1u32, 2, 3, 5], 1..=3),
        -0.05f64..0.2,
        (0.0f64..=1.0, 0.0f64..=1.0, 0.0f64..0.3),
        (
            0.0f64..2.0,
            0.0f64..1.5,
            0.0f64..10.0,
            0.0f64..5.0,
            0.0f64..2.5,
        ),
    )
        .prop_map(
            |(
                units,
                factors,
                spy,
                horizons,
                discount,
                (reinvest, recycle, intensity),
                (exit_after, exit_window, budget, years, gate),
            )| Gen {
                units,
                factors,
                spy,
                horizons,
                discount,
                reinvest,
                recycle,
                intensity,
                exit_after,
                exit_window,
                budget,
                years,
                gate,
            },
        )
}

/// Renders a generated scenario as TOML. `calm` zeroes every source of
/// randomness (volatility, dispersion, jumps, exit windows).
fn toml(g: &Gen, trials: u64, calm: bool) -> String {
    let mut s = format!(
        "[scenario]\nname = \"prop\"\ncurrency = \"CNY bn\"\ntrials = {trials}\nseed = 11\nsteps_per_year = {}\nhorizons = {:?}\ndiscount_rate = {}\nbaseline = \"a\"\n",
        g.spy, g.horizons, g.discount
    );
    for f in 0..g.factors {
        s += &format!("[[factors]]\nname = \"f{f}\"\n");
    }
    for (i, u) in g.units.iter().enumerate() {
        let role = ["core", "non_core", "innovation"][u.0 as usize];
        let (vol, disp) = if calm { (0.0, 0.0) } else { (u.3, u.5) };
        s += &format!(
            "[[units]]\nname = \"u{i}\"\nrole = \"{role}\"\nrevenue = {}\ngrowth = {}\nvolatility = {vol}\nmargin = {}\nmultiple = {{ median = 1.5, dispersion = {disp} }}\nresponse = {{ max_uplift = {}, half_saturation = {} }}\n",
            u.1, u.2, u.4, u.6, u.7
        );
        if g.factors > 0 {
            s += "loadings = { f0 = 0.6 }\n";
        }
        if u.8 && !calm {
            s += "jumps = { rate = 0.5, mean = -0.1, stdev = 0.1 }\n";
        }
    }
    let window = if calm { 0.0 } else { g.exit_window };
    for (name, scale) in [("a", 1.0), ("b", 2.0)] {
        s += &format!(
            "[policies.{name}]\nreinvest_share = {}\nrecycle_share = {}\ncore = {{ intensity = {} }}\nnon_core = {{ intensity = {}, exit_after = {}, exit_window = {window}, exit_discount = 0.1 }}\ninnovation = {{ budget = {}, years = {}, gate = {{ year = {}, min_revenue_multiple = 1.1 }} }}\n",
            g.reinvest, g.recycle, g.intensity * scale, g.intensity, g.exit_after, g.budget * scale, g.years, g.gate
        );
    }
    s
}

fn summarize(text: &str, threads: usize) -> Summary {
    let sc = scenario::parse(std::path::Path::new("prop.toml"), text)
        .expect("generated scenario is valid");
    let (plan, acc): (Plan, _) = engine::run(&sc, Some(threads), &|_| {}).unwrap();
    assert!(acc.non_finite.is_none());
    Summary::new(&sc, &plan, &acc)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// (a) identical results on 1 and 3 threads; (d) monotone quantiles.
    #[test]
    fn thread_count_never_matters_and_quantiles_are_monotone(g in gen()) {
        let text = toml(&g, 2100, false);
        let one = summarize(&text, 1);
        let three = summarize(&text, 3);
        prop_assert_eq!(one.to_json(), three.to_json());
        for r in &one.rows {
            let q = [r.min, r.p5, r.p25, r.p50, r.p75, r.p95, r.max];
            prop_assert!(q.windows(2).all(|w| w[0] <= w[1]), "{:?}", r);
            prop_assert!(r.min <= r.mean && r.mean <= r.max);
        }
    }

    /// (b) with no volatility, dispersion, jumps (or exit windows) every
    /// trial is the same path: every quantile equals the mean.
    #[test]
    fn calm_scenarios_are_degenerate(g in gen()) {
        let s = summarize(&toml(&g, 50, true), 2);
        for r in &s.rows {
            for q in [r.p5, r.p25, r.p50, r.p75, r.p95, r.min, r.max] {
                prop_assert!(close(q, r.mean), "{:?}", r);
            }
            prop_assert!(r.stdev <= 1e-9 * r.mean.abs().max(1.0), "{:?}", r);
        }
    }

    /// (c) conservation of cash: with no discounting, every unit of cash a
    /// unit generates (operating cash less investment, plus exit proceeds)
    /// ends up distributed or in the war chest, so V_h equals the sum of
    /// the unit values in every trial, hence in the mean.
    #[test]
    fn cash_is_conserved(mut g in gen()) {
        g.discount = 0.0;
        let s = summarize(&toml(&g, 600, false), 2);
        for p in ["a", "b"] {
            for &h in &g.horizons {
                let v = s.row(p, h, "value", None).unwrap().mean;
                let units: f64 = (0..g.units.len())
                    .map(|i| s.row(p, h, "unit_value", Some(&format!("u{i}"))).unwrap().mean)
                    .sum();
                prop_assert!(close(v, units), "{p} {h}: value {v} vs units {units}");
            }
        }
    }

    /// (e) more investment never lowers a unit's expected revenue, all
    /// else equal (one core unit, ample cash).
    #[test]
    fn more_investment_never_lowers_revenue(
        growth in -0.1f64..0.3, vol in 0.0f64..0.5, uplift in 0.0f64..0.3,
        hs in 0.01f64..1.0, x in 0.0f64..0.3, dx in 0.0f64..0.3,
    ) {
        let text = |intensity: f64| format!(
            "[scenario]\nname = \"mono\"\ncurrency = \"X\"\ntrials = 500\nseed = 5\nsteps_per_year = 4\nhorizons = [1, 3]\ndiscount_rate = 0.05\nbaseline = \"p\"\n[[units]]\nname = \"u\"\nrole = \"core\"\nrevenue = 100\ngrowth = {growth}\nvolatility = {vol}\nmargin = 0.9\nmultiple = {{ median = 1, dispersion = 0 }}\nresponse = {{ max_uplift = {uplift}, half_saturation = {hs} }}\n[policies.p]\nreinvest_share = 1.0\ncore = {{ intensity = {intensity} }}\n"
        );
        let lo = summarize(&text(x), 1);
        let hi = summarize(&text(x + dx), 1);
        for h in [1, 3] {
            let a = lo.row("p", h, "unit_revenue", Some("u")).unwrap();
            let b = hi.row("p", h, "unit_revenue", Some("u")).unwrap();
            prop_assert!(b.mean >= a.mean * (1.0 - 1e-12), "{} < {}", b.mean, a.mean);
            prop_assert!(b.p50 >= a.p50 * (1.0 - 1e-12));
        }
    }
}
