//! The growth-fade value of a unit still held at a horizon (model
//! contract, "Valuation of a unit still held at a horizon (v2)").
//!
//! Revenue x multiple prices a held unit by its revenue alone, so the
//! growth that investment bought is lost at the horizon. The fade values
//! the unit's own cash instead: growth fades from the last step's rate to a
//! terminal rate over `fade_years`, the margin keeps drifting to its
//! target, each year's growth costs (revenue added) / sales_to_capital of
//! reinvestment, and a Gordon tail follows.
//!
//! [`fade_value`] is the one place this is computed: the scalar reference
//! (`reference.rs`) calls it on one number, the batch kernel (`batch.rs`) on a
//! vector of lanes. It is written once, over [`Arith`] (add, subtract,
//! multiply, each correctly rounded, no fused multiply-add), so both
//! perform the same operations in the same order and give the same bits.
//! Everything that does not depend on the trial is in [`FadePlan`], built
//! once per run; the margin path, the same in every trial, stays scalar.

use crate::model::{Fade, Scenario, Unit};

/// The arithmetic [`fade_value`] needs: IEEE operations on one f64 or on
/// each lane of a vector, never fused.
pub trait Arith: Copy {
    /// `x` in every lane, a value of the same kind as `self` (a vector
    /// backend makes values only from one it has).
    fn splat(self, x: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}

impl Arith for f64 {
    #[inline(always)]
    fn splat(self, x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
}

/// The per-unit constants of the fade, computed once per run.
#[derive(Clone, Debug, PartialEq)]
pub struct FadePlan {
    /// n = fade_years.
    years: usize,
    /// g_inf.
    terminal_growth: f64,
    /// 1 / sales_to_capital.
    reinvestment: f64,
    /// m*, the margin's target.
    target_margin: f64,
    /// q = (1 - margin_speed dt)^steps_per_year: what is left of the
    /// margin's gap to its target after a year.
    q: f64,
    /// w_j = j / n for j = 1..n (the share of the fade done in year j).
    weights: Vec<f64>,
    /// (1 + r)^-j for j = 1..n.
    discount: Vec<f64>,
    /// (1 + r)^-n / (r - g_inf): the Gordon tail's factor on C_{n+1}.
    tail: f64,
}

impl FadePlan {
    /// The constants of `unit` valued by `fade` in `scenario`.
    pub fn new(scenario: &Scenario, unit: &Unit, fade: &Fade) -> FadePlan {
        let n = fade.years as usize;
        let r = scenario.discount_rate;
        let dt = scenario.dt();
        let ln1r = libm::log1p(r);
        let mut plan = FadePlan {
            years: n,
            terminal_growth: fade.terminal_growth,
            reinvestment: 1.0 / fade.sales_to_capital,
            target_margin: 0.0,
            q: 0.0,
            weights: (1..=n).map(|j| j as f64 / n as f64).collect(),
            discount: (1..=n).map(|j| libm::exp(-ln1r * j as f64)).collect(),
            tail: libm::exp(-ln1r * n as f64) / (r - fade.terminal_growth),
        };
        let spy = scenario.steps_per_year as f64;
        plan.set_margin(unit.target_margin, unit.margin_speed, dt, spy);
        plan
    }

    /// The margin's target and q for a unit with `target_margin` and
    /// `margin_speed` (a trial's drawn values, or the file's).
    pub fn set_margin(&mut self, target_margin: f64, margin_speed: f64, dt: f64, spy: f64) {
        self.target_margin = target_margin;
        self.q = libm::pow(1.0 - margin_speed * dt, spy);
    }
}

/// F: the growth-fade value of a held unit with revenue `r`, margin `m` and
/// growth rate `g` (step 4's g_i of the horizon's last step), in money of
/// the horizon (not discounted to t = 0); on one number or lane by lane.
///
/// With g_j = g + (g_inf - g) min(j, n) / n, R_j = R_{j-1} (1 + g_j),
/// m_j = m* + (m_{j-1} - m*) q for j <= n + 1 and
/// C_j = R_j m_j - (R_{j+1} - R_j) / s:
/// F = sum_{j=1..n} C_j (1 + r)^-j + C_{n+1} / (r - g_inf) (1 + r)^-n.
/// R_{j+1} - R_j is computed as R_j g_{j+1}, the same number without the
/// cancellation. F may be negative; it is never floored.
#[inline(always)]
pub fn fade_value<T: Arith>(plan: &FadePlan, r: T, m: f64, g: T) -> T {
    let target = plan.target_margin;
    let q = plan.q;
    let g_inf = r.splat(plan.terminal_growth);
    let s_inv = r.splat(plan.reinvestment);
    let one = r.splat(1.0);
    let gap = g_inf.sub(g);
    // g_j; from j = n on the fade is done and g_j = g_inf.
    let growth = |j: usize| -> T {
        if j >= plan.years {
            g_inf
        } else {
            g.add(gap.mul(r.splat(plan.weights[j - 1])))
        }
    };
    let mut rev = r.mul(one.add(growth(1)));
    let mut margin = m;
    let mut sum = r.splat(0.0);
    for (j, &d) in (1..=plan.years).zip(&plan.discount) {
        margin = target + (margin - target) * q;
        let g_next = growth(j + 1);
        let cash = rev.mul(r.splat(margin).sub(g_next.mul(s_inv)));
        sum = sum.add(cash.mul(r.splat(d)));
        rev = rev.mul(one.add(g_next));
    }
    // Year n + 1: the last margin step, then the Gordon tail.
    margin = target + (margin - target) * q;
    let cash = rev.mul(r.splat(margin).sub(g_inf.mul(s_inv)));
    sum.add(cash.mul(r.splat(plan.tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(years: u32, g_inf: f64, s: f64, r: f64, m_target: f64, speed: f64) -> FadePlan {
        let scenario = Scenario {
            name: "t".into(),
            currency: "x".into(),
            trials: 1,
            seed: 1,
            steps_per_year: 4,
            horizons: vec![1],
            discount_rate: r,
            baseline: 0,
            factors: vec![],
            units: vec![],
            policies: vec![],
            funding: None,
        };
        let unit = Unit {
            name: "u".into(),
            role: crate::model::Role::Core,
            revenue: 1.0,
            growth: 0.0,
            volatility: 0.0,
            margin: m_target,
            target_margin: m_target,
            margin_speed: speed,
            multiple_median: 1.0,
            multiple_dispersion: 0.0,
            loadings: vec![],
            idiosyncratic: 1.0,
            max_uplift: 0.0,
            half_saturation: 0.0,
            jumps: None,
            valuation: crate::model::Valuation::Multiple,
            uncertain: Vec::new(),
            growth_fade: None,
        };
        let fade = Fade {
            years,
            terminal_growth: g_inf,
            sales_to_capital: s,
        };
        FadePlan::new(&scenario, &unit, &fade)
    }

    /// Growth earned at a return equal to the cost of capital creates no
    /// value: constant margin m, g = g_inf and m s = r give F = R (1 + g) m / r
    /// (the value of the cash the unit would yield with no growth at all).
    #[test]
    fn growth_at_the_cost_of_capital_creates_no_value() {
        let r = 0.09;
        for &(m, g) in &[(0.18, 0.0), (0.18, 0.03), (0.30, -0.02), (0.045, 0.06)] {
            let s = r / m;
            for n in [0, 1, 2, 10, 50] {
                let p = plan(n, g, s, r, m, 0.0);
                let rev = 123.4;
                let f = fade_value(&p, rev, m, g);
                let want = rev * (1.0 + g) * m / r;
                assert!(
                    (f - want).abs() <= 1e-9 * want,
                    "m {m} g {g} n {n}: {f} vs {want}"
                );
            }
        }
    }

    /// fade_years = 0: the Gordon value C_1 / (r - g_inf), whatever g was.
    #[test]
    fn no_fade_is_the_gordon_value() {
        let (r, g_inf, s) = (0.08, 0.025, 1.5);
        let (m, target, speed) = (0.10, 0.20, 0.5);
        let p = plan(0, g_inf, s, r, target, speed);
        let q = (1.0f64 - speed / 4.0).powi(4);
        let rev = 50.0;
        let r1 = rev * (1.0 + g_inf);
        let m1 = target + (m - target) * q;
        let c1 = r1 * m1 - (r1 * (1.0 + g_inf) - r1) / s;
        let want = c1 / (r - g_inf);
        for g in [-0.3, 0.0, 0.4] {
            let f = fade_value(&p, rev, m, g);
            assert!((f - want).abs() <= 1e-10 * want.abs(), "{f} vs {want}");
        }
    }

    /// One unit worked by hand, fade_years = 2, margin drifting:
    /// R = 100, g = 0.20, g_inf = 0.04, s = 2, r = 0.10, m = 0.05 -> m* = 0.15
    /// at margin_speed 1 with quarterly steps: q = 0.75^4 = 0.31640625.
    /// g_1 = 0.12, g_2 = g_3 = g_4 = 0.04.
    /// R_1 = 112, R_2 = 116.48, R_3 = 121.1392, R_4 = 125.984768.
    /// m_1 = 0.15 - 0.1 q = 0.118359375; m_2 = 0.15 - (0.15 - m_1) q
    ///     = 0.1399887085; m_3 = 0.1468323648.
    /// C_1 = 112 m_1 - 4.48 / 2 = 13.25625 - 2.24 = 11.01625
    /// C_2 = 116.48 m_2 - 4.6592 / 2 = 13.9762848
    /// C_3 = 121.1392 m_3 - 4.845568 / 2 = 15.3643712
    /// F = C_1 / 1.1 + C_2 / 1.21 + C_3 / (0.10 - 0.04) / 1.21 = 233.19588.
    #[test]
    fn two_fade_years_by_hand() {
        let p = plan(2, 0.04, 2.0, 0.10, 0.15, 1.0);
        let q: f64 = 0.316_406_25;
        let m1 = 0.15 - 0.1 * q;
        let m2 = 0.15 - (0.15 - m1) * q;
        let m3 = 0.15 - (0.15 - m2) * q;
        assert!((m1 - 0.118_359_375).abs() < 1e-15);
        let c1 = 112.0 * m1 - (116.48 - 112.0) / 2.0;
        let c2 = 116.48 * m2 - (121.1392 - 116.48) / 2.0;
        let c3 = 121.1392 * m3 - (125.984_768 - 121.1392) / 2.0;
        assert!((c1 - 11.016_25).abs() < 1e-12, "{c1}");
        let want = c1 / 1.1 + c2 / 1.21 + c3 / 0.06 / 1.21;
        let f = fade_value(&p, 100.0, 0.05, 0.20);
        assert!((f - want).abs() <= 1e-9 * want, "{f} vs {want}");
        // The number itself, so that a change of the hand sums shows.
        assert!((want - 233.195_88).abs() < 1e-5, "{want}");
    }

    proptest::proptest! {
        /// For any terms: F is proportional to revenue; with a constant
        /// margin m and m s = r, growth at g_inf is worth R (1 + g) m / r;
        /// with no fade the starting growth rate does not matter.
        #[test]
        fn fade_invariants(
            n in 0u32..=50,
            r in 0.01f64..0.2,
            gap in 0.001f64..0.15,
            m in 0.01f64..0.6,
            g in -0.5f64..1.0,
            target in -0.3f64..0.6,
            speed in 0.0f64..4.0,
            rev in 0.1f64..1e4,
            k in 0.1f64..10.0,
        ) {
            let g_inf = r - gap;
            let p = plan(n, g_inf, 1.5, r, target, speed);
            let f = fade_value(&p, rev, m, g);
            let scaled = fade_value(&p, k * rev, m, g);
            proptest::prop_assert!((scaled - k * f).abs() <= 1e-9 * (k * f).abs().max(1e-9));
            let flat = plan(n, g_inf, r / m, r, m, 0.0);
            let want = rev * (1.0 + g_inf) * m / r;
            let got = fade_value(&flat, rev, m, g_inf);
            proptest::prop_assert!((got - want).abs() <= 1e-9 * want, "{} vs {}", got, want);
            let gordon = plan(0, g_inf, 1.5, r, target, speed);
            proptest::prop_assert_eq!(
                fade_value(&gordon, rev, m, g),
                fade_value(&gordon, rev, m, g_inf)
            );
        }
    }

    /// A unit whose cash stays below what its growth needs is worth less
    /// than nothing, and is reported so.
    #[test]
    fn negative_values_are_not_floored() {
        let p = plan(5, 0.02, 0.5, 0.09, -0.1, 0.0);
        assert!(fade_value(&p, 10.0, -0.1, 0.3) < 0.0);
    }
}
