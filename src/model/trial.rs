//! One trial of the model contract, for every policy at once.
//!
//! The random numbers of a step are drawn once and applied to every policy
//! (common random numbers by construction). Everything that does not depend
//! on the draws is computed once per run in [`Plan`]; [`TrialState`] holds
//! the buffers one worker reuses for all its trials, so the step loop never
//! allocates.
//!
//! Draw order (part of the numbers' definition, do not reorder):
//! 1. per unit, in file order: eta_i ~ N(0,1) (exit multiple), U_i ~ U(0,1)
//!    (exit time);
//! 2. per step: each factor F_f ~ N(0,1); then per unit in file order:
//!    eps_i ~ N(0,1), and for units with jumps a uniform that gives the
//!    Poisson count n by inversion, plus one N(0,1) when n > 0 (the sum of n
//!    N(mean, stdev) jumps is drawn as n mean + stdev sqrt(n) z, the same
//!    distribution).
//!
//! Every unit's shocks are drawn every step, held or not, under every policy.

use rand::Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use super::{Role, Scenario};

/// Above this Poisson mean per step, counts come from `rand_distr::Poisson`
/// instead of inversion (which would need too many terms).
const INVERSION_MAX_LAMBDA: f64 = 30.0;
/// Fan-chart resolution: at most this many recorded steps per trial.
pub const MAX_PATH_POINTS: usize = 400;

/// What each output slot of a trial holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Value,
    Revenue,
    Ebita,
    DeltaValue,
    UnitValue(usize),
    UnitRevenue(usize),
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Value => "value",
            Metric::Revenue => "revenue",
            Metric::Ebita => "ebita",
            Metric::DeltaValue => "delta_value",
            Metric::UnitValue(_) => "unit_value",
            Metric::UnitRevenue(_) => "unit_revenue",
        }
    }

    pub fn unit(self) -> Option<usize> {
        match self {
            Metric::UnitValue(u) | Metric::UnitRevenue(u) => Some(u),
            _ => None,
        }
    }
}

/// Where each figure of a trial lands in the flat output vector.
///
/// Horizon metrics first: for policy p and horizon index h the block at
/// `(p * H + h) * stride` holds value, revenue, ebita, delta_value, then
/// each unit's value, then each unit's revenue. Then the revenue path: for
/// policy p, one slot per recorded step.
#[derive(Clone, Debug)]
pub struct Layout {
    pub policies: usize,
    pub horizons: usize,
    pub units: usize,
    /// Steps (0-based) after which the revenue path is recorded.
    pub path_steps: Vec<usize>,
}

impl Layout {
    pub fn stride(&self) -> usize {
        4 + 2 * self.units
    }

    pub fn index(&self, policy: usize, horizon: usize, metric: Metric) -> usize {
        let base = (policy * self.horizons + horizon) * self.stride();
        base + match metric {
            Metric::Value => 0,
            Metric::Revenue => 1,
            Metric::Ebita => 2,
            Metric::DeltaValue => 3,
            Metric::UnitValue(u) => 4 + u,
            Metric::UnitRevenue(u) => 4 + self.units + u,
        }
    }

    fn path_base(&self) -> usize {
        self.policies * self.horizons * self.stride()
    }

    pub fn path_index(&self, policy: usize, point: usize) -> usize {
        self.path_base() + policy * self.path_steps.len() + point
    }

    pub fn len(&self) -> usize {
        self.path_base() + self.policies * self.path_steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Metrics reported per policy and horizon, in report order.
    pub fn report_metrics(&self) -> Vec<Metric> {
        let mut m = vec![Metric::Value, Metric::Revenue, Metric::Ebita];
        m.extend((0..self.units).map(Metric::UnitValue));
        m.extend((0..self.units).map(Metric::UnitRevenue));
        m.push(Metric::DeltaValue);
        m
    }

    /// Indices of every delta_value slot (counted for P(beats baseline)),
    /// in (policy, horizon) order.
    pub fn delta_indices(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for p in 0..self.policies {
            for h in 0..self.horizons {
                v.push(self.index(p, h, Metric::DeltaValue));
            }
        }
        v
    }
}

#[derive(Clone, Copy, Debug)]
enum Request {
    /// intensity x R x dt.
    Intensity(f64),
    /// budget x dt while funded and step < `steps`.
    Budget { budget: f64, steps: usize },
}

#[derive(Clone, Copy, Debug)]
enum JumpDraw {
    Inversion { lambda: f64, p0: f64 },
    Library(Poisson<f64>),
}

#[derive(Clone, Debug)]
struct UnitPlan {
    request: Request,
    growth: f64,
    max_uplift: f64,
    half_saturation: f64,
    /// (1 + growth)^dt: the growth factor with no investment.
    gf_idle: f64,
    /// (1 + g(intensity))^dt: the factor when an intensity request is met.
    gf_full: f64,
    target_margin: f64,
    margin_speed: f64,
    /// (exit_after, exit_window, 1 - exit_discount).
    exit: Option<(f64, f64, f64)>,
    /// (step at whose end the gate is read, min_revenue_multiple).
    gate: Option<(usize, f64)>,
}

#[derive(Clone, Debug)]
struct PolicyPlan {
    reinvest: f64,
    recycle: f64,
    units: Vec<UnitPlan>,
}

/// Everything about a run that does not depend on the draws.
#[derive(Clone, Debug)]
pub struct Plan {
    pub layout: Layout,
    pub baseline: usize,
    steps: usize,
    dt: f64,
    n_units: usize,
    n_factors: usize,
    revenue0: Vec<f64>,
    margin0: Vec<f64>,
    multiple_median: Vec<f64>,
    multiple_dispersion: Vec<f64>,
    /// Per unit: -volatility^2 dt / 2 and volatility sqrt(dt).
    drift: Vec<f64>,
    diffusion: Vec<f64>,
    /// Row-major units x factors.
    loadings: Vec<f64>,
    idiosyncratic: Vec<f64>,
    jumps: Vec<Option<(JumpDraw, f64, f64)>>,
    /// t_{k+1} for each step k.
    t_end: Vec<f64>,
    /// (1 + r)^-t_{k+1} for each step k.
    discount: Vec<f64>,
    /// For each step: the horizon index recorded after it, if any.
    horizon_at: Vec<Option<usize>>,
    /// For each step: the path point recorded after it, if any.
    path_at: Vec<Option<usize>>,
    policies: Vec<PolicyPlan>,
}

/// (1 + g)^dt, with libm so that every machine computes the same bits.
fn growth_factor(g: f64, dt: f64) -> f64 {
    libm::exp(dt * libm::log1p(g))
}

fn uplift(max_uplift: f64, half_saturation: f64, x: f64) -> f64 {
    if x <= 0.0 || max_uplift == 0.0 {
        0.0
    } else {
        max_uplift * x / (x + half_saturation)
    }
}

impl Plan {
    pub fn new(s: &Scenario) -> Plan {
        let steps = s.steps();
        let spy = s.steps_per_year as f64;
        let dt = s.dt();
        let t_end: Vec<f64> = (0..steps).map(|k| (k + 1) as f64 / spy).collect();
        let ln1r = libm::log1p(s.discount_rate);
        let discount: Vec<f64> = t_end.iter().map(|&t| libm::exp(-ln1r * t)).collect();
        let mut horizon_at = vec![None; steps];
        for (hi, &h) in s.horizons.iter().enumerate() {
            horizon_at[h as usize * s.steps_per_year as usize - 1] = Some(hi);
        }
        let stride = steps.div_ceil(MAX_PATH_POINTS).max(1);
        let path_steps: Vec<usize> = (0..steps)
            .filter(|&k| (k + 1) % stride == 0 || k + 1 == steps)
            .collect();
        let mut path_at = vec![None; steps];
        for (i, &k) in path_steps.iter().enumerate() {
            path_at[k] = Some(i);
        }
        let n_units = s.units.len();
        let n_factors = s.factors.len();
        let first_step_at = |t: f64| t_end.iter().position(|&te| te >= t);
        let policies = s
            .policies
            .iter()
            .map(|p| PolicyPlan {
                reinvest: p.reinvest_share,
                recycle: p.recycle_share,
                units: s
                    .units
                    .iter()
                    .zip(&p.terms)
                    .map(|(u, t)| {
                        let request = match t.role {
                            Role::Core | Role::NonCore => Request::Intensity(t.intensity),
                            Role::Innovation => Request::Budget {
                                budget: t.budget,
                                steps: (0..steps).filter(|&k| (k as f64 / spy) < t.years).count(),
                            },
                        };
                        let gf_full = match request {
                            Request::Intensity(x) => growth_factor(
                                u.growth + uplift(u.max_uplift, u.half_saturation, x),
                                dt,
                            ),
                            Request::Budget { .. } => f64::NAN,
                        };
                        UnitPlan {
                            request,
                            growth: u.growth,
                            max_uplift: u.max_uplift,
                            half_saturation: u.half_saturation,
                            gf_idle: growth_factor(u.growth, dt),
                            gf_full,
                            target_margin: u.target_margin,
                            margin_speed: u.margin_speed,
                            exit: if t.role == Role::NonCore {
                                t.exit.map(|e| (e.after, e.window, 1.0 - e.discount))
                            } else {
                                None
                            },
                            gate: if t.role == Role::Innovation {
                                t.gate.and_then(|g| {
                                    first_step_at(g.year).map(|k| (k, g.min_revenue_multiple))
                                })
                            } else {
                                None
                            },
                        }
                    })
                    .collect(),
            })
            .collect();
        Plan {
            layout: Layout {
                policies: s.policies.len(),
                horizons: s.horizons.len(),
                units: n_units,
                path_steps,
            },
            baseline: s.baseline,
            steps,
            dt,
            n_units,
            n_factors,
            revenue0: s.units.iter().map(|u| u.revenue).collect(),
            margin0: s.units.iter().map(|u| u.margin).collect(),
            multiple_median: s.units.iter().map(|u| u.multiple_median).collect(),
            multiple_dispersion: s.units.iter().map(|u| u.multiple_dispersion).collect(),
            drift: s
                .units
                .iter()
                .map(|u| -u.volatility * u.volatility * dt / 2.0)
                .collect(),
            diffusion: s.units.iter().map(|u| u.volatility * dt.sqrt()).collect(),
            loadings: s
                .units
                .iter()
                .flat_map(|u| u.loadings.iter().copied())
                .collect(),
            idiosyncratic: s.units.iter().map(|u| u.idiosyncratic).collect(),
            jumps: s
                .units
                .iter()
                .map(|u| {
                    u.jumps.filter(|j| j.rate > 0.0).map(|j| {
                        let lambda = j.rate * dt;
                        let draw = if lambda <= INVERSION_MAX_LAMBDA {
                            JumpDraw::Inversion {
                                lambda,
                                p0: libm::exp(-lambda),
                            }
                        } else {
                            JumpDraw::Library(Poisson::new(lambda).expect("lambda > 0 and finite"))
                        };
                        (draw, j.mean, j.stdev)
                    })
                })
                .collect(),
            t_end,
            discount,
            horizon_at,
            path_at,
            policies,
        }
    }

    pub fn steps(&self) -> usize {
        self.steps
    }
}

/// One policy's state within a trial.
#[derive(Clone, Debug)]
struct PolicyState {
    r: Vec<f64>,
    m: Vec<f64>,
    held: Vec<bool>,
    funded: Vec<bool>,
    /// Step at whose end the unit exits (usize::MAX: never).
    exit_step: Vec<usize>,
    /// Discounted operating cash minus investment, per unit.
    unit_cash: Vec<f64>,
    /// Discounted exit proceeds, per unit.
    proceeds: Vec<f64>,
    op: Vec<f64>,
    req: Vec<f64>,
    war_chest: f64,
    /// Sum of discounted distributions so far.
    distributed: f64,
}

impl PolicyState {
    fn new(n: usize) -> Self {
        PolicyState {
            r: vec![0.0; n],
            m: vec![0.0; n],
            held: vec![true; n],
            funded: vec![true; n],
            exit_step: vec![usize::MAX; n],
            unit_cash: vec![0.0; n],
            proceeds: vec![0.0; n],
            op: vec![0.0; n],
            req: vec![0.0; n],
            war_chest: 0.0,
            distributed: 0.0,
        }
    }
}

/// A worker's reusable buffers; [`TrialState::run`] fills `out`.
#[derive(Clone, Debug)]
pub struct TrialState {
    multiple: Vec<f64>,
    uniform: Vec<f64>,
    factor: Vec<f64>,
    shock: Vec<f64>,
    policies: Vec<PolicyState>,
    /// The trial's figures, laid out by [`Layout`].
    pub out: Vec<f64>,
}

impl TrialState {
    pub fn new(plan: &Plan) -> Self {
        TrialState {
            multiple: vec![0.0; plan.n_units],
            uniform: vec![0.0; plan.n_units],
            factor: vec![0.0; plan.n_factors],
            shock: vec![0.0; plan.n_units],
            policies: (0..plan.policies.len())
                .map(|_| PolicyState::new(plan.n_units))
                .collect(),
            out: vec![0.0; plan.layout.len()],
        }
    }

    /// Runs one trial with `rng` and writes its figures to `self.out`.
    pub fn run<R: Rng>(&mut self, plan: &Plan, rng: &mut R) {
        let n = plan.n_units;
        for i in 0..n {
            let eta: f64 = rng.sample(StandardNormal);
            self.multiple[i] =
                plan.multiple_median[i] * libm::exp(plan.multiple_dispersion[i] * eta);
            self.uniform[i] = rng.random::<f64>();
        }
        for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
            st.r.copy_from_slice(&plan.revenue0);
            st.m.copy_from_slice(&plan.margin0);
            st.held.fill(true);
            st.funded.fill(true);
            st.unit_cash.fill(0.0);
            st.proceeds.fill(0.0);
            st.war_chest = 0.0;
            st.distributed = 0.0;
            for (i, up) in pp.units.iter().enumerate() {
                st.exit_step[i] = match up.exit {
                    Some((after, window, _)) => {
                        let tau = after + self.uniform[i] * window;
                        plan.t_end
                            .iter()
                            .position(|&t| t >= tau)
                            .unwrap_or(usize::MAX)
                    }
                    None => usize::MAX,
                };
            }
        }

        for k in 0..plan.steps {
            self.draw_step(plan, rng);
            for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
                step_policy(plan, pp, st, &self.shock, &self.multiple, k);
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon(plan, hi, k);
            }
            if let Some(pi) = plan.path_at[k] {
                for (p, st) in self.policies.iter().enumerate() {
                    let rev: f64 =
                        st.r.iter()
                            .zip(&st.held)
                            .filter(|(_, &h)| h)
                            .map(|(r, _)| r)
                            .sum();
                    self.out[plan.layout.path_index(p, pi)] = rev;
                }
            }
        }
    }

    fn draw_step<R: Rng>(&mut self, plan: &Plan, rng: &mut R) {
        for f in self.factor.iter_mut() {
            *f = rng.sample(StandardNormal);
        }
        let nf = plan.n_factors;
        for i in 0..plan.n_units {
            let eps: f64 = rng.sample(StandardNormal);
            let load = &plan.loadings[i * nf..(i + 1) * nf];
            let mut z = plan.idiosyncratic[i] * eps;
            for (l, f) in load.iter().zip(&self.factor) {
                z += l * f;
            }
            let mut log_shock = plan.drift[i] + plan.diffusion[i] * z;
            if let Some((draw, mean, stdev)) = &plan.jumps[i] {
                let count = match draw {
                    JumpDraw::Inversion { lambda, p0 } => {
                        let u: f64 = rng.random();
                        let mut n = 0u32;
                        let mut p = *p0;
                        let mut cdf = p;
                        while u >= cdf && n < 10_000 {
                            n += 1;
                            p *= lambda / n as f64;
                            cdf += p;
                            if p == 0.0 {
                                break;
                            }
                        }
                        n as f64
                    }
                    JumpDraw::Library(poisson) => poisson.sample(rng),
                };
                if count > 0.0 {
                    let z: f64 = rng.sample(StandardNormal);
                    log_shock += count * mean + stdev * count.sqrt() * z;
                }
            }
            self.shock[i] = libm::exp(log_shock);
        }
    }

    fn record_horizon(&mut self, plan: &Plan, hi: usize, k: usize) {
        let layout = &plan.layout;
        let df = plan.discount[k];
        let n = plan.n_units;
        for (p, st) in self.policies.iter().enumerate() {
            let mut held_value = 0.0;
            let mut revenue = 0.0;
            let mut ebita = 0.0;
            let base = layout.index(p, hi, Metric::Value);
            for i in 0..n {
                let (uv, ur) = if st.held[i] {
                    let v = st.r[i] * self.multiple[i];
                    held_value += v;
                    revenue += st.r[i];
                    ebita += st.r[i] * st.m[i];
                    (st.unit_cash[i] + v * df, st.r[i])
                } else {
                    (st.unit_cash[i] + st.proceeds[i], 0.0)
                };
                self.out[base + 4 + i] = uv;
                self.out[base + 4 + n + i] = ur;
            }
            self.out[base] = st.distributed + (st.war_chest + held_value) * df;
            self.out[base + 1] = revenue;
            self.out[base + 2] = ebita;
        }
        let baseline = self.out[layout.index(plan.baseline, hi, Metric::Value)];
        for p in 0..layout.policies {
            let v = self.out[layout.index(p, hi, Metric::Value)];
            self.out[layout.index(p, hi, Metric::DeltaValue)] = v - baseline;
        }
    }
}

/// Steps 1-7 of the model contract for one policy.
#[inline]
fn step_policy(
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyState,
    shock: &[f64],
    multiple: &[f64],
    k: usize,
) {
    let dt = plan.dt;
    let n = plan.n_units;
    // 1-2. Operating cash and requested investment.
    let mut sum_op = 0.0;
    let mut sum_req = 0.0;
    for i in 0..n {
        if !st.held[i] {
            continue;
        }
        let r = st.r[i];
        let op = r * st.m[i] * dt;
        st.op[i] = op;
        sum_op += op;
        let req = match pp.units[i].request {
            Request::Intensity(x) => x * r * dt,
            Request::Budget { budget, steps } => {
                if st.funded[i] && k < steps {
                    budget * dt
                } else {
                    0.0
                }
            }
        };
        st.req[i] = req;
        sum_req += req;
    }
    // 3. Budget cap and war chest.
    let from_cash = pp.reinvest * sum_op.max(0.0);
    let cap = from_cash + st.war_chest;
    let scale = if sum_req > cap { cap / sum_req } else { 1.0 };
    let disc = plan.discount[k];
    let mut sum_inv = 0.0;
    let mut sum_proceeds = 0.0;
    for i in 0..n {
        if !st.held[i] {
            continue;
        }
        let up = &pp.units[i];
        let inv = st.req[i] * scale;
        sum_inv += inv;
        // 4. Growth.
        let gf = if inv <= 0.0 || up.max_uplift == 0.0 {
            up.gf_idle
        } else if scale == 1.0 && matches!(up.request, Request::Intensity(_)) {
            up.gf_full
        } else {
            let x = inv / (st.r[i] * dt);
            growth_factor(up.growth + uplift(up.max_uplift, up.half_saturation, x), dt)
        };
        st.unit_cash[i] += (st.op[i] - inv) * disc;
        st.r[i] *= gf * shock[i];
        // 5. Margin.
        st.m[i] += up.margin_speed * (up.target_margin - st.m[i]) * dt;
        // 6. Exit.
        if k == st.exit_step[i] {
            if let Some((_, _, keep)) = up.exit {
                let proceeds = st.r[i] * multiple[i] * keep;
                st.held[i] = false;
                st.proceeds[i] = proceeds * disc;
                sum_proceeds += proceeds;
            }
        }
        // 7. Gate.
        if let Some((gate_step, min_multiple)) = up.gate {
            if k == gate_step && st.r[i] / plan.revenue0[i] < min_multiple {
                st.funded[i] = false;
            }
        }
    }
    let used = (sum_inv - from_cash).max(0.0);
    st.war_chest = (st.war_chest - used).max(0.0) + pp.recycle * sum_proceeds;
    let distribution = sum_op - sum_inv + used + (1.0 - pp.recycle) * sum_proceeds;
    st.distributed += distribution * disc;
}
