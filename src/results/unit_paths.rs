//! Unit paths: each unit's EBITA and cumulative cash at year ends, per
//! policy (median, quartiles, P5-P95 and mean over trials), for the
//! `unit_paths.png` chart and `unit_paths.csv`.
//!
//! The engine records these figures only when a chart will show them
//! (see `Plan::with_unit_paths`); they are not part of summary.json, whose
//! bytes never depend on whether charts were drawn.

use std::fmt::Write;

use crate::format::{csv_field, num};
use crate::model::{Layout, Scenario, UnitFigure};
use crate::stats::Accumulator;

/// One figure of one unit under one policy after one recorded step.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub policy: usize,
    pub unit: usize,
    pub figure: UnitFigure,
    /// Years from t = 0 (0 for the starting point, which is exact).
    pub t: f64,
    pub mean: f64,
    /// P5, P25, P50, P75, P95.
    pub quantiles: [f64; 5],
}

/// Whether the run recorded unit paths.
pub fn recorded(layout: &Layout) -> bool {
    !layout.unit_path_steps.is_empty()
}

/// The path of one unit's figure under one policy, t = 0 first (EBITA
/// R0 x m0 and no cash yet), then every recorded year end. Empty when the
/// run did not record unit paths.
pub fn path(
    scenario: &Scenario,
    layout: &Layout,
    acc: &Accumulator,
    policy: usize,
    unit: usize,
    figure: UnitFigure,
) -> Vec<Point> {
    if !recorded(layout) {
        return Vec::new();
    }
    let u = &scenario.units[unit];
    let start = match figure {
        UnitFigure::Ebita => u.revenue * u.margin,
        UnitFigure::Cash => 0.0,
    };
    let spy = scenario.steps_per_year as f64;
    std::iter::once(Point {
        policy,
        unit,
        figure,
        t: 0.0,
        mean: start,
        quantiles: [start; 5],
    })
    .chain(layout.unit_path_steps.iter().enumerate().map(|(i, &k)| {
        let s = acc.stats(layout.unit_path_index(policy, i, unit, figure));
        Point {
            policy,
            unit,
            figure,
            t: (k + 1) as f64 / spy,
            mean: s.mean,
            quantiles: s.quantiles,
        }
    }))
    .collect()
}

/// `unit_paths.csv`: one line per policy, unit, figure and recorded year
/// end (t = 0 included).
pub fn to_csv(scenario: &Scenario, layout: &Layout, acc: &Accumulator) -> String {
    let mut out = String::from("policy,unit,figure,t,mean,p5,p25,p50,p75,p95\n");
    for (p, policy) in scenario.policies.iter().enumerate() {
        for (u, unit) in scenario.units.iter().enumerate() {
            for (figure, name) in [(UnitFigure::Ebita, "ebita"), (UnitFigure::Cash, "cash")] {
                for pt in path(scenario, layout, acc, p, u, figure) {
                    let q = pt.quantiles.map(num);
                    let _ = writeln!(
                        out,
                        "{},{},{name},{},{},{}",
                        csv_field(&policy.name),
                        csv_field(&unit.name),
                        num(pt.t),
                        num(pt.mean),
                        q.join(",")
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Plan;

    #[test]
    fn paths_start_at_the_known_state_and_follow_the_recorded_year_ends() {
        let path_ = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let mut sc = crate::scenario::load(&path_).unwrap();
        sc.trials = 500;
        let plan = Plan::new(&sc).with_unit_paths();
        let (plan, acc) = crate::engine::run_plan(plan, &sc, Some(1), &|_| {}, None).unwrap();
        let l = &plan.layout;
        let e = path(&sc, l, &acc, 0, 0, UnitFigure::Ebita);
        assert_eq!(e.len(), 1 + sc.horizons.last().copied().unwrap() as usize);
        assert_eq!(e[0].quantiles[2], sc.units[0].revenue * sc.units[0].margin);
        assert_eq!(
            e.iter().map(|p| p.t).collect::<Vec<_>>(),
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        let c = path(&sc, l, &acc, 0, 0, UnitFigure::Cash);
        assert_eq!(c[0].mean, 0.0);
        assert_eq!(
            c[1].mean,
            acc.stats(l.unit_path_index(0, 0, 0, UnitFigure::Cash)).mean
        );
        let csv = to_csv(&sc, l, &acc);
        let lines = csv.lines().count();
        assert_eq!(lines, 1 + sc.policies.len() * sc.units.len() * 2 * 6);
        assert!(csv.contains("\nreset,Taobao & Tmall,ebita,0.0,"));
        // Not recorded: nothing.
        let plain = Plan::new(&sc);
        assert!(path(&sc, &plain.layout, &acc, 0, 0, UnitFigure::Ebita).is_empty());
    }
}
