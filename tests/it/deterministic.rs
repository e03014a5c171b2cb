//! A scenario with no randomness, checked figure by figure against a plain,
//! separate transcription of the model contract's step list.

use crate::common::*;

#[derive(Clone, Copy)]
struct Unit {
    r0: f64,
    growth: f64,
    m0: f64,
    target: f64,
    speed: f64,
    multiple: f64,
    max_uplift: f64,
    half_sat: f64,
}

#[derive(Clone, Copy)]
enum Terms {
    Intensity {
        x: f64,
        exit: Option<(f64, f64)>,
    },
    Budget {
        budget: f64,
        years: f64,
        gate: Option<(f64, f64)>,
    },
}

struct Policy {
    reinvest: f64,
    recycle: f64,
    terms: [Terms; 4],
}

#[derive(Default)]
struct Events {
    capped_steps: usize,
    war_chest_used: f64,
    exits: usize,
    gates_failed: usize,
    gates_passed: usize,
}

const UNITS: [&str; 4] = ["Core A", "Legacy B", "Venture C", "Venture D"];

/// A fade valuation: (fade_years, terminal_growth, sales_to_capital).
type Fade = (usize, f64, f64);

/// b(t): the base growth of a unit at step start `t` (model contract, v3):
/// `growth` fading to terminal_growth over fade_years, anchored at t = 0;
/// `growth` itself for a unit valued by "multiple".
fn base_growth(u: &Unit, fade: Option<Fade>, t: f64) -> f64 {
    match fade {
        None => u.growth,
        Some((0, g_inf, _)) => g_inf,
        Some((n, g_inf, _)) => g_inf + (u.growth - g_inf) * (1.0 - t / n as f64).max(0.0),
    }
}

/// H: the held value at the end of step k0 - 1 of a unit valued by
/// "fade" (v3), as the contract defines it, summed step by step over
/// 1,000 years instead of with the closed-form tail: the unit's cash
/// R m dt - G with no policy investment, its margin drifting, its revenue
/// growing at b(t_k).
fn value_held(r: f64, m: f64, k0: usize, u: &Unit, fade: Fade, rate: f64, spy: usize) -> f64 {
    let s = fade.2;
    let dt = 1.0 / spy as f64;
    let (mut rev, mut mar, mut h) = (r, m, 0.0);
    for k in k0..k0 + 1000 * spy {
        let gf = (1.0 + base_growth(u, Some(fade), k as f64 * dt)).powf(dt);
        let cash = rev * mar * dt - rev * (gf - 1.0) / s;
        h += cash * (1.0 + rate).powf(-((k - k0 + 1) as f64) * dt);
        rev *= gf;
        mar += u.speed * (u.target - mar) * dt;
    }
    h
}

fn units() -> [Unit; 4] {
    let u = |r0, growth, m0, target, speed, multiple, max_uplift, half_sat| Unit {
        r0,
        growth,
        m0,
        target,
        speed,
        multiple,
        max_uplift,
        half_sat,
    };
    [
        u(100.0, 0.05, 0.20, 0.25, 0.5, 2.0, 0.10, 0.10),
        u(40.0, -0.02, 0.10, 0.10, 0.0, 0.8, 0.0, 0.0),
        u(5.0, 0.10, -0.5, -0.5, 0.0, 3.0, 0.5, 1.0),
        u(2.0, 0.05, -0.2, -0.2, 0.0, 4.0, 0.2, 2.0),
    ]
}

/// (horizon, value, revenue, ebita, unit values, unit revenues)
type Figures = Vec<(u64, f64, f64, f64, [f64; 4], [f64; 4])>;

/// The model contract, step by step, for one deterministic path; units
/// with a `fade` grow on its schedule, pay for their base growth and are
/// valued by it while held at a horizon (v3).
fn reference(p: &Policy, ev: &mut Events, fade: &[Option<Fade>; 4]) -> Figures {
    let us = units();
    let spy = 4usize;
    let dt = 1.0 / spy as f64;
    let r_disc = 0.08f64;
    let horizons = [1u64, 2, 3];
    let mut r: Vec<f64> = us.iter().map(|u| u.r0).collect();
    let mut m: Vec<f64> = us.iter().map(|u| u.m0).collect();
    let mut held = [true; 4];
    let mut funded = [true; 4];
    let mut gate_read = [false; 4];
    let mut unit_cash = [0.0f64; 4];
    let mut proceeds_pv = [0.0f64; 4];
    let mut w = 0.0f64;
    let mut pv = 0.0f64;
    let mut out = Vec::new();
    for k in 0..(3 * spy) {
        let t_k = k as f64 / spy as f64;
        let t_next = (k + 1) as f64 / spy as f64;
        let disc = (1.0 + r_disc).powf(-t_next);
        // 1-2
        let mut op = [0.0; 4];
        let mut req = [0.0; 4];
        for i in 0..4 {
            if !held[i] {
                continue;
            }
            op[i] = r[i] * m[i] * dt;
            if let Some((_, _, s)) = fade[i] {
                // G: what the base growth costs.
                let b = base_growth(&us[i], fade[i], t_k);
                op[i] -= r[i] * ((1.0 + b).powf(dt) - 1.0) / s;
            }
            req[i] = match p.terms[i] {
                Terms::Intensity { x, .. } => x * r[i] * dt,
                Terms::Budget { budget, years, .. } => {
                    if funded[i] && t_k < years {
                        budget * dt
                    } else {
                        0.0
                    }
                }
            };
        }
        let sum_op: f64 = op.iter().sum();
        let sum_req: f64 = req.iter().sum();
        // 3
        let base = p.reinvest * sum_op.max(0.0);
        let cap = base + w;
        let mut inv = req;
        if sum_req > cap {
            ev.capped_steps += 1;
            for x in inv.iter_mut() {
                *x *= cap / sum_req;
            }
        }
        let sum_inv: f64 = inv.iter().sum();
        let used = (sum_inv - base).max(0.0);
        ev.war_chest_used += used;
        w -= used;
        let mut sum_p = 0.0;
        for i in 0..4 {
            if !held[i] {
                continue;
            }
            let u = us[i];
            // 4
            let x = inv[i] / (r[i] * dt);
            let b = base_growth(&u, fade[i], t_k);
            let g = if x > 0.0 {
                b + u.max_uplift * x / (x + u.half_sat)
            } else {
                b
            };
            unit_cash[i] += (op[i] - inv[i]) * disc;
            r[i] = (r[i].ln() + (1.0 + g).ln() * dt).exp();
            // 5
            m[i] += u.speed * (u.target - m[i]) * dt;
            // 6
            if let Terms::Intensity {
                exit: Some((tau, discount)),
                ..
            } = p.terms[i]
            {
                if t_next >= tau {
                    let proceeds = r[i] * u.multiple * (1.0 - discount);
                    held[i] = false;
                    proceeds_pv[i] = proceeds * disc;
                    sum_p += proceeds;
                    w += p.recycle * proceeds;
                    ev.exits += 1;
                }
            }
            // 7
            if let Terms::Budget {
                gate: Some((year, min)),
                ..
            } = p.terms[i]
            {
                if !gate_read[i] && t_next >= year {
                    gate_read[i] = true;
                    if r[i] / u.r0 < min {
                        funded[i] = false;
                        ev.gates_failed += 1;
                    } else {
                        ev.gates_passed += 1;
                    }
                }
            }
        }
        let d = sum_op - sum_inv + used + (1.0 - p.recycle) * sum_p;
        pv += d * disc;
        if let Some(&h) = horizons.iter().find(|&&h| h as usize * spy == k + 1) {
            let df = (1.0 + r_disc).powf(-(h as f64));
            let mut held_value = 0.0;
            let mut rev = 0.0;
            let mut ebita = 0.0;
            let mut uv = [0.0; 4];
            let mut ur = [0.0; 4];
            for i in 0..4 {
                if held[i] {
                    let v = match fade[i] {
                        None => r[i] * us[i].multiple,
                        Some(f) => value_held(r[i], m[i], k + 1, &us[i], f, r_disc, spy),
                    };
                    held_value += v;
                    rev += r[i];
                    ebita += r[i] * m[i];
                    uv[i] = unit_cash[i] + v * df;
                    ur[i] = r[i];
                } else {
                    uv[i] = unit_cash[i] + proceeds_pv[i];
                }
            }
            out.push((h, pv + (w + held_value) * df, rev, ebita, uv, ur));
        }
    }
    out
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

#[test]
fn every_figure_matches_the_step_list() {
    check_every_figure("deterministic.toml", &[None; 4]);
}

/// tests/fixtures/deterministic_fade.toml: the file's [valuation] (4 fade
/// years, 2% terminal growth, sales/capital 1.5) for Core A and Venture C,
/// Legacy B at revenue x multiple, Venture D a Gordon unit.
#[test]
fn every_figure_matches_the_step_list_with_fade_valuation() {
    check_every_figure(
        "deterministic_fade.toml",
        &[
            Some((4, 0.02, 1.5)),
            None,
            Some((4, 0.02, 1.5)),
            Some((0, 0.04, 0.8)),
        ],
    );
}

fn check_every_figure(file: &str, fade: &[Option<Fade>; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(&fixture(file), dir.path(), &[]);
    let status_quo = Policy {
        reinvest: 0.8,
        recycle: 0.0,
        terms: [
            Terms::Intensity {
                x: 0.05,
                exit: None,
            },
            Terms::Intensity {
                x: 0.05,
                exit: None,
            },
            // override: role = "core", intensity = 0.3
            Terms::Intensity { x: 0.3, exit: None },
            Terms::Budget {
                budget: 0.5,
                years: 3.0,
                gate: None,
            },
        ],
    };
    let reset = Policy {
        reinvest: 0.5,
        recycle: 0.6,
        terms: [
            Terms::Intensity {
                x: 0.15,
                exit: None,
            },
            Terms::Intensity {
                x: 0.02,
                exit: Some((1.0, 0.1)),
            },
            Terms::Budget {
                budget: 12.0,
                years: 2.0,
                gate: Some((1.0, 1.5)),
            },
            // override: budget = 3, gate at 1.5 years, 1.01x
            Terms::Budget {
                budget: 3.0,
                years: 2.0,
                gate: Some((1.5, 1.01)),
            },
        ],
    };
    let mut ev = Events::default();
    let sq = reference(&status_quo, &mut Events::default(), fade);
    let rs = reference(&reset, &mut ev, fade);
    // The scenario really exercises what it claims to.
    assert!(ev.capped_steps > 0, "budget cap never binds");
    assert!(ev.war_chest_used > 0.0, "war chest never used");
    assert_eq!(ev.exits, 1);
    assert_eq!((ev.gates_failed, ev.gates_passed), (1, 1));

    let mut checked = 0;
    for (name, figs) in [("status_quo", &sq), ("reset", &rs)] {
        for (i, (h, value, rev, ebita, uv, ur)) in figs.iter().enumerate() {
            let base_value = sq[i].1;
            let expect = [
                ("value", None, *value),
                ("revenue", None, *rev),
                ("ebita", None, *ebita),
                ("delta_value", None, value - base_value),
            ];
            let units = (0..4).flat_map(|u| {
                [
                    ("unit_value", Some(UNITS[u]), uv[u]),
                    ("unit_revenue", Some(UNITS[u]), ur[u]),
                ]
            });
            for (metric, unit, want) in expect.into_iter().chain(units) {
                let r = row(&s, name, *h, metric, unit);
                for key in ["mean", "p5", "p25", "p50", "p75", "p95", "min", "max"] {
                    let got = f(r, key);
                    assert!(
                        close(got, want),
                        "{name} year {h} {metric} {unit:?} {key}: engine {got}, reference {want}"
                    );
                }
                assert_eq!(f(r, "stdev"), 0.0, "{name} {h} {metric} {unit:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 3 * (4 + 8));
    // Exited unit: no revenue after its exit at t = 1.
    assert_eq!(
        f(
            row(&s, "reset", 2, "unit_revenue", Some("Legacy B")),
            "mean"
        ),
        0.0
    );
}

#[test]
fn one_step_by_hand() {
    // tests/fixtures/one_step.toml, one yearly step, worked by hand:
    // op: A = 100 x 0.2 = 20, B = 10 x -0.1 = -1; sum 19; cap = 0.5 x 19 = 9.5.
    // requests: A = 0.1 x 100 = 10, B = budget 10; 20 > 9.5 so both scale by
    // 0.475: I_A = I_B = 4.75; w = max(0, 9.5 - 9.5) = 0.
    // x_A = 0.0475, g_A = 0.05 + 0.1 x 0.0475 / 0.1475; x_B = 0.475,
    // g_B = 0.2 x 0.475 / 1.475. D = 19 - 9.5 = 9.5, discounted by 1.1.
    let g_a: f64 = 0.05 + 0.1 * 0.0475 / 0.1475;
    let g_b: f64 = 0.2 * 0.475 / 1.475;
    let (ra, rb) = (100.0 * (1.0 + g_a), 10.0 * (1.0 + g_b));
    assert!((ra - 108.220_338_98).abs() < 1e-6 && (rb - 10.644_067_80).abs() < 1e-6);
    let value = (9.5 + 2.0 * ra + 3.0 * rb) / 1.1;
    let uv_a = (20.0 - 4.75 + 2.0 * ra) / 1.1;
    let uv_b = (-1.0 - 4.75 + 3.0 * rb) / 1.1;
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(&fixture("one_step.toml"), dir.path(), &[]);
    let got = |metric, unit| f(row(&s, "only", 1, metric, unit), "mean");
    assert!(
        close(got("value", None), value),
        "{} vs {value}",
        got("value", None)
    );
    assert!(close(got("revenue", None), ra + rb));
    assert!(close(got("ebita", None), 0.2 * ra - 0.1 * rb));
    assert!(close(got("unit_value", Some("A")), uv_a));
    assert!(close(got("unit_value", Some("B")), uv_b));
    assert_eq!(got("delta_value", None), 0.0);
    assert!((value - 234.429_892).abs() < 1e-5, "{value}");
}
