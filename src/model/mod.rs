//! Validated domain types: what a scenario means once it has been checked,
//! and where a trial's figures land ([`layout`]).
//!
//! The engine only ever sees these. Every optional key of the file has been
//! resolved to its default, every name to an index, and every per-unit
//! override to the effective terms of that unit under that policy.

pub mod dist;
pub mod keys;
pub mod layout;

pub use dist::{Dist, GrowthFade, Param, Uncertain};
pub use layout::{Extra, Layout, Metric, Tracked, UnitFigure, EXTRAS};

use serde::{Deserialize, Serialize};

/// The three roles of a reset (see the model contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Long-term, high-intensity investment.
    Core,
    /// Capitalised: sold or spun off as fast as value allows.
    NonCore,
    /// Funded for a fixed cycle as an independent subsidiary.
    Innovation,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "core" => Some(Role::Core),
            "non_core" => Some(Role::NonCore),
            "innovation" => Some(Role::Innovation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Core => "core",
            Role::NonCore => "non_core",
            Role::Innovation => "innovation",
        }
    }
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub currency: String,
    pub trials: u64,
    pub seed: u64,
    pub steps_per_year: u32,
    /// Whole years, strictly increasing.
    pub horizons: Vec<u32>,
    pub discount_rate: f64,
    /// Index into `policies` of the policy others are compared against.
    pub baseline: usize,
    pub factors: Vec<String>,
    pub units: Vec<Unit>,
    pub policies: Vec<Policy>,
    /// The `[funding]` study, when the file asks for one.
    #[serde(default)]
    pub funding: Option<Funding>,
    /// Rank correlations between drawn assumptions (an extension; none by
    /// default, and then every draw is what it was without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlations: Vec<Correlation>,
}

/// The rank correlation of two drawn assumptions (`[[correlations]]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// (unit index, key) of each assumption; both are drawn.
    pub a: (usize, Param),
    pub b: (usize, Param),
    /// Spearman's rank correlation, in [-1, 1].
    pub rank: f64,
}

impl Correlation {
    /// The correlation of the normal scores that gives rank correlation
    /// `rank` between two continuous variables (Gaussian copula):
    /// 2 sin(pi rank / 6).
    pub fn normal(rank: f64) -> f64 {
        2.0 * (std::f64::consts::PI * rank / 6.0).sin()
    }
}

impl Scenario {
    /// Number of steps in a trial: max(horizons) x steps_per_year.
    pub fn steps(&self) -> usize {
        *self.horizons.last().unwrap_or(&0) as usize * self.steps_per_year as usize
    }

    pub fn dt(&self) -> f64 {
        1.0 / self.steps_per_year as f64
    }
}

/// One business group or unit, as it is under every policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    /// The role in the file; a policy may move the unit to another role.
    pub role: Role,
    /// Annual revenue run-rate at t = 0.
    pub revenue: f64,
    pub growth: f64,
    pub volatility: f64,
    pub margin: f64,
    pub target_margin: f64,
    pub margin_speed: f64,
    pub multiple_median: f64,
    pub multiple_dispersion: f64,
    /// One loading per factor, in factor order (0 where not given).
    pub loadings: Vec<f64>,
    /// sqrt(1 - sum of squared loadings): weight of the unit's own shock.
    pub idiosyncratic: f64,
    pub max_uplift: f64,
    pub half_saturation: f64,
    pub jumps: Option<Jumps>,
    /// How the unit is valued when it is still held at a horizon.
    #[serde(default)]
    pub valuation: Valuation,
    /// Keys drawn once per trial (v2), in [`Param::ALL`] order; the
    /// fields above hold each one's mean (what the digest and studies that
    /// move one number read).
    #[serde(default)]
    pub uncertain: Vec<Uncertain>,
    /// Growth that starts high and settles (v2).
    #[serde(default)]
    pub growth_fade: Option<GrowthFade>,
}

impl Unit {
    /// A unit named `name` in `role`, every number 0 and nothing drawn,
    /// for the validator to fill in.
    pub fn new(name: String, role: Role) -> Unit {
        Unit {
            name,
            role,
            revenue: 0.0,
            growth: 0.0,
            volatility: 0.0,
            margin: 0.0,
            target_margin: 0.0,
            margin_speed: 0.0,
            multiple_median: 0.0,
            multiple_dispersion: 0.0,
            loadings: Vec::new(),
            idiosyncratic: 1.0,
            max_uplift: 0.0,
            half_saturation: 0.0,
            jumps: None,
            valuation: Valuation::Multiple,
            uncertain: Vec::new(),
            growth_fade: None,
        }
    }

    /// The distribution of `param`, if the unit draws it.
    pub fn drawn(&self, param: Param) -> Option<&Dist> {
        self.uncertain
            .iter()
            .find(|u| u.param == param)
            .map(|u| &u.dist)
    }
}

/// How a unit still held at a horizon is valued (model contract, v2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Valuation {
    /// Revenue x the trial's multiple: a market price.
    #[default]
    Multiple,
    /// Growth-fade DCF of the unit's own cash (see [`crate::kernel::valuation`]).
    Fade(Fade),
}

impl Valuation {
    pub fn method(&self) -> &'static str {
        match self {
            Valuation::Multiple => "multiple",
            Valuation::Fade(_) => "fade",
        }
    }
}

/// The terms of a growth-fade valuation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fade {
    /// Years over which growth fades to `terminal_growth` (0 to 50).
    pub years: u32,
    /// Growth of the perpetuity after the fade; below the discount rate.
    pub terminal_growth: f64,
    /// Revenue added per unit of capital invested (> 0).
    pub sales_to_capital: f64,
}

/// The `[funding]` study: how long to fund each innovation unit. Every
/// unit listed is run with each number of funded years, one unit at a
/// time, under `policy`, on the base run's draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Funding {
    /// Index into `Scenario::policies`.
    pub policy: usize,
    /// Indices into `Scenario::units` (innovation units under `policy`).
    pub units: Vec<usize>,
    /// Funded years tried, ascending, 0 (not funded: the reference) first.
    pub years: Vec<f64>,
}

/// Downside (or upside) shocks: Poisson arrivals of normal log jumps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Jumps {
    pub rate: f64,
    pub mean: f64,
    pub stdev: f64,
}

impl Jumps {
    /// psi: the expected growth factor of a unit's jumps over a step of
    /// `dt` years, exp(rate dt (exp(mean + stdev^2 / 2) - 1)); 1 for no
    /// jumps (`jumps` None).
    pub fn growth_per_step(jumps: Option<&Jumps>, dt: f64) -> f64 {
        match jumps {
            Some(j) if j.rate > 0.0 => {
                libm::exp(j.rate * dt * (libm::exp(j.mean + j.stdev * j.stdev / 2.0) - 1.0))
            }
            _ => 1.0,
        }
    }
}

impl Fade {
    /// b(t): the base growth at step start `t` of a unit valued by this
    /// fade, whose v2 base growth there is `b2` (its `growth`, or
    /// growth_fade's schedule): g_inf + (b2 - g_inf) max(0, 1 - t / n),
    /// g_inf when n = 0 (model contract, v3, step 1 of the valuation).
    #[inline]
    pub fn base_growth(&self, b2: f64, t: f64) -> f64 {
        let g_inf = self.terminal_growth;
        if self.years == 0 {
            return g_inf;
        }
        g_inf + (b2 - g_inf) * (1.0 - t / self.years as f64).max(0.0)
    }

    /// a x beta = (1 + g_inf)^dt psi (1 + r)^-dt for a unit with `jumps`:
    /// the per-step growth of its expected cash after the fade,
    /// discounted. Its held value is finite only below 1.
    pub fn tail_ratio(&self, jumps: Option<&Jumps>, discount_rate: f64, spy: u32) -> f64 {
        let dt = 1.0 / spy as f64;
        let growth = libm::log1p(self.terminal_growth) - libm::log1p(discount_rate);
        libm::exp(dt * growth) * Jumps::growth_per_step(jumps, dt)
    }
}

/// A policy: how much cash is reinvested and on what terms per unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub description: String,
    pub reinvest_share: f64,
    pub recycle_share: f64,
    /// Effective terms of each unit (in unit order) under this policy.
    pub terms: Vec<Terms>,
}

/// The effective terms of one unit under one policy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    pub role: Role,
    /// Investment / revenue per year (core and non_core).
    pub intensity: f64,
    /// Exit of a non_core unit; `None` keeps it.
    pub exit: Option<Exit>,
    /// Innovation budget per year while funded.
    pub budget: f64,
    /// Innovation funding years.
    pub years: f64,
    pub gate: Option<Gate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    pub after: f64,
    pub window: f64,
    pub discount: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub year: f64,
    pub min_revenue_multiple: f64,
}

/// A number of a unit in the validated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitField {
    Revenue,
    Growth,
    FadeFrom,
    FadeYears,
    Volatility,
    Margin,
    TargetMargin,
    MarginSpeed,
    MultipleMedian,
    MultipleDispersion,
    MaxUplift,
    HalfSaturation,
    JumpRate,
    JumpMean,
    JumpStdev,
    ValuationYears,
    TerminalGrowth,
    SalesToCapital,
}

/// A number of a policy itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyField {
    Reinvest,
    Recycle,
}

/// A term of one unit under one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermField {
    Intensity,
    ExitAfter,
    ExitWindow,
    ExitDiscount,
    Budget,
    Years,
    GateYear,
    GateMin,
}

impl UnitField {
    /// The value in `u` (None: the unit has no such table: no jumps, no
    /// growth fade, valued by its multiple).
    pub fn get(self, u: &Unit) -> Option<f64> {
        let fade = match u.valuation {
            Valuation::Fade(f) => Some(f),
            Valuation::Multiple => None,
        };
        Some(match self {
            UnitField::Revenue => u.revenue,
            UnitField::Growth => u.growth,
            UnitField::FadeFrom => u.growth_fade?.from,
            UnitField::FadeYears => u.growth_fade?.years,
            UnitField::Volatility => u.volatility,
            UnitField::Margin => u.margin,
            UnitField::TargetMargin => u.target_margin,
            UnitField::MarginSpeed => u.margin_speed,
            UnitField::MultipleMedian => u.multiple_median,
            UnitField::MultipleDispersion => u.multiple_dispersion,
            UnitField::MaxUplift => u.max_uplift,
            UnitField::HalfSaturation => u.half_saturation,
            UnitField::JumpRate => u.jumps?.rate,
            UnitField::JumpMean => u.jumps?.mean,
            UnitField::JumpStdev => u.jumps?.stdev,
            UnitField::ValuationYears => f64::from(fade?.years),
            UnitField::TerminalGrowth => fade?.terminal_growth,
            UnitField::SalesToCapital => fade?.sales_to_capital,
        })
    }

    /// Sets the value in `u` where the unit has the field (see `get`); a
    /// fade's years are whole (the rule refuses others before).
    pub fn set(self, u: &mut Unit, x: f64) {
        let fade = match &mut u.valuation {
            Valuation::Fade(f) => Some(f),
            Valuation::Multiple => None,
        };
        match self {
            UnitField::Revenue => u.revenue = x,
            UnitField::Growth => u.growth = x,
            UnitField::FadeFrom => u.growth_fade.iter_mut().for_each(|g| g.from = x),
            UnitField::FadeYears => u.growth_fade.iter_mut().for_each(|g| g.years = x),
            UnitField::Volatility => u.volatility = x,
            UnitField::Margin => u.margin = x,
            UnitField::TargetMargin => u.target_margin = x,
            UnitField::MarginSpeed => u.margin_speed = x,
            UnitField::MultipleMedian => u.multiple_median = x,
            UnitField::MultipleDispersion => u.multiple_dispersion = x,
            UnitField::MaxUplift => u.max_uplift = x,
            UnitField::HalfSaturation => u.half_saturation = x,
            UnitField::JumpRate => u.jumps.iter_mut().for_each(|j| j.rate = x),
            UnitField::JumpMean => u.jumps.iter_mut().for_each(|j| j.mean = x),
            UnitField::JumpStdev => u.jumps.iter_mut().for_each(|j| j.stdev = x),
            UnitField::ValuationYears => fade.into_iter().for_each(|f| f.years = x as u32),
            UnitField::TerminalGrowth => fade.into_iter().for_each(|f| f.terminal_growth = x),
            UnitField::SalesToCapital => fade.into_iter().for_each(|f| f.sales_to_capital = x),
        }
    }
}

impl PolicyField {
    pub fn get(self, p: &Policy) -> f64 {
        match self {
            PolicyField::Reinvest => p.reinvest_share,
            PolicyField::Recycle => p.recycle_share,
        }
    }

    pub fn set(self, p: &mut Policy, x: f64) {
        match self {
            PolicyField::Reinvest => p.reinvest_share = x,
            PolicyField::Recycle => p.recycle_share = x,
        }
    }

    /// The key's row.
    pub fn key(self) -> &'static keys::Key {
        keys::by_field(keys::Field::Policy(self))
    }
}

impl TermField {
    /// The term's value (None: the unit has no exit or gate).
    pub fn get(self, t: &Terms) -> Option<f64> {
        match self {
            TermField::Intensity => Some(t.intensity),
            TermField::Budget => Some(t.budget),
            TermField::Years => Some(t.years),
            TermField::ExitAfter => t.exit.map(|e| e.after),
            TermField::ExitWindow => t.exit.map(|e| e.window),
            TermField::ExitDiscount => t.exit.map(|e| e.discount),
            TermField::GateYear => t.gate.map(|g| g.year),
            TermField::GateMin => t.gate.map(|g| g.min_revenue_multiple),
        }
    }

    /// Sets the term (an exit or gate term only where the unit has one).
    pub fn set(self, t: &mut Terms, x: f64) {
        match self {
            TermField::Intensity => t.intensity = x,
            TermField::Budget => t.budget = x,
            TermField::Years => t.years = x,
            TermField::ExitAfter => t.exit.iter_mut().for_each(|e| e.after = x),
            TermField::ExitWindow => t.exit.iter_mut().for_each(|e| e.window = x),
            TermField::ExitDiscount => t.exit.iter_mut().for_each(|e| e.discount = x),
            TermField::GateYear => t.gate.iter_mut().for_each(|g| g.year = x),
            TermField::GateMin => t.gate.iter_mut().for_each(|g| g.min_revenue_multiple = x),
        }
    }

    /// The key's row.
    pub fn key(self) -> &'static keys::Key {
        keys::by_field(keys::Field::Term(self))
    }
}
