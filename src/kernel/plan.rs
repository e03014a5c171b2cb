//! Everything about a run that does not depend on the draws, computed once
//! per run: the kernel's constants ([`Plan`]), which steps are recorded
//! where (its [`Layout`]), and how each unit's draws are made.

use rand_distr::Poisson;

use super::draws::{ParamPlan, UnitBase};
use super::math::GrowthFactor;
use super::terms::{held_of_unit, margin_path, DrawPlan, JumpDraw, PolicyPlan, Response, UnitPlan};
use super::valuation::FadePlan;
use crate::model::{Layout, Tracked};
use crate::model::{Role, Scenario, Valuation};

/// Above this Poisson mean per step, counts come from `rand_distr::Poisson`
/// instead of inversion (which would need too many terms).
const INVERSION_MAX_LAMBDA: f64 = 30.0;
/// Fan-chart resolution: at most this many recorded steps per trial.
pub const MAX_PATH_POINTS: usize = 400;
/// Most units whose paths a run records (see [`Plan::for_run`]).
pub const MAX_UNIT_PATH_UNITS: usize = 40;
/// Unit paths (see [`Plan::with_unit_paths`]): at most this many recorded
/// year ends per trial.
pub const MAX_UNIT_PATH_POINTS: usize = 50;

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
    /// Per step, the policies' terms of that step, when some unit's base
    /// growth changes with the step (growth_fade, or the schedule of a
    /// unit valued by "fade"); empty otherwise (`policies` holds for every
    /// step). See [`Plan::policies_at`].
    pub(super) stepped: Vec<Vec<PolicyPlan>>,
    /// Per unit: the constants of its fade valuation (None: revenue x
    /// multiple).
    pub(super) fade: Vec<Option<FadePlan>>,
    /// The step count at the end of each horizon, in horizon order.
    pub(super) horizon_steps: Vec<usize>,
    /// Per horizon, per unit: A, the held value per unit of revenue of a
    /// unit valued by "fade" (H = R x A; 0 for units valued by
    /// "multiple"). Trials that draw what enters A have their own.
    pub(super) held: Vec<f64>,
    /// Whether investment and gates are followed per unit (a study tracks
    /// units; see [`Layout::tracked`]).
    pub(super) track: bool,
    /// Uncertain assumptions and growth fades (v2): when they exist,
    /// trials run on their own unit constants (`super::draws`).
    pub(super) params: ParamPlan,
}

impl Plan {
    pub fn new(s: &Scenario) -> Plan {
        let steps = s.steps();
        let spy = s.steps_per_year as f64;
        let dt = s.dt();
        let time = Timeline::new(s);
        let n_units = s.units.len();
        let gfn = GrowthFactor::new(s.steps_per_year);
        let policies = policy_plans(s, &time.t_end, gfn);
        let mut margin = vec![0.0; (steps + 1) * n_units];
        let of = |f: fn(&crate::model::Unit) -> f64| s.units.iter().map(f).collect::<Vec<f64>>();
        margin_path(
            &mut margin,
            &of(|u| u.margin),
            &of(|u| u.margin_speed),
            &of(|u| u.target_margin),
            dt,
        );
        let fade: Vec<Option<FadePlan>> = s
            .units
            .iter()
            .map(|u| match &u.valuation {
                Valuation::Multiple => None,
                Valuation::Fade(f) => Some(FadePlan::new(
                    *f,
                    u.jumps.as_ref(),
                    s.discount_rate,
                    s.steps_per_year,
                )),
            })
            .collect();
        let params = ParamPlan::new(s);
        let stepped = params.stepped_policies(&policies, gfn, steps, dt, spy);
        let k0s: Vec<usize> = s
            .horizons
            .iter()
            .map(|&h| h as usize * s.steps_per_year as usize)
            .collect();
        let mut held = vec![0.0; k0s.len() * n_units];
        for (i, (u, f)) in s.units.iter().zip(&fade).enumerate() {
            if let Some(f) = f {
                let speed = (u.target_margin, u.margin_speed);
                let growth = |t| params.base_growth(i, u.growth, t);
                held_of_unit(&mut held, i, n_units, &k0s, f, &margin, speed, growth);
            }
        }
        Plan {
            layout: Layout {
                policies: s.policies.len(),
                horizons: s.horizons.len(),
                units: n_units,
                path_steps: time.path_steps,
                unit_path_steps: Vec::new(),
                tracked: Vec::new(),
                drawn: params.drawn.iter().map(|d| (d.unit, d.param)).collect(),
            },
            baseline: s.baseline,
            steps,
            steps_per_year: spy,
            dt,
            growth_factor: gfn,
            n_units,
            n_factors: s.factors.len(),
            revenue0: s.units.iter().map(|u| u.revenue).collect(),
            multiple_median: s.units.iter().map(|u| u.multiple_median).collect(),
            multiple_dispersion: s.units.iter().map(|u| u.multiple_dispersion).collect(),
            draws: draw_plans(s),
            loadings: s
                .units
                .iter()
                .flat_map(|u| u.loadings.iter().copied())
                .collect(),
            margin,
            t_end: time.t_end,
            discount: time.discount,
            horizon_at: time.horizon_at,
            path_at: time.path_at,
            unit_path_at: vec![None; steps],
            policies,
            stepped,
            fade,
            held,
            horizon_steps: k0s,
            track: false,
            params,
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

    /// The unit in which `variant` alone differs from this plan, when a
    /// solo replay of it on this plan's recording gives its figures
    /// (`super::solo`): neither plan tracks units or records unit paths,
    /// every term but that unit's is equal, both draw the same
    /// assumptions of every other unit alike (`ParamPlan::same_but`), and
    /// the unit is sold under the same policies. None otherwise (also when
    /// the plans are equal).
    pub fn solo_unit(&self, variant: &Plan) -> Option<usize> {
        let plain = |p: &Plan| !p.track && p.unit_path_at.iter().all(Option::is_none);
        let shape = |p: &Plan| (p.n_units, p.n_factors);
        if !plain(self) || !plain(variant) || shape(self) != shape(variant) {
            return None;
        }
        // Every unit's terms from `variant`: exactly one may differ.
        let mut probe = self.clone();
        let changed: Vec<usize> = (0..self.n_units)
            .filter(|&i| probe.copy_unit(variant, i))
            .collect();
        let [j] = changed[..] else {
            return None;
        };
        let sold = |p: &Plan| -> Vec<bool> {
            p.policies
                .iter()
                .chain(p.stepped.iter().flatten())
                .map(|pp| pp.units[j].exit.is_some())
                .collect()
        };
        // With drawn assumptions, every unit but `j` must draw the same
        // constants in every trial (each key has a stream of its own).
        let draws = self.params.same_but(&variant.params, j);
        (sold(self) == sold(variant) && draws && probe.same_run(variant)).then_some(j)
    }

    /// Unit `i`'s terms (every entry of the plan that is unit `i`'s
    /// alone) from `other`, a plan of the same units and factors; whether
    /// any differed (numbers bit for bit).
    fn copy_unit(&mut self, other: &Plan, i: usize) -> bool {
        fn number(a: &mut f64, b: f64) -> bool {
            let differs = a.to_bits() != b.to_bits();
            *a = b;
            differs
        }
        fn term<T: PartialEq + Clone>(a: &mut T, b: &T) -> bool {
            let differs = a != b;
            a.clone_from(b);
            differs
        }
        let (n, nf) = (self.n_units, self.n_factors);
        let mut changed = number(&mut self.revenue0[i], other.revenue0[i]);
        changed |= number(&mut self.multiple_median[i], other.multiple_median[i]);
        changed |= number(
            &mut self.multiple_dispersion[i],
            other.multiple_dispersion[i],
        );
        changed |= term(&mut self.draws[i], &other.draws[i]);
        let row = i * nf..(i + 1) * nf;
        for (a, &b) in self.loadings[row.clone()]
            .iter_mut()
            .zip(&other.loadings[row])
        {
            changed |= number(a, b);
        }
        let columns = self.margin.chunks_mut(n).zip(other.margin.chunks(n));
        for (a, b) in columns.chain(self.held.chunks_mut(n).zip(other.held.chunks(n))) {
            changed |= number(&mut a[i], b[i]);
        }
        changed |= term(&mut self.fade[i], &other.fade[i]);
        let theirs = other.policies.iter().chain(other.stepped.iter().flatten());
        for (a, b) in self
            .policies
            .iter_mut()
            .chain(self.stepped.iter_mut().flatten())
            .zip(theirs)
        {
            changed |= term(&mut a.units[i], &b.units[i]);
        }
        changed
    }

    /// Whether two plans run alike: every field equal, but the uncertain
    /// assumptions' plan (`params`), which [`Plan::solo_unit`] compares
    /// apart (`ParamPlan::same_but`). Every field is named, so a new one
    /// is not forgotten.
    fn same_run(&self, o: &Plan) -> bool {
        let Plan {
            layout,
            baseline,
            steps,
            steps_per_year,
            dt,
            growth_factor,
            n_units,
            n_factors,
            revenue0,
            multiple_median,
            multiple_dispersion,
            draws,
            loadings,
            margin,
            t_end,
            discount,
            horizon_at,
            path_at,
            unit_path_at,
            policies,
            stepped,
            fade,
            horizon_steps,
            held,
            track,
            params: _,
        } = self;
        // Numbers bit for bit (a -0 is not a +0 to the kernel).
        let bits = |a: &[f64], b: &[f64]| {
            a.iter()
                .map(|x| x.to_bits())
                .eq(b.iter().map(|x| x.to_bits()))
        };
        *layout == o.layout
            && *baseline == o.baseline
            && *steps == o.steps
            && bits(&[*steps_per_year, *dt], &[o.steps_per_year, o.dt])
            && *growth_factor == o.growth_factor
            && *n_units == o.n_units
            && *n_factors == o.n_factors
            && bits(revenue0, &o.revenue0)
            && bits(multiple_median, &o.multiple_median)
            && bits(multiple_dispersion, &o.multiple_dispersion)
            && *draws == o.draws
            && bits(loadings, &o.loadings)
            && bits(margin, &o.margin)
            && bits(t_end, &o.t_end)
            && bits(discount, &o.discount)
            && *horizon_at == o.horizon_at
            && *path_at == o.path_at
            && *unit_path_at == o.unit_path_at
            && *policies == o.policies
            && *stepped == o.stepped
            && *fade == o.fade
            && *horizon_steps == o.horizon_steps
            && bits(held, &o.held)
            && *track == o.track
    }

    /// The policies' terms during step `k` (see [`Plan::stepped`]).
    #[inline(always)]
    pub(super) fn policies_at(&self, k: usize) -> &[PolicyPlan] {
        match self.stepped.get(k) {
            Some(p) => p,
            None => &self.policies,
        }
    }

    /// A of unit `i` at horizon index `hi` (0 for a unit valued by
    /// "multiple"): its held value per unit of revenue.
    pub fn held_multiple(&self, hi: usize, i: usize) -> f64 {
        self.held[hi * self.n_units + i]
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

/// When each step ends, what it is discounted by, and what is recorded
/// after it.
struct Timeline {
    t_end: Vec<f64>,
    discount: Vec<f64>,
    horizon_at: Vec<Option<usize>>,
    path_steps: Vec<usize>,
    path_at: Vec<Option<usize>>,
}

impl Timeline {
    fn new(s: &Scenario) -> Timeline {
        let steps = s.steps();
        let spy = s.steps_per_year as f64;
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
        Timeline {
            t_end,
            discount,
            horizon_at,
            path_steps,
            path_at,
        }
    }
}

/// Every policy's terms for every unit (the base growth of t = 0).
fn policy_plans(s: &Scenario, t_end: &[f64], gfn: GrowthFactor) -> Vec<PolicyPlan> {
    let steps = s.steps();
    let spy = s.steps_per_year as f64;
    let dt = s.dt();
    let first_step_at = |t: f64| t_end.iter().position(|&te| te >= t);
    s.policies
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
                    let mut up = UnitPlan {
                        intensity: if is_budget { 0.0 } else { t.intensity },
                        budget_dt: if is_budget { t.budget * dt } else { 0.0 },
                        budget_steps: if is_budget {
                            (0..steps).filter(|&k| (k as f64 / spy) < t.years).count()
                        } else {
                            0
                        },
                        is_budget,
                        growth: 0.0,
                        response: Response::default(),
                        gf_idle: 0.0,
                        gf_full: 0.0,
                        sales_to_capital: match &u.valuation {
                            Valuation::Fade(f) => f.sales_to_capital,
                            Valuation::Multiple => 0.0,
                        },
                        growth_cost: 0.0,
                        exit: exit.map(|e| (e.after, e.window)),
                        exit_keep: exit.map_or(1.0, |e| 1.0 - e.discount),
                        gate_step: gate.map_or(usize::MAX, |g| g.0),
                        gate_min_multiple: gate.map_or(0.0, |g| g.1),
                    };
                    up.set_growth(u.growth, UnitBase::of(u).response(), gfn, dt);
                    up
                })
                .collect(),
        })
        .collect()
}

/// Every unit's draw constants: its volatility's drift and diffusion,
/// its idiosyncratic share, and how its jumps are drawn.
fn draw_plans(s: &Scenario) -> Vec<DrawPlan> {
    let dt = s.dt();
    s.units
        .iter()
        .map(|u| {
            let mut d = DrawPlan {
                drift: 0.0,
                diffusion: 0.0,
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
            };
            d.set_volatility(u.volatility, dt);
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
