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

use super::math::{self, GrowthFactor};
use super::valuation::{fade_value, FadePlan};
use super::{Role, Scenario, Valuation};

/// Above this Poisson mean per step, counts come from `rand_distr::Poisson`
/// instead of inversion (which would need too many terms).
const INVERSION_MAX_LAMBDA: f64 = 30.0;
/// Fan-chart resolution: at most this many recorded steps per trial.
pub const MAX_PATH_POINTS: usize = 400;
/// Unit paths (see [`Plan::with_unit_paths`]): at most this many recorded
/// year ends per trial.
/// Most units whose paths a run records (see [`Plan::for_run`]).
pub const MAX_UNIT_PATH_UNITS: usize = 40;
pub const MAX_UNIT_PATH_POINTS: usize = 50;

/// A figure of a unit's path, recorded at year ends when the plan asks for
/// unit paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitFigure {
    /// EBITA run-rate: R x m after the step (0 once exited), as the
    /// horizon's `ebita` sums it.
    Ebita = 0,
    /// Cumulative cash to the group: the unit's operating cash minus
    /// investment, plus its exit proceeds, each discounted to t = 0 as in
    /// its unit value.
    Cash = 1,
}

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
/// policy p, one slot per recorded step. Then, when recorded, the unit
/// paths: for policy p and recorded year end i, per unit its EBITA and its
/// cumulative cash ([`UnitFigure`]). Then, only when a study tracks units
/// ([`Tracked`]; none in a plain run), [`EXTRAS`] figures per tracked entry
/// and horizon.
#[derive(Clone, Debug)]
pub struct Layout {
    pub policies: usize,
    pub horizons: usize,
    pub units: usize,
    /// Steps (0-based) after which the revenue path is recorded.
    pub path_steps: Vec<usize>,
    /// Steps (0-based) after which unit paths are recorded (empty unless
    /// the plan asks for them).
    pub unit_path_steps: Vec<usize>,
    /// The units whose paired figures a study records (empty in a plain
    /// run, whose layout is then exactly the contract's).
    pub tracked: Vec<Tracked>,
}

/// A unit under one policy whose figures a study follows, paired against
/// the same unit under a reference policy in the same trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub policy: usize,
    pub unit: usize,
    /// The policy the gains are measured against.
    pub reference: usize,
}

/// The figures recorded per tracked entry and horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// The unit's value minus its value under the reference, same trial.
    UnitGain,
    /// The group's value minus its value under the reference, same trial.
    GroupGain,
    /// Present value (at t = 0) of what was invested in the unit so far.
    SpendPv,
    /// 1 while the unit's gate has not stopped its funding, else 0.
    GateOpen,
}

/// Figures per tracked entry and horizon.
pub const EXTRAS: usize = 4;

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

    fn unit_path_base(&self) -> usize {
        self.path_base() + self.policies * self.path_steps.len()
    }

    /// The slot of a unit's figure at recorded point `point` of its path.
    pub fn unit_path_index(
        &self,
        policy: usize,
        point: usize,
        unit: usize,
        figure: UnitFigure,
    ) -> usize {
        self.unit_path_base()
            + ((policy * self.unit_path_steps.len() + point) * self.units + unit) * 2
            + figure as usize
    }

    fn extra_base(&self) -> usize {
        self.unit_path_base() + self.policies * self.unit_path_steps.len() * self.units * 2
    }

    /// Slot of a tracked entry's figure at horizon index `horizon`.
    pub fn extra_index(&self, tracked: usize, horizon: usize, extra: Extra) -> usize {
        self.extra_base() + (tracked * self.horizons + horizon) * EXTRAS + extra as usize
    }

    pub fn len(&self) -> usize {
        self.extra_base() + self.tracked.len() * self.horizons * EXTRAS
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

    /// Every slot whose positive outcomes are counted: the delta_value
    /// slots (as [`Layout::delta_indices`], first), then each tracked
    /// entry's unit and group gains, in (entry, horizon) order.
    pub fn counted_indices(&self) -> Vec<usize> {
        let mut v = self.delta_indices();
        for t in 0..self.tracked.len() {
            for h in 0..self.horizons {
                v.push(self.extra_index(t, h, Extra::UnitGain));
                v.push(self.extra_index(t, h, Extra::GroupGain));
            }
        }
        v
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum JumpDraw {
    Inversion { lambda: f64, p0: f64 },
    Library(Poisson<f64>),
}

impl JumpDraw {
    /// A Poisson count: one uniform by inversion, or the library's sampler
    /// for large means.
    #[inline(always)]
    pub(super) fn count<R: Rng>(&self, rng: &mut R) -> f64 {
        match *self {
            JumpDraw::Inversion { lambda, p0 } => inversion_count(rng.random(), lambda, p0),
            JumpDraw::Library(poisson) => poisson.sample(rng),
        }
    }
}

/// The Poisson(lambda) count whose CDF first exceeds `u` (p0 = e^-lambda).
#[inline(always)]
pub(super) fn inversion_count(u: f64, lambda: f64, p0: f64) -> f64 {
    let mut n = 0u32;
    let mut p = p0;
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

/// The draw-side constants of one unit (shared by every policy).
#[derive(Clone, Copy, Debug)]
pub(super) struct DrawPlan {
    /// -volatility^2 dt / 2.
    pub(super) drift: f64,
    /// volatility sqrt(dt).
    pub(super) diffusion: f64,
    /// sqrt(1 - sum of squared loadings).
    pub(super) idiosyncratic: f64,
    /// (how the count is drawn, mean, stdev) for units with jumps.
    pub(super) jumps: Option<(JumpDraw, f64, f64)>,
}

/// One unit's terms under one policy.
#[derive(Clone, Copy, Debug)]
pub(super) struct UnitPlan {
    /// Intensity units: intensity (investment / revenue per year).
    pub(super) intensity: f64,
    /// Budget units (innovation): budget x dt.
    pub(super) budget_dt: f64,
    /// Budget units: the request is budget x dt while funded and the step
    /// is below this; 0 for intensity units.
    pub(super) budget_steps: usize,
    pub(super) is_budget: bool,
    pub(super) growth: f64,
    pub(super) max_uplift: f64,
    pub(super) half_saturation: f64,
    /// (1 + growth)^dt: the growth factor with no investment.
    pub(super) gf_idle: f64,
    /// (1 + g(intensity))^dt: the factor when an intensity request is met.
    pub(super) gf_full: f64,
    /// g(intensity) = growth + uplift(intensity): the rate behind `gf_full`.
    pub(super) g_full: f64,
    /// (exit_after, exit_window) for units that may exit.
    pub(super) exit: Option<(f64, f64)>,
    /// 1 - exit_discount.
    pub(super) exit_keep: f64,
    /// Step at whose end the gate is read (usize::MAX: no gate).
    pub(super) gate_step: usize,
    pub(super) gate_min_multiple: f64,
}

#[derive(Clone, Debug)]
pub(super) struct PolicyPlan {
    pub(super) reinvest: f64,
    pub(super) recycle: f64,
    pub(super) units: Vec<UnitPlan>,
}

/// Everything about a run that does not depend on the draws.
#[derive(Clone, Debug)]
pub struct Plan {
    pub layout: Layout,
    pub baseline: usize,
    pub(super) steps: usize,
    pub(super) steps_per_year: f64,
    pub(super) dt: f64,
    /// How (1 + g)^dt is computed (see `math::GrowthFactor`).
    pub(super) growth_factor: GrowthFactor,
    pub(super) n_units: usize,
    pub(super) n_factors: usize,
    pub(super) revenue0: Vec<f64>,
    pub(super) multiple_median: Vec<f64>,
    pub(super) multiple_dispersion: Vec<f64>,
    pub(super) draws: Vec<DrawPlan>,
    /// Row-major units x factors.
    pub(super) loadings: Vec<f64>,
    /// Margins do not depend on the draws or the policy: row k (units
    /// wide) holds every unit's margin during step k, row `steps` the
    /// margins after the last step.
    pub(super) margin: Vec<f64>,
    /// t_{k+1} for each step k.
    pub(super) t_end: Vec<f64>,
    /// (1 + r)^-t_{k+1} for each step k.
    pub(super) discount: Vec<f64>,
    /// For each step: the horizon index recorded after it, if any.
    pub(super) horizon_at: Vec<Option<usize>>,
    /// For each step: the path point recorded after it, if any.
    pub(super) path_at: Vec<Option<usize>>,
    /// For each step: the unit path point recorded after it, if any.
    pub(super) unit_path_at: Vec<Option<usize>>,
    pub(super) policies: Vec<PolicyPlan>,
    /// Per unit: the constants of its fade valuation (None: revenue x
    /// multiple).
    pub(super) fade: Vec<Option<FadePlan>>,
    /// For each step: whether its growth rates are kept for the fade
    /// valuation (a horizon step, in a scenario with a fade unit).
    pub(super) keep_growth: Vec<bool>,
    /// Whether investment and gates are followed per unit (a study tracks
    /// units; see [`Layout::tracked`]).
    pub(super) track: bool,
}

pub(super) fn uplift(max_uplift: f64, half_saturation: f64, x: f64) -> f64 {
    if x <= 0.0 || max_uplift == 0.0 {
        0.0
    } else {
        max_uplift * x / (x + half_saturation)
    }
}

/// The uplift of a unit that spends `inv` this step with revenue times dt
/// `r_dt`: `uplift(.., x)` at x = inv / r_dt, written with one division
/// (max_uplift inv / (inv + half_saturation r_dt)).
#[inline(always)]
pub(super) fn uplift_of_spend(max_uplift: f64, half_saturation: f64, inv: f64, r_dt: f64) -> f64 {
    if inv <= 0.0 || max_uplift == 0.0 {
        0.0
    } else {
        max_uplift * inv / (inv + half_saturation * r_dt)
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
        let gfn = GrowthFactor::new(s.steps_per_year);
        let growth_factor = |g: f64, dt: f64| gfn.eval(g, dt);
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
                        let is_budget = t.role == Role::Innovation;
                        let g_full = if is_budget {
                            f64::NAN
                        } else {
                            u.growth + uplift(u.max_uplift, u.half_saturation, t.intensity)
                        };
                        let gf_full = if is_budget {
                            f64::NAN
                        } else {
                            growth_factor(g_full, dt)
                        };
                        let exit = if t.role == Role::NonCore {
                            t.exit
                        } else {
                            None
                        };
                        let gate = if is_budget {
                            t.gate.and_then(|g| {
                                first_step_at(g.year).map(|k| (k, g.min_revenue_multiple))
                            })
                        } else {
                            None
                        };
                        UnitPlan {
                            intensity: if is_budget { 0.0 } else { t.intensity },
                            budget_dt: if is_budget { t.budget * dt } else { 0.0 },
                            budget_steps: if is_budget {
                                (0..steps).filter(|&k| (k as f64 / spy) < t.years).count()
                            } else {
                                0
                            },
                            is_budget,
                            growth: u.growth,
                            max_uplift: u.max_uplift,
                            half_saturation: u.half_saturation,
                            gf_idle: growth_factor(u.growth, dt),
                            gf_full,
                            g_full,
                            exit: exit.map(|e| (e.after, e.window)),
                            exit_keep: exit.map_or(1.0, |e| 1.0 - e.discount),
                            gate_step: gate.map_or(usize::MAX, |g| g.0),
                            gate_min_multiple: gate.map_or(0.0, |g| g.1),
                        }
                    })
                    .collect(),
            })
            .collect();
        let mut margin = Vec::with_capacity((steps + 1) * n_units);
        let mut m: Vec<f64> = s.units.iter().map(|u| u.margin).collect();
        for _ in 0..=steps {
            margin.extend_from_slice(&m);
            for (mi, u) in m.iter_mut().zip(&s.units) {
                *mi += u.margin_speed * (u.target_margin - *mi) * dt;
            }
        }
        let fade: Vec<Option<FadePlan>> = s
            .units
            .iter()
            .map(|u| match &u.valuation {
                Valuation::Multiple => None,
                Valuation::Fade(f) => Some(FadePlan::new(s, u, f)),
            })
            .collect();
        let any_fade = fade.iter().any(Option::is_some);
        let keep_growth = horizon_at.iter().map(|h| any_fade && h.is_some()).collect();
        Plan {
            layout: Layout {
                policies: s.policies.len(),
                horizons: s.horizons.len(),
                units: n_units,
                path_steps,
                unit_path_steps: Vec::new(),
                tracked: Vec::new(),
            },
            baseline: s.baseline,
            steps,
            steps_per_year: spy,
            dt,
            growth_factor: gfn,
            n_units,
            n_factors,
            revenue0: s.units.iter().map(|u| u.revenue).collect(),
            multiple_median: s.units.iter().map(|u| u.multiple_median).collect(),
            multiple_dispersion: s.units.iter().map(|u| u.multiple_dispersion).collect(),
            draws: s
                .units
                .iter()
                .map(|u| DrawPlan {
                    drift: -u.volatility * u.volatility * dt / 2.0,
                    diffusion: u.volatility * dt.sqrt(),
                    idiosyncratic: u.idiosyncratic,
                    jumps: u.jumps.filter(|j| j.rate > 0.0).map(|j| {
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
                    }),
                })
                .collect(),
            loadings: s
                .units
                .iter()
                .flat_map(|u| u.loadings.iter().copied())
                .collect(),
            margin,
            t_end,
            discount,
            horizon_at,
            path_at,
            unit_path_at: vec![None; steps],
            policies,
            fade,
            keep_growth,
            track: false,
        }
    }

    /// The same plan, also recording every unit's EBITA and cumulative
    /// cash at year ends (every k-th year end when there are more than
    /// [`MAX_UNIT_PATH_POINTS`], the last step always), for the unit path
    /// chart. The added slots come after every other one, so no other
    /// figure changes.
    pub fn with_unit_paths(mut self) -> Plan {
        let spy = self.steps_per_year as usize;
        let years = self.steps / spy.max(1);
        let every = spy * years.div_ceil(MAX_UNIT_PATH_POINTS).max(1);
        let steps: Vec<usize> = (0..self.steps)
            .filter(|&k| (k + 1) % every == 0 || k + 1 == self.steps)
            .collect();
        self.unit_path_at = vec![None; self.steps];
        for (i, &k) in steps.iter().enumerate() {
            self.unit_path_at[k] = Some(i);
        }
        self.layout.unit_path_steps = steps;
        self
    }

    /// The plan of a run: [`Plan::new`], with unit paths when the run asks
    /// for them (its charts show them) and the scenario has at most
    /// [`MAX_UNIT_PATH_UNITS`] units (a chart cannot show more, and their
    /// figures would outnumber the contract's).
    pub fn for_run(s: &Scenario, unit_paths: bool) -> Plan {
        let plan = Plan::new(s);
        if unit_paths && s.units.len() <= MAX_UNIT_PATH_UNITS {
            plan.with_unit_paths()
        } else {
            plan
        }
    }

    /// Whether the plan records unit paths.
    pub fn has_unit_paths(&self) -> bool {
        !self.layout.unit_path_steps.is_empty()
    }

    /// The plan of a run that also records `tracked` units' paired figures
    /// (the funding study). The contract's figures are the same as
    /// [`Plan::new`]'s, bit for bit; the tracked ones follow them.
    pub fn with_tracked(s: &Scenario, tracked: Vec<Tracked>) -> Plan {
        let mut plan = Plan::new(s);
        plan.track = !tracked.is_empty();
        plan.layout.tracked = tracked;
        plan
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The exit step for exit time `tau`: the first k with t_{k+1} >= tau
    /// (usize::MAX when there is none), found arithmetically and then
    /// checked against `t_end`, so it is the step a scan would find.
    pub(super) fn exit_step(&self, tau: f64) -> usize {
        let steps = self.steps;
        // NaN included: it never exits.
        if steps == 0 || tau.is_nan() || tau > self.t_end[steps - 1] {
            return usize::MAX;
        }
        // (k + 1) / spy >= tau  <=>  k >= tau spy - 1, up to rounding.
        let guess = (tau * self.steps_per_year).ceil() - 1.0;
        let mut k = if guess > 0.0 {
            (guess as usize).min(steps - 1)
        } else {
            0
        };
        while k > 0 && self.t_end[k - 1] >= tau {
            k -= 1;
        }
        while self.t_end[k] < tau {
            k += 1;
        }
        k
    }
}

/// One unit's state under one policy within a trial.
#[derive(Clone, Copy, Debug, Default)]
struct UnitState {
    r: f64,
    /// Discounted operating cash minus investment.
    unit_cash: f64,
    /// Discounted exit proceeds.
    proceeds: f64,
    /// This step's operating cash and requested investment.
    op: f64,
    req: f64,
    /// Step at whose end the unit exits (usize::MAX: never).
    exit_step: usize,
    /// Budget units are funded while the step is below this (the gate
    /// sets it to 0).
    funded_steps: usize,
    held: bool,
    /// Tracked runs only: discounted investment so far, and whether the
    /// gate has left the unit funded.
    spent: f64,
    gate_open: bool,
}

/// One policy's state within a trial.
#[derive(Clone, Debug)]
struct PolicyState {
    units: Vec<UnitState>,
    war_chest: f64,
    /// Sum of discounted distributions so far.
    distributed: f64,
    /// Sum of held revenue after the last step.
    revenue: f64,
    /// Per unit: step 4's growth rate g_i, kept at horizon steps for the
    /// fade valuation.
    growth: Vec<f64>,
}

/// Where a trial first produced a figure that is not a finite number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// 0-based step after which it happened.
    pub step: usize,
    pub policy: usize,
    /// The unit, when a unit's own figure went first.
    pub unit: Option<usize>,
    pub what: &'static str,
}

/// A worker's reusable buffers; [`TrialState::run`] fills `out`.
#[derive(Clone, Debug)]
pub struct TrialState {
    multiple: Vec<f64>,
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
            factor: vec![0.0; plan.n_factors],
            shock: vec![0.0; plan.n_units],
            policies: (0..plan.policies.len())
                .map(|_| PolicyState {
                    units: vec![UnitState::default(); plan.n_units],
                    war_chest: 0.0,
                    distributed: 0.0,
                    revenue: 0.0,
                    growth: vec![0.0; plan.n_units],
                })
                .collect(),
            out: vec![0.0; plan.layout.len()],
        }
    }

    /// Runs one trial with `rng` and writes its figures to `self.out`.
    pub fn run<R: Rng>(&mut self, plan: &Plan, rng: &mut R) {
        self.run_checked(plan, rng, false, &mut |_, _| {});
    }

    /// Runs one trial like [`TrialState::run`] (same draws, same figures)
    /// and calls `observe(k, state)` after each step k, when
    /// [`TrialState::unit_revenue`] reads every unit's revenue after it
    /// (`simulate history` records paths with it).
    pub fn run_observed<R: Rng>(
        &mut self,
        plan: &Plan,
        rng: &mut R,
        mut observe: impl FnMut(usize, &TrialState),
    ) {
        self.run_checked(plan, rng, false, &mut observe);
    }

    /// The revenue run-rate R of `unit` under `policy` after the last step
    /// run; `None` once the unit has been sold.
    pub fn unit_revenue(&self, policy: usize, unit: usize) -> Option<f64> {
        let us = self.policies.get(policy)?.units.get(unit)?;
        us.held.then_some(us.r)
    }

    /// Runs one trial, stopping at the first step after which a revenue,
    /// a cash figure or a reported figure is not finite; says where. Used
    /// to explain an overflow the engine found (never on the hot path).
    pub fn diagnose<R: Rng>(&mut self, plan: &Plan, rng: &mut R) -> Option<Overflow> {
        self.run_checked(plan, rng, true, &mut |_, _| {})
    }

    fn run_checked<R: Rng>(
        &mut self,
        plan: &Plan,
        rng: &mut R,
        check: bool,
        observe: &mut impl FnMut(usize, &TrialState),
    ) -> Option<Overflow> {
        // The exit-time uniforms, kept in `shock` until the first step
        // draws over them.
        for ((mult, u), (&median, &dispersion)) in self
            .multiple
            .iter_mut()
            .zip(self.shock.iter_mut())
            .zip(plan.multiple_median.iter().zip(&plan.multiple_dispersion))
        {
            let eta: f64 = rng.sample(StandardNormal);
            *mult = median * math::exp(dispersion * eta);
            *u = rng.random::<f64>();
        }
        for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
            st.war_chest = 0.0;
            st.distributed = 0.0;
            for (((us, up), &r0), &u) in st
                .units
                .iter_mut()
                .zip(&pp.units)
                .zip(&plan.revenue0)
                .zip(&self.shock)
            {
                *us = UnitState {
                    r: r0,
                    unit_cash: 0.0,
                    proceeds: 0.0,
                    op: 0.0,
                    req: 0.0,
                    exit_step: match up.exit {
                        Some((after, window)) => plan.exit_step(after + u * window),
                        None => usize::MAX,
                    },
                    funded_steps: up.budget_steps,
                    held: true,
                    spent: 0.0,
                    gate_open: true,
                };
            }
        }

        let n = plan.n_units;
        for k in 0..plan.steps {
            self.draw_step(plan, rng);
            let margin = &plan.margin[k * n..(k + 1) * n];
            for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
                step_policy(plan, pp, st, &self.shock, &self.multiple, margin, k);
            }
            observe(k, self);
            if check {
                for (p, st) in self.policies.iter().enumerate() {
                    for (i, us) in st.units.iter().enumerate() {
                        let bad = [
                            ("revenue", us.r),
                            ("cash flow", us.unit_cash),
                            ("exit proceeds", us.proceeds),
                        ]
                        .into_iter()
                        .find(|(_, x)| !x.is_finite());
                        if let Some((what, _)) = bad {
                            return Some(Overflow {
                                step: k,
                                policy: p,
                                unit: Some(i),
                                what,
                            });
                        }
                    }
                    if !st.distributed.is_finite() || !st.war_chest.is_finite() {
                        return Some(Overflow {
                            step: k,
                            policy: p,
                            unit: None,
                            what: "distributions",
                        });
                    }
                }
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon(plan, hi, k);
                if check {
                    for p in 0..plan.layout.policies {
                        let v = self.out[plan.layout.index(p, hi, Metric::Value)];
                        if !v.is_finite() {
                            return Some(Overflow {
                                step: k,
                                policy: p,
                                unit: None,
                                what: "value",
                            });
                        }
                    }
                }
            }
            if let Some(pi) = plan.path_at[k] {
                for (p, st) in self.policies.iter().enumerate() {
                    self.out[plan.layout.path_index(p, pi)] = st.revenue;
                }
            }
            if let Some(ui) = plan.unit_path_at[k] {
                self.record_unit_path(plan, ui, k);
            }
        }
        None
    }

    fn record_unit_path(&mut self, plan: &Plan, point: usize, k: usize) {
        let n = plan.n_units;
        let margin = &plan.margin[(k + 1) * n..(k + 2) * n];
        for (p, st) in self.policies.iter().enumerate() {
            let base = plan.layout.unit_path_index(p, point, 0, UnitFigure::Ebita);
            let out = &mut self.out[base..base + 2 * n];
            for ((us, &m), slot) in st.units.iter().zip(margin).zip(out.chunks_exact_mut(2)) {
                slot[0] = if us.held { us.r * m } else { 0.0 };
                slot[1] = us.unit_cash + us.proceeds;
            }
        }
    }

    fn draw_step<R: Rng>(&mut self, plan: &Plan, rng: &mut R) {
        for f in self.factor.iter_mut() {
            *f = rng.sample(StandardNormal);
        }
        let nf = plan.n_factors;
        let factor = &self.factor[..];
        for ((shock, dp), load) in self.shock.iter_mut().zip(&plan.draws).zip(
            plan.loadings
                .chunks_exact(nf.max(1))
                .chain(std::iter::repeat(&[][..])),
        ) {
            let eps: f64 = rng.sample(StandardNormal);
            let mut z = dp.idiosyncratic * eps;
            for (l, f) in load.iter().zip(factor) {
                z += l * f;
            }
            let mut log_shock = dp.drift + dp.diffusion * z;
            if let Some((draw, mean, stdev)) = &dp.jumps {
                let count = draw.count(rng);
                if count > 0.0 {
                    let z: f64 = rng.sample(StandardNormal);
                    log_shock += count * mean + stdev * count.sqrt() * z;
                }
            }
            *shock = math::exp(log_shock);
        }
    }

    fn record_horizon(&mut self, plan: &Plan, hi: usize, k: usize) {
        let layout = &plan.layout;
        let df = plan.discount[k];
        let n = plan.n_units;
        let margin = &plan.margin[(k + 1) * n..(k + 2) * n];
        for (p, st) in self.policies.iter().enumerate() {
            let mut held_value = 0.0;
            let mut revenue = 0.0;
            let mut ebita = 0.0;
            let base = layout.index(p, hi, Metric::Value);
            let (head, units) = self.out[base..base + 4 + 2 * n].split_at_mut(4);
            let (unit_value, unit_revenue) = units.split_at_mut(n);
            for (((((us, &mult), &m), uv), ur), (fade, &g)) in st
                .units
                .iter()
                .zip(&self.multiple)
                .zip(margin)
                .zip(unit_value)
                .zip(unit_revenue)
                .zip(plan.fade.iter().zip(&st.growth))
            {
                if us.held {
                    let v = match fade {
                        None => us.r * mult,
                        Some(f) => fade_value(f, us.r, m, g),
                    };
                    held_value += v;
                    revenue += us.r;
                    ebita += us.r * m;
                    *uv = us.unit_cash + v * df;
                    *ur = us.r;
                } else {
                    *uv = us.unit_cash + us.proceeds;
                    *ur = 0.0;
                }
            }
            head[0] = st.distributed + (st.war_chest + held_value) * df;
            head[1] = revenue;
            head[2] = ebita;
        }
        let baseline = self.out[layout.index(plan.baseline, hi, Metric::Value)];
        for p in 0..layout.policies {
            let v = self.out[layout.index(p, hi, Metric::Value)];
            self.out[layout.index(p, hi, Metric::DeltaValue)] = v - baseline;
        }
        for (t, tr) in layout.tracked.iter().enumerate() {
            let at = |p: usize, m: Metric| self.out[layout.index(p, hi, m)];
            let unit = Metric::UnitValue(tr.unit);
            let unit_gain = at(tr.policy, unit) - at(tr.reference, unit);
            let group_gain = at(tr.policy, Metric::Value) - at(tr.reference, Metric::Value);
            let us = &self.policies[tr.policy].units[tr.unit];
            for (extra, x) in [
                (Extra::UnitGain, unit_gain),
                (Extra::GroupGain, group_gain),
                (Extra::SpendPv, us.spent),
                (Extra::GateOpen, if us.gate_open { 1.0 } else { 0.0 }),
            ] {
                self.out[layout.extra_index(t, hi, extra)] = x;
            }
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
    margin: &[f64],
    k: usize,
) {
    let dt = plan.dt;
    // 1-2. Operating cash and requested investment.
    let mut sum_op = 0.0;
    let mut sum_req = 0.0;
    for ((us, up), &m) in st.units.iter_mut().zip(&pp.units).zip(margin) {
        if !us.held {
            continue;
        }
        let r = us.r;
        let op = r * m * dt;
        us.op = op;
        sum_op += op;
        let req = if !up.is_budget {
            up.intensity * r * dt
        } else if k < us.funded_steps {
            up.budget_dt
        } else {
            0.0
        };
        us.req = req;
        sum_req += req;
    }
    // 3. Budget cap and war chest.
    let from_cash = pp.reinvest * sum_op.max(0.0);
    let cap = from_cash + st.war_chest;
    let scale = if sum_req > cap { cap / sum_req } else { 1.0 };
    let disc = plan.discount[k];
    let mut sum_inv = 0.0;
    let mut sum_proceeds = 0.0;
    let mut revenue = 0.0;
    let keep_growth = plan.keep_growth[k];
    for ((((us, up), &shock), (&mult, &r0)), g_kept) in st
        .units
        .iter_mut()
        .zip(&pp.units)
        .zip(shock)
        .zip(multiple.iter().zip(&plan.revenue0))
        .zip(st.growth.iter_mut())
    {
        if !us.held {
            continue;
        }
        let inv = us.req * scale;
        sum_inv += inv;
        // 4. Growth.
        let gf = if inv <= 0.0 || up.max_uplift == 0.0 {
            up.gf_idle
        } else if scale == 1.0 && !up.is_budget {
            up.gf_full
        } else {
            let u = uplift_of_spend(up.max_uplift, up.half_saturation, inv, us.r * dt);
            plan.growth_factor.eval(up.growth + u, dt)
        };
        if keep_growth {
            // The rate behind `gf`, for the fade valuation at this horizon.
            *g_kept = if inv <= 0.0 || up.max_uplift == 0.0 {
                up.growth
            } else if scale == 1.0 && !up.is_budget {
                up.g_full
            } else {
                up.growth + uplift_of_spend(up.max_uplift, up.half_saturation, inv, us.r * dt)
            };
        }
        if plan.track {
            us.spent += inv * disc;
        }
        us.unit_cash += (us.op - inv) * disc;
        us.r *= gf * shock;
        // 5. Margin: see `Plan::margin`.
        // 6. Exit.
        if k == us.exit_step {
            let proceeds = us.r * mult * up.exit_keep;
            us.held = false;
            us.proceeds = proceeds * disc;
            sum_proceeds += proceeds;
            continue;
        }
        // 7. Gate.
        if k == up.gate_step && us.r / r0 < up.gate_min_multiple {
            us.funded_steps = 0;
            us.gate_open = false;
        }
        revenue += us.r;
    }
    let used = (sum_inv - from_cash).max(0.0);
    st.war_chest = (st.war_chest - used).max(0.0) + pp.recycle * sum_proceeds;
    let distribution = sum_op - sum_inv + used + (1.0 - pp.recycle) * sum_proceeds;
    st.distributed += distribution * disc;
    st.revenue = revenue;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::trial_rng;

    /// Recording unit paths adds slots after the others and changes none
    /// of them; at a horizon the units' EBITA add up to the group's, and an
    /// exited unit's cumulative cash is its unit value.
    #[test]
    fn unit_paths_add_slots_and_agree_with_the_horizon_figures() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let s = crate::scenario::load(&path).unwrap();
        let plain = Plan::new(&s);
        let plan = Plan::new(&s).with_unit_paths();
        assert!(!plain.has_unit_paths() && plan.has_unit_paths());
        let years = *s.horizons.last().unwrap() as usize;
        let spy = s.steps_per_year as usize;
        let want: Vec<usize> = (1..=years).map(|y| y * spy - 1).collect();
        assert_eq!(plan.layout.unit_path_steps, want);
        let l = &plan.layout;
        assert_eq!(
            l.len(),
            plain.layout.len() + l.policies * years * l.units * 2
        );
        let mut a = TrialState::new(&plain);
        let mut b = TrialState::new(&plan);
        let mut checked_exit = false;
        for trial in 0..20 {
            a.run(&plain, &mut trial_rng(s.seed, trial));
            b.run(&plan, &mut trial_rng(s.seed, trial));
            for (x, y) in a.out.iter().zip(&b.out) {
                assert_eq!(x.to_bits(), y.to_bits());
            }
            for (h, &years) in s.horizons.iter().enumerate() {
                let point = years as usize - 1;
                for p in 0..l.policies {
                    let mut ebita = 0.0;
                    for u in 0..l.units {
                        let e = b.out[l.unit_path_index(p, point, u, UnitFigure::Ebita)];
                        let cash = b.out[l.unit_path_index(p, point, u, UnitFigure::Cash)];
                        ebita += e;
                        if b.out[l.index(p, h, Metric::UnitRevenue(u))] == 0.0 {
                            assert_eq!(e, 0.0);
                            assert_eq!(cash, b.out[l.index(p, h, Metric::UnitValue(u))]);
                            checked_exit = true;
                        }
                    }
                    assert_eq!(ebita, b.out[l.index(p, h, Metric::Ebita)]);
                }
            }
        }
        assert!(checked_exit, "reset.toml sells units");
    }

    #[test]
    fn long_runs_record_at_most_the_bounded_number_of_year_ends() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let mut s = crate::scenario::load(&path).unwrap();
        s.horizons = vec![3, 99];
        let plan = Plan::new(&s).with_unit_paths();
        let steps = &plan.layout.unit_path_steps;
        assert!(steps.len() <= MAX_UNIT_PATH_POINTS);
        assert_eq!(*steps.last().unwrap(), plan.steps() - 1);
        assert_eq!(steps[0], 2 * s.steps_per_year as usize - 1);
    }
}
