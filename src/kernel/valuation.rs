//! The value of a unit still held at a horizon, valued by "fade" (model
//! contract, "Valuation of a unit still held at a horizon (v3: one
//! future)").
//!
//! A unit valued by the fade has ONE future: one base-growth schedule
//! anchored at t = 0 ([`Fade::base_growth`]: today's growth fading to the
//! terminal rate over `fade_years`), whose growth costs capital inside the
//! trial ([`growth_cost`], charged in step 1) exactly as after
//! the horizon. Its held value at a horizon is the expected present value
//! of the same dynamics after it with the policy's extra investment
//! stopped. That value is linear in revenue, H = R x A, and A
//! ([`FadePlan::held_multiple`]) reads only the schedule and the margin
//! path, never the draws: the plan computes it once per (unit, horizon),
//! and a trial whose drawn assumptions enter it (growth, the margin keys)
//! computes its own. Both kernels then multiply R by the same A, so the
//! scalar reference and the batch kernel perform the same operations.
//!
//! The value of a policy that decides nothing after year a is therefore
//! the same read at any horizon from a on (the tower property,
//! `tests/it/one_future.rs`).

use super::math::GrowthFactor;
use crate::model::{Fade, GrowthFade, Jumps};

/// The v2 base growth at step start `t`: `growth`, or the growth_fade
/// schedule growth + (from - growth) max(0, 1 - t / years).
#[inline]
pub fn v2_growth(growth: f64, growth_fade: Option<&GrowthFade>, t: f64) -> f64 {
    match growth_fade {
        Some(f) => growth + (f.from - growth) * f.weight(t),
        None => growth,
    }
}

/// A unit's base growth at step start `t`: the v2 rate, then the fade's
/// schedule for a unit valued by "fade".
#[inline]
pub fn unit_growth(
    growth: f64,
    growth_fade: Option<&GrowthFade>,
    fade: Option<&Fade>,
    t: f64,
) -> f64 {
    let b2 = v2_growth(growth, growth_fade, t);
    match fade {
        Some(f) => f.base_growth(b2, t),
        None => b2,
    }
}

/// G / R for a step whose base growth factor is `gf` = (1 + b)^dt, for a
/// unit with `sales_to_capital` s: ((1 + b)^dt - 1) / s, what its base
/// growth costs per unit of revenue (step 1; negative for a shrinking
/// unit).
#[inline]
pub fn growth_cost(gf: f64, sales_to_capital: f64) -> f64 {
    (gf - 1.0) / sales_to_capital
}

/// The per-unit constants of the fade valuation, computed once per run.
#[derive(Clone, Debug, PartialEq)]
pub struct FadePlan {
    pub fade: Fade,
    /// dt and steps per year.
    dt: f64,
    spy: f64,
    /// How (1 + g)^dt is computed: the trial's own function.
    gfn: GrowthFactor,
    /// beta = (1 + r)^-dt.
    beta: f64,
    /// psi: the jumps' expected growth per step.
    psi: f64,
}

impl FadePlan {
    pub fn new(
        fade: Fade,
        jumps: Option<&Jumps>,
        discount_rate: f64,
        steps_per_year: u32,
    ) -> FadePlan {
        let dt = 1.0 / steps_per_year as f64;
        FadePlan {
            fade,
            dt,
            spy: steps_per_year as f64,
            gfn: GrowthFactor::new(steps_per_year),
            beta: libm::exp(-libm::log1p(discount_rate) * dt),
            psi: Jumps::growth_per_step(jumps, dt),
        }
    }

    /// [`growth_cost`] with this unit's sales_to_capital.
    #[inline]
    pub fn growth_cost(&self, gf: f64) -> f64 {
        growth_cost(gf, self.fade.sales_to_capital)
    }

    /// A: the held value per unit of revenue at the end of step `k0 - 1`
    /// (a horizon of k0 steps), for margin `m` then, margin drifting to
    /// `target` at `speed`, base growth b(t_k) = `growth(t_k)`:
    /// H = R x A, the expected present value at the horizon of
    /// c_k = R_k m_k dt - R_k ((1 + b(t_k))^dt - 1) / s for k >= k0, with
    /// E[R_{k+1}] = R_k (1 + b(t_k))^dt psi. Steps k0..L are summed
    /// directly (L = max(n x steps_per_year, k0)); from L on, b = g_inf
    /// and the closed-form tail follows.
    pub fn held_multiple(
        &self,
        k0: usize,
        m: f64,
        target: f64,
        speed: f64,
        growth: impl Fn(f64) -> f64,
    ) -> f64 {
        let (dt, beta, psi) = (self.dt, self.beta, self.psi);
        let l = (self.fade.years as usize * self.spy as usize).max(k0);
        // R_k / R_k0, m_k and beta^(k - k0 + 1).
        let mut rho = 1.0;
        let mut m = m;
        let mut disc = beta;
        let mut sum = 0.0;
        for k in k0..l {
            let gf = self.gfn.eval(growth(k as f64 / self.spy), dt);
            let cash = rho * (m * dt - self.growth_cost(gf));
            sum += cash * disc;
            rho *= gf * psi;
            m += speed * (target - m) * dt;
            disc *= beta;
        }
        let gf_inf = self.gfn.eval(self.fade.terminal_growth, dt);
        let a = gf_inf * psi;
        let c = self.growth_cost(gf_inf);
        let q = 1.0 - speed * dt;
        let tail = rho
            * disc
            * ((target * dt - c) / (1.0 - a * beta) + (m - target) * dt / (1.0 - a * q * beta));
        sum + tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fade(years: u32, g_inf: f64, s: f64) -> Fade {
        Fade {
            years,
            terminal_growth: g_inf,
            sales_to_capital: s,
        }
    }

    /// H against the step cash summed over 400 years (the contract's
    /// brute-force check, to 1e-7 relative), with a drifting margin,
    /// growth that fades and jumps.
    #[test]
    fn held_value_is_the_brute_force_sum() {
        let jumps = Jumps {
            rate: 0.4,
            mean: -0.08,
            stdev: 0.1,
        };
        for &(n, spy, k0, jumped) in &[
            (10u32, 4u32, 12usize, true),
            (10, 4, 60, false),
            (0, 4, 8, true),
            (3, 12, 7, false),
            (5, 1, 2, true),
            (7, 3, 9, false),
        ] {
            let f = fade(n, 0.025, 1.7);
            let r = 0.085;
            let j = jumped.then_some(&jumps);
            let p = FadePlan::new(f, j, r, spy);
            let (g, target, speed) = (0.22, 0.18, 0.6);
            let m0 = 0.05;
            let growth = |t: f64| f.base_growth(g, t);
            let a = p.held_multiple(k0, m0, target, speed, growth);
            // Brute force: step by step for 400 years.
            let dt = 1.0 / spy as f64;
            let gfn = GrowthFactor::new(spy);
            let beta = (1.0 + r).powf(-dt);
            let psi = Jumps::growth_per_step(j, dt);
            let (mut rev, mut m, mut sum) = (1.0, m0, 0.0);
            for k in k0..k0 + 400 * spy as usize {
                let gf = gfn.eval(growth(k as f64 * dt), dt);
                let c = rev * m * dt - rev * (gf - 1.0) / f.sales_to_capital;
                sum += c * beta.powi((k - k0 + 1) as i32);
                rev *= gf * psi;
                m += speed * (target - m) * dt;
            }
            assert!(
                (a - sum).abs() <= 1e-7 * sum.abs(),
                "n {n} spy {spy} k0 {k0}: {a} vs {sum}"
            );
        }
    }

    /// Growth at the cost of capital creates no value: constant margin m
    /// and s = ((1 + r)^dt - 1) / (m dt) give A = 1 / s at any horizon,
    /// whatever the growth (H = R / s, so the unit is worth
    /// R_0 beta (m dt + 1 / s) at t = 0).
    #[test]
    fn growth_at_the_cost_of_capital_creates_no_value() {
        let (r, spy, m) = (0.09, 4u32, 0.2);
        let dt = 0.25;
        let s = ((1.0f64 + r).powf(dt) - 1.0) / (m * dt);
        for (n, g) in [(10, 0.0), (10, 0.25), (2, 0.6), (0, 0.4)] {
            let f = fade(n, 0.03, s);
            let p = FadePlan::new(f, None, r, spy);
            for k0 in [4, 8, 20, 48] {
                let a = p.held_multiple(k0, m, m, 0.0, |t| f.base_growth(g, t));
                assert!((a - 1.0 / s).abs() <= 1e-9 / s, "n {n} g {g} k0 {k0}: {a}");
            }
        }
    }

    #[test]
    fn the_schedule_is_anchored_at_zero() {
        let f = fade(10, 0.03, 2.0);
        assert_eq!(f.base_growth(0.15, 0.0), 0.15);
        assert!((f.base_growth(0.15, 5.0) - 0.09).abs() < 1e-15);
        assert_eq!(f.base_growth(0.15, 10.0), 0.03);
        assert_eq!(f.base_growth(0.15, 30.0), 0.03);
        assert_eq!(fade(0, 0.03, 2.0).base_growth(0.15, 0.0), 0.03);
        let gf = GrowthFade {
            from: 0.5,
            years: 2.0,
        };
        assert!((unit_growth(0.1, Some(&gf), None, 1.0) - 0.3).abs() < 1e-15);
        // b2 = 0.3 at t = 1, then a tenth of the way to g_inf.
        let b = unit_growth(0.1, Some(&gf), Some(&f), 1.0);
        assert!((b - (0.03 + 0.27 * 0.9)).abs() < 1e-15);
    }

    /// The tail is finite only while a x beta < 1; jumps move it.
    #[test]
    fn the_tail_ratio_counts_the_jumps() {
        let f = fade(10, 0.08, 2.0);
        assert!(f.tail_ratio(None, 0.09, 4) < 1.0);
        let up = Jumps {
            rate: 1.0,
            mean: 0.05,
            stdev: 0.0,
        };
        assert!(f.tail_ratio(Some(&up), 0.09, 4) > 1.0);
        assert!(fade(10, 0.09, 2.0).tail_ratio(None, 0.09, 4) >= 1.0 - 1e-15);
    }
}
