//! Where each figure of a trial lands: the flat output vector every layer
//! shares (the kernel writes it, the accumulators aggregate it slot by slot,
//! the summaries and charts read it back by [`Metric`] and horizon).
//!
//! It is part of the model because every layer above the kernel reads it,
//! and none of them needs the kernel to do so.

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
/// and horizon. Last, only in a scenario that draws assumptions
/// ([`Layout::drawn`]): each drawn value, standardized, then for each
/// drawn value and policy its product with the policy's value and with its
/// delta_value at the last horizon (the cross-moments of the uncertainty
/// view, aggregated like every other slot).
#[derive(Clone, Debug, PartialEq)]
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
    /// The assumptions drawn per trial, (unit, key), in the order of
    /// their slots (empty unless the scenario draws some).
    pub drawn: Vec<(usize, crate::model::Param)>,
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

    /// The slots of policy `policy` at horizon index `horizon` in `out` (a
    /// trial's figures, or a batch's lanes): the four group figures
    /// (value, revenue, ebita, delta_value), each unit's value, and each
    /// unit's revenue.
    pub fn horizon_slots<'a, T>(
        &self,
        out: &'a mut [T],
        policy: usize,
        horizon: usize,
    ) -> (&'a mut [T], &'a mut [T], &'a mut [T]) {
        let base = self.index(policy, horizon, Metric::Value);
        let (head, units) = out[base..base + self.stride()].split_at_mut(4);
        let (value, revenue) = units.split_at_mut(self.units);
        (head, value, revenue)
    }

    fn path_base(&self) -> usize {
        self.policies * self.horizons * self.stride()
    }

    pub fn path_index(&self, policy: usize, point: usize) -> usize {
        self.path_base() + policy * self.path_steps.len() + point
    }

    /// The slots of every policy's revenue path.
    pub fn path_slots(&self) -> std::ops::Range<usize> {
        self.path_base()..self.unit_path_base()
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

    fn drawn_base(&self) -> usize {
        self.extra_base() + self.tracked.len() * self.horizons * EXTRAS
    }

    /// Slot of drawn assumption `d`'s standardized value, (x - mean) /
    /// stdev of its distribution.
    pub fn drawn_index(&self, d: usize) -> usize {
        self.drawn_base() + d
    }

    /// Slot of drawn assumption `d`'s standardized value times `metric`
    /// (`Value` or `DeltaValue`) of `policy` at the last horizon.
    pub fn cross_index(&self, d: usize, policy: usize, metric: Metric) -> usize {
        let which = usize::from(metric == Metric::DeltaValue);
        self.drawn_base() + self.drawn.len() + (d * self.policies + policy) * 2 + which
    }

    pub fn len(&self) -> usize {
        self.drawn_base() + self.drawn.len() * (1 + 2 * self.policies)
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
