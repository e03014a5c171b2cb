use super::*;

fn reset() -> (Loaded, Scenario) {
    shipped("reset.toml")
}

fn shipped(name: &str) -> (Loaded, Scenario) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let loaded = crate::scenario::load_raw(&path).unwrap();
    let sc = loaded.scenario().unwrap();
    (loaded, sc)
}

/// The multiple of a unit valued by "fade" that no policy sells prices
/// nothing: its variants are the base scenario (run once for all), while
/// a sold unit's multiple and a unit's growth are not (the figures of
/// all of them against whole runs: the next test).
#[test]
fn variants_that_move_nothing_read_are_the_base() {
    let (loaded, base) = reset();
    let inputs = inputs(&loaded, &base);
    let v = passes::Variants {
        base: &base,
        inputs: &inputs,
        todo: &[],
        scenarios: &[],
        threads: None,
        last: 5,
        cancelled: None,
    };
    let at = |path: &str| {
        let i = inputs.iter().find(|i| i.path == path).unwrap();
        let sc = variant(&loaded, &base, i, i.base * 1.1).unwrap();
        v.inert(v.as_run(sc)) == v.as_run(base.clone())
    };
    assert!(at("units.\"Quark\".multiple.median"));
    assert!(at("units.\"Cloud Intelligence\".multiple.median"));
    assert!(!at("units.\"Intime\".multiple.median"), "sold by reset");
    assert!(!at("units.\"Quark\".growth"));
}

/// Every figure of the study equals the one read from a whole run
/// of its variant (`simulate_many`, itself tested against separate
/// runs), bit for bit, on 1 and 2 threads: the lever variants run as
/// extra policies (the baseline's too), the others on shared draws,
/// all keeping two figures per policy.
#[test]
fn figures_equal_whole_runs_of_the_variants() {
    figures_equal_whole_runs_of("reset.toml", 1024 + 333, 250);
}

/// The same with drawn and correlated assumptions: a unit variant runs
/// alone there too, on the per-trial constants of its own plan.
#[test]
fn figures_equal_whole_runs_of_the_variants_with_drawn_assumptions() {
    figures_equal_whole_runs_of("reset_correlated.toml", 512 + 77, 200);
}

fn figures_equal_whole_runs_of(file: &str, trials: u64, least: usize) {
    let (loaded, mut base) = shipped(file);
    base.trials = trials;
    let steps = Steps::default();
    let last = *base.horizons.last().unwrap();
    let summary = super::super::simulate(&base, Some(2)).unwrap();
    let variants = variant_scenarios(&loaded, &base, steps).unwrap();
    let whole = super::super::simulate_many(&variants, Some(2)).unwrap();
    let inputs = inputs(&loaded, &base);
    let (plans, _, _) = plan(&loaded, &base, &inputs, steps, Some(2), &|_| {});
    for threads in [1, 2] {
        let rows = run(
            &loaded,
            &base,
            &summary,
            steps,
            None,
            Some(threads),
            &|_| {},
            &|_, _| {},
            None,
        )
        .unwrap();
        assert!(!rows.is_empty());
        let mut checked = 0;
        for r in &rows {
            let k = inputs
                .iter()
                .filter(|i| moved(i, steps).is_some())
                .position(|i| i.path == r.path)
                .unwrap();
            for (side, (gain, beat)) in [(r.gain_low, r.beat_low), (r.gain_high, r.beat_high)]
                .into_iter()
                .enumerate()
            {
                let Ok((_, i)) = &plans[k][side] else {
                    continue;
                };
                let s = &whole[*i];
                let want = s.row(&r.policy, last, "delta_value", None).unwrap().mean;
                assert_eq!(gain.to_bits(), want.to_bits(), "{} {side}", r.path);
                let want = s.prob(&r.policy, last).unwrap();
                assert_eq!(beat.to_bits(), want.to_bits(), "{} {side}", r.path);
                checked += 1;
            }
        }
        // Lever variants of both policies, the baseline's included.
        assert!(rows.iter().any(|r| r.owner_name == "status_quo"));
        assert!(checked > least, "{file}: {checked}");
    }
}

/// A screened study (`top`) gives the exact study's rows, bit for bit,
/// for every input that ran to the end, the top `top` of each policy
/// among them; the others are estimates from the first blocks, within
/// their margin of the exact figure (a few may not be: the margin is
/// three standard errors), marked and noted. On 1 and 2 threads, and on
/// a scenario with several policies (each ranked on its own) and drawn
/// assumptions.
#[test]
fn a_screened_study_gives_the_top_rows_exact() {
    screened_rows_match("scenarios/reset.toml", 6 * 1024 + 333, 10, 100, &[1, 2]);
    screened_rows_match("scenarios/reset_uncertain.toml", 3 * 1024 + 5, 5, 100, &[2]);
    // A third policy: each policy other than the baseline ranked alone.
    let dir = tempfile::tempdir().unwrap();
    let three = dir.path().join("three.toml");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("scenarios/reset.toml")).unwrap();
    let extra = "\n[policies.core_only]\nreinvest_share = 0.6\ncore = { intensity = 0.05 }\nnon_core = { intensity = 0.04 }\ninnovation = { budget = 1.0, years = 5 }\n";
    std::fs::write(&three, text + extra).unwrap();
    screened_rows_match(three.to_str().unwrap(), 3 * 1024, 5, 200, &[2]);
}

fn screened_rows_match(file: &str, trials: u64, top: usize, least: usize, threads: &[usize]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let loaded = crate::scenario::load_raw(&path).unwrap();
    let mut base = loaded.scenario().unwrap();
    base.trials = trials;
    let steps = Steps::default();
    let summary = super::super::simulate(&base, Some(2)).unwrap();
    let study = |top: Option<usize>, threads: usize| {
        run(
            &loaded,
            &base,
            &summary,
            steps,
            top,
            Some(threads),
            &|_| {},
            &|_, _| {},
            None,
        )
        .unwrap()
    };
    let exact = study(None, 2);
    let key = |r: &Sensitivity| (r.policy.clone(), r.path.clone());
    let by_key: std::collections::HashMap<_, _> = exact.iter().map(|r| (key(r), r)).collect();
    for &threads in threads {
        let rows = study(Some(top), threads);
        assert_eq!(rows.len(), exact.len());
        let (mut estimated, mut outside) = (0, 0);
        for r in &rows {
            let e = by_key[&key(r)];
            match r.estimated {
                None => assert_eq!(
                    format!("{r:?}"),
                    format!("{e:?}"),
                    "{file}: {} ran every trial",
                    r.path
                ),
                Some(est) => {
                    estimated += 1;
                    assert!(est.trials < trials && est.margin.is_finite(), "{est:?}");
                    let note = r.note.as_deref().unwrap_or_default();
                    assert!(
                        note.contains(&format!("screened out of the top {top}")),
                        "{note}"
                    );
                    for (got, want) in [(r.gain_low, e.gain_low), (r.gain_high, e.gain_high)] {
                        assert_eq!(got.is_nan(), want.is_nan(), "{}", r.path);
                        outside += usize::from((got - want).abs() > est.margin);
                    }
                }
            }
        }
        assert!(estimated >= least, "{file}: {estimated} estimated rows");
        assert!(
            outside <= 2 + estimated / 50,
            "{file}: {outside} of {estimated} outside"
        );
        // Per policy, the top rows are the exact study's.
        assert_eq!(rows.len() % (base.policies.len() - 1), 0);
        for p in base
            .policies
            .iter()
            .filter(|p| p.name != base.policies[base.baseline].name)
        {
            let mine = |rows: &[Sensitivity]| -> Vec<String> {
                rows.iter()
                    .filter(|r| r.policy == p.name)
                    .take(top)
                    .map(|r| format!("{r:?}"))
                    .collect()
            };
            assert_eq!(
                mine(&rows),
                mine(&exact),
                "{file}: {} on {threads} threads",
                p.name
            );
        }
    }
}

#[test]
fn inputs_cover_units_levers_and_the_discount_rate() {
    let (loaded, sc) = reset();
    let all = inputs(&loaded, &sc);
    let find = |path: &str| {
        all.iter()
            .find(|i| i.path == path)
            .unwrap_or_else(|| panic!("no input {path}: {all:#?}"))
    };
    assert_eq!(find("scenario.discount_rate").kind, StepKind::Rate);
    let g = find("units.\"Quark\".growth");
    assert_eq!((g.kind, g.base), (StepKind::Rate, 0.10));
    assert_eq!(find("units.\"Quark\".revenue").kind, StepKind::Level);
    let b = find("policies.\"reset\".units.\"Quark\".budget");
    assert_eq!((b.kind, b.base), (StepKind::Level, 6.0));
    assert_eq!(
        find("policies.\"reset\".core.intensity").kind,
        StepKind::Rate
    );
    assert_eq!(find("policies.\"status_quo\".innovation.years").base, 5.0);
    find("policies.\"reset\".units.\"1688\".gate.min_revenue_multiple");
    find("policies.\"reset\".innovation.gate.year");
    // Units sold at their multiple have no fade inputs; units without
    // a response no response inputs; margins that do not drift no
    // target.
    assert!(!all
        .iter()
        .any(|i| i.path == "units.\"Intime\".valuation.terminal_growth"));
    assert!(!all
        .iter()
        .any(|i| i.path == "units.\"Intime\".response.max_uplift"));
    assert!(!all.iter().any(|i| i.path == "units.\"1688\".target_margin"));
    // Every input's path is one --sweep takes, and names the input's slot.
    for i in &all {
        let slot = super::super::path::slot(&i.path, &loaded.raw)
            .unwrap_or_else(|e| panic!("{}: {e}", i.path));
        assert_eq!(slot, i.slot, "{}", i.path);
    }
}

/// A variant sets its key on the raw file by registry field; the same
/// value as TOML text over the file (how sweeps set it before) gives
/// the same scenario, or the same refusal, for every input and both
/// steps of the shipped scenarios (a drawn key, a unit without its own
/// valuation table, a gate, an override among them).
#[test]
fn a_variant_is_the_scenario_its_sweep_path_gives() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let steps = Steps {
        rate: 0.06,
        level: 0.5,
    };
    for file in [
        "scenarios/reset.toml",
        "scenarios/reset_uncertain.toml",
        "scenarios/cloud_spinoff.toml",
        "tests/fixtures/fade.toml",
    ] {
        let loaded = crate::scenario::load_raw(&root.join(file)).unwrap();
        let sc = loaded.scenario().unwrap();
        let (mut same, mut refused) = (0, 0);
        for i in inputs(&loaded, &sc) {
            let Some((lo, hi)) = moved(&i, steps) else {
                continue;
            };
            for x in [lo, hi] {
                let by_text = super::super::text_patch::apply(&loaded, &i.path, x)
                    .and_then(|l| l.scenario())
                    .map(|mut s| {
                        (s.trials, s.seed) = (sc.trials, sc.seed);
                        s
                    });
                match (variant(&loaded, &sc, &i, x), by_text) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b, "{file}: {} = {x}", i.path);
                        assert_ne!(a, sc, "{file}: {} = {x} moved nothing", i.path);
                        same += 1;
                    }
                    (Err(a), Err(b)) => {
                        let b = match b {
                            Error::Input(e) => e.message,
                            other => other.to_string(),
                        };
                        assert!(a.ends_with(&b), "{file}: {}: {a} / {b}", i.path);
                        refused += 1;
                    }
                    (a, b) => panic!("{file}: {} = {x}: {a:?} against {b:?}", i.path),
                }
            }
        }
        assert!(same > 20, "{file}: {same} variants");
        assert!(
            refused > 0 || !file.contains("fade"),
            "{file}: no refusal tried"
        );
    }
}

#[test]
fn rates_move_by_points_levels_by_shares() {
    let input = |kind, base| Input {
        owner: Owner::Unit,
        owner_name: "A".into(),
        parameter: "x".into(),
        path: "units.A.x".into(),
        slot: raw::Slot::DiscountRate,
        kind,
        base,
    };
    let s = Steps::default();
    assert_eq!(moved(&input(StepKind::Rate, 0.04), s), Some((0.03, 0.05)));
    assert_eq!(
        moved(&input(StepKind::Rate, -0.016), s),
        Some((-0.026, -0.006))
    );
    assert_eq!(moved(&input(StepKind::Rate, 0.0), s), Some((-0.01, 0.01)));
    assert_eq!(moved(&input(StepKind::Level, 6.0), s), Some((5.4, 6.6)));
    assert_eq!(moved(&input(StepKind::Level, 0.0), s), None);
    let wide = Steps {
        rate: 0.02,
        level: 0.25,
    };
    assert_eq!(moved(&input(StepKind::Level, 4.0), wide), Some((3.0, 5.0)));
    assert_eq!(moved(&input(StepKind::Rate, 0.1), wide), Some((0.08, 0.12)));
}

#[test]
fn a_step_the_scenario_refuses_is_explained() {
    let (loaded, sc) = reset();
    let all = inputs(&loaded, &sc);
    let tg = all
        .iter()
        .find(|i| i.path == "units.\"Cainiao\".valuation.terminal_growth")
        .unwrap();
    // 3% + 6 points reaches the 9% discount rate (Cainiao has no
    // jumps to lower its long-run growth).
    let e = variant(&loaded, &sc, tg, 0.09).unwrap_err();
    assert!(e.contains("discount"), "{e}");
    let ok = variant(&loaded, &sc, tg, 0.05).unwrap();
    let cloud = ok.units.iter().find(|u| u.name == "Cainiao").unwrap();
    assert!(
        matches!(cloud.valuation, crate::model::Valuation::Fade(f) if f.terminal_growth == 0.05)
    );
    assert_eq!((ok.trials, ok.seed), (sc.trials, sc.seed));
}

#[test]
fn labels_read_as_words() {
    let (loaded, sc) = reset();
    let all = inputs(&loaded, &sc);
    let row = |path: &str| {
        let i = all.iter().find(|i| i.path == path).unwrap();
        Sensitivity {
            policy: "reset".into(),
            owner: i.owner,
            owner_name: i.owner_name.clone(),
            parameter: i.parameter.clone(),
            path: i.path.clone(),
            kind: i.kind,
            base: i.base,
            low: f64::NAN,
            high: f64::NAN,
            gain_base: 1.0,
            gain_low: f64::NAN,
            gain_high: 3.0,
            beat_base: 0.5,
            beat_low: f64::NAN,
            beat_high: 0.4,
            note: None,
            estimated: None,
        }
    };
    assert_eq!(row("units.\"Quark\".growth").label(), "Quark growth");
    assert_eq!(
        row("policies.\"reset\".units.\"Quark\".budget").label(),
        "reset Quark budget"
    );
    assert_eq!(
        row("policies.\"reset\".units.\"1688\".gate.year").label(),
        "reset 1688 gate year"
    );
    assert_eq!(
        row("policies.\"reset\".core.intensity").label(),
        "reset core intensity"
    );
    assert_eq!(row("scenario.discount_rate").label(), "discount rate");
    let r = row("units.\"Quark\".growth");
    assert_eq!(r.swing(), 2.0);
    assert!((r.beat_swing() - 0.1).abs() < 1e-12);
    assert_eq!(r.show(0.05), "5.0%");
    assert_eq!(r.show(-0.026), "-2.6%");
    assert_eq!(r.show(0.0325), "3.25%");
}
