//! One run of the page's scenario and the figures the page draws from it.
//!
//! A run is the run `simulate` makes (the same plan, blocks and
//! accumulators, so the same bits), with a way out: a newer request of the
//! page makes [`run`] stop before its next block and return nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Value as Json};

use crate::engine::{self, TrialSink};
use crate::error::{Error, Result};
use crate::format::{amount, gain, money, share};
use crate::kernel::batch::Lane;
use crate::kernel::Plan;
use crate::model::{Metric, Scenario};
use crate::report::table::prob_cell;
use crate::results::funding::FundingStudy;
use crate::results::studies::{Sensitivity, Steps, Studies};
use crate::results::{check_finite, Summary};
use crate::scenario::Loaded;
use crate::stats::{histogram, Accumulator};

/// Stops a run's workers before their next block once `cancelled` says
/// so (the engine's sink mechanism; nothing is recorded).
struct Cancel<'a> {
    cancelled: &'a (dyn Fn() -> bool + Sync),
    stopped: AtomicBool,
}

impl TrialSink for Cancel<'_> {
    fn admit(&self, _block: u64) -> bool {
        if (self.cancelled)() {
            self.stopped.store(true, Ordering::Relaxed);
            false
        } else {
            true
        }
    }
    fn record(&self, _buf: &mut Vec<u8>, _first: u64, _out: &[Lane], _count: usize) {}
    fn deliver(&self, _block: u64, _records: Vec<u8>) {}
    fn error(&self) -> Option<Error> {
        self.stopped
            .load(Ordering::Relaxed)
            .then(|| Error::Usage("superseded by a newer request".into()))
    }
}

/// A finished run.
pub struct Outcome {
    pub scenario: Scenario,
    pub plan: Plan,
    pub acc: Accumulator,
    pub summary: Summary,
}

/// Runs `scenario` on the current rayon pool, as `simulate` runs it;
/// `None` when `cancelled` said so before the run ended. (The funding
/// study is [`funding`], asked for by the page once it has drawn these.)
pub fn run(scenario: Scenario, cancelled: &(dyn Fn() -> bool + Sync)) -> Result<Option<Outcome>> {
    let plan = Plan::new(&scenario);
    let cancel = Cancel {
        cancelled,
        stopped: AtomicBool::new(false),
    };
    let blocks = 0..engine::block_count(scenario.trials);
    let acc = match engine::run_blocks_to(
        &plan,
        scenario.seed,
        scenario.trials,
        blocks,
        &|_| {},
        Some(&cancel),
    ) {
        Ok(acc) => acc,
        Err(_) if cancel.stopped.load(Ordering::Relaxed) => return Ok(None),
        Err(e) => return Err(e),
    };
    check_finite(&scenario, &plan, &acc)?;
    let summary = Summary::new(&scenario, &plan, &acc);
    Ok(Some(Outcome {
        scenario,
        plan,
        acc,
        summary,
    }))
}

/// The funding study of `scenario` (`Some(None)` when it has no
/// `[funding]`), as `simulate` runs it; `None` when `cancelled` said so
/// before it ended.
pub fn funding(
    scenario: &Scenario,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Option<FundingStudy>>> {
    let cancel = Cancel {
        cancelled,
        stopped: AtomicBool::new(false),
    };
    let threads = Some(rayon::current_num_threads());
    match crate::study::funding::run_to(scenario, threads, Some(&cancel)) {
        Ok(found) => Ok(Some(found)),
        Err(_) if cancel.stopped.load(Ordering::Relaxed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The page's view of a funding study: its sentences and its rows.
pub fn funding_json(f: &FundingStudy) -> Json {
    let rows: Vec<Json> = f
        .rows
        .iter()
        .map(|r| {
            json!({
                "unit": r.unit, "years": r.years, "horizon": r.horizon,
                "gain": r.gain.mean, "gain_text": gain(r.gain.mean, r.gain.stderr),
                "p_gain": share(r.prob_gain),
                "group_gain": gain(r.group_gain.mean, r.group_gain.stderr),
                "best": r.best,
            })
        })
        .collect();
    json!({
        "sentences": crate::results::funding::sentences(f),
        "read_at": f.read_at,
        "rows": rows,
    })
}

/// How many inputs per policy the page's "what drives the gain" shows:
/// the top of the sensitivity study, screened for them.
pub const DRIVERS_TOP: usize = 5;

/// What drives each policy's gain at the last horizon: the sensitivity
/// study `simulate --sensitivity --sensitivity-top 5` runs on the same
/// scenario (same trials, seed and steps, so the same figures, bit for
/// bit), after a run of the scenario itself (the study is measured from
/// it). `None` when `cancelled` said so before it ended.
pub fn drivers(
    loaded: &Loaded,
    scenario: &Scenario,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Json>> {
    let Some(base) = run(scenario.clone(), cancelled)? else {
        return Ok(None);
    };
    let rows = crate::study::sensitivity::run(
        loaded,
        &base.scenario,
        &base.summary,
        Steps::default(),
        Some(DRIVERS_TOP),
        Some(rayon::current_num_threads()),
        &|_| {},
        &|_, _| {},
        Some(cancelled),
    );
    match rows {
        Ok(rows) => Ok(Some(drivers_json(&base, rows))),
        // Once said, `cancelled` stays said: the study stopped for it.
        Err(_) if cancelled() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The page's view of the study: per policy other than the baseline, its
/// top rows that ran every trial (at most [`DRIVERS_TOP`], each moving
/// the gain), and the headline sentence that names the top driver.
fn drivers_json(base: &Outcome, rows: Vec<Sensitivity>) -> Json {
    let s = &base.scenario;
    let last = s.horizons.last().copied().unwrap_or(1);
    let studies = Studies {
        sensitivity: rows,
        ..Default::default()
    };
    let sentences = crate::results::headline::sentences(s, &base.summary, Some(&studies));
    let signed = |x: f64| {
        if x.is_finite() {
            crate::format::signed_money(x)
        } else {
            "skipped".to_string()
        }
    };
    let policies: Vec<Json> = s
        .policies
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != s.baseline)
        .map(|(_, p)| {
            let mine: Vec<&Sensitivity> = studies
                .sensitivity
                .iter()
                .filter(|r| r.policy == p.name)
                .collect();
            let top: Vec<Json> = mine
                .iter()
                .take_while(|r| r.estimated.is_none())
                .filter(|r| r.swing() > 0.0)
                .take(DRIVERS_TOP)
                .map(|r| {
                    let (low, high) = (r.gain_low - r.gain_base, r.gain_high - r.gain_base);
                    json!({
                        "input": r.label(), "path": r.path,
                        "low": r.show(r.low), "high": r.show(r.high),
                        "change_low": low, "change_high": high,
                        "text_low": signed(low), "text_high": signed(high),
                        "note": r.note,
                    })
                })
                .collect();
            json!({
                "policy": p.name,
                "gain": mine.first().map(|r| r.gain_base),
                "inputs": mine.len(),
                "screened": mine.iter().filter(|r| r.estimated.is_some()).count(),
                "rows": top,
            })
        })
        .collect();
    json!({
        "horizon": last,
        "trials": s.trials,
        "top": DRIVERS_TOP,
        "currency": s.currency,
        "sentences": sentences
            .iter()
            .filter(|x| x.horizon == last && x.policy != s.policies[s.baseline].name)
            .map(|x| x.text.as_str())
            .collect::<Vec<_>>(),
        "policies": policies,
    })
}

/// z of a two-sided 95% band.
const Z95: f64 = 1.959_963_984_540_054;

fn stat(r: &crate::results::figures::Row) -> Json {
    json!({
        "mean": r.mean, "stderr": r.stderr, "p5": r.p5, "p50": r.p50, "p95": r.p95,
        "var": r.var, "cvar": r.cvar,
    })
}

/// The page's figures of a finished run: per horizon the headline
/// sentences, the table, each policy's paired-gain histogram and the
/// per-unit values; the funding answer when there is one.
pub fn to_json(o: &Outcome) -> Json {
    let s = &o.scenario;
    let sum = &o.summary;
    let layout = &o.plan.layout;
    let baseline = &s.policies[s.baseline].name;
    let mut horizons = Vec::new();
    for (hi, &h) in s.horizons.iter().enumerate() {
        let sentences: Vec<&str> = sum
            .headline
            .iter()
            .filter(|x| x.horizon == h)
            .map(|x| x.text.as_str())
            .collect();
        let mut rows = Vec::new();
        for p in &s.policies {
            let (Some(v), Some(d)) = (
                sum.row(&p.name, h, Metric::Value.name(), None),
                sum.row(&p.name, h, Metric::DeltaValue.name(), None),
            ) else {
                continue;
            };
            let prob = sum
                .prob_beats_baseline
                .iter()
                .find(|x| x.policy == p.name && x.horizon == h);
            let is_base = p.name == *baseline;
            let band = (d.mean - Z95 * d.stderr, d.mean + Z95 * d.stderr);
            rows.push(json!({
                "policy": p.name,
                "description": p.description,
                "baseline": is_base,
                "value": stat(v),
                "gain": stat(d),
                "band": [band.0, band.1],
                "p_beat": prob.map(|x| x.p),
                "p_beat_stderr": prob.map(|x| x.stderr),
                "text": {
                    "value": format!("{} ±{}", money(v.mean), money(v.stderr)),
                    "p5": money(v.p5),
                    "p95": money(v.p95),
                    "var": money(v.var),
                    "cvar": money(v.cvar),
                    "gain": if is_base { "-".to_string() } else { gain(d.mean, d.stderr) },
                    "band": if is_base { "-".to_string() } else {
                        format!("{} to {}", crate::format::signed_money(band.0), crate::format::signed_money(band.1))
                    },
                    "gain_p5": if is_base { "-".to_string() } else { money(d.p5) },
                    "gain_var": if is_base { "-".to_string() } else { money(d.var) },
                    "gain_cvar": if is_base { "-".to_string() } else { money(d.cvar) },
                    "p_beat": match prob {
                        Some(x) if !is_base => prob_cell(x.p, x.stderr).replace('\u{1f}', " ±"),
                        _ => "-".to_string(),
                    },
                },
            }));
        }
        // Each policy's paired gain over one range, so the shapes compare.
        let others: Vec<usize> = (0..s.policies.len()).filter(|&p| p != s.baseline).collect();
        let metrics: Vec<&crate::stats::MetricAcc> = others
            .iter()
            .map(|&p| &o.acc.metrics[layout.index(p, hi, Metric::DeltaValue)])
            .collect();
        let (lo, hi_x) = histogram::quantile_range(&metrics, 0.005, 0.995);
        let bins = histogram::bin_count(lo, hi_x, o.acc.trials);
        let hists: Vec<Json> = others
            .iter()
            .zip(&metrics)
            .map(|(&p, m)| {
                json!({
                    "policy": s.policies[p].name,
                    "shares": histogram::histogram(m, lo, hi_x, bins),
                    "p5": m.quantile(0.05), "p50": m.quantile(0.5), "p95": m.quantile(0.95),
                })
            })
            .collect();
        let units: Vec<Json> = s
            .units
            .iter()
            .enumerate()
            .map(|(u, unit)| {
                let means: Vec<Option<f64>> = s
                    .policies
                    .iter()
                    .map(|p| {
                        sum.row(&p.name, h, Metric::UnitValue(u).name(), Some(&unit.name))
                            .map(|r| r.mean)
                    })
                    .collect();
                let text: Vec<String> = means
                    .iter()
                    .map(|m| m.map_or_else(|| "-".into(), amount))
                    .collect();
                json!({"unit": unit.name, "means": means, "text": text})
            })
            .collect();
        horizons.push(json!({
            "horizon": h,
            "sentences": sentences,
            "rows": rows,
            "gain_hist": {"lo": lo, "hi": hi_x, "policies": hists},
            "units": units,
        }));
    }
    json!({
        "scenario": s.name,
        "currency": s.currency,
        "trials": o.acc.trials,
        "seed": s.seed,
        "baseline": baseline,
        "tail": sum.tail,
        "policies": s.policies.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "horizons": horizons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_run_equals_simulates_and_stops_when_cancelled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = crate::scenario::load(&root.join("scenarios/reset.toml")).unwrap();
        s.trials = 3000;
        let o = run(s.clone(), &|| false).unwrap().unwrap();
        let want = crate::study::simulate(&s, None).unwrap();
        assert_eq!(o.summary, want);
        let j = to_json(&o);
        let row = &j["horizons"][2]["rows"][1];
        assert_eq!(row["policy"], "reset");
        let d = want.row("reset", 5, "delta_value", None).unwrap();
        assert_eq!(row["gain"]["mean"].as_f64(), Some(d.mean));
        assert_eq!(row["text"]["gain"], gain(d.mean, d.stderr));
        assert_eq!(
            j["horizons"][2]["units"].as_array().unwrap().len(),
            s.units.len()
        );
        let shares = j["horizons"][2]["gain_hist"]["policies"][0]["shares"]
            .as_array()
            .unwrap();
        let total: f64 = shares.iter().filter_map(|x| x.as_f64()).sum();
        assert!(total > 0.95 && total <= 1.0 + 1e-9, "{total}");
        assert!(run(s, &|| true).unwrap().is_none());
    }

    #[test]
    fn the_funding_study_is_simulates_and_stops_when_cancelled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = crate::scenario::load(&root.join("scenarios/innovation_cycles.toml")).unwrap();
        s.trials = 1024;
        let found = funding(&s, &|| false).unwrap().unwrap().unwrap();
        let want = crate::study::funding::run(&s, None).unwrap().unwrap();
        assert_eq!(found, want);
        let j = funding_json(&found);
        assert!(!j["sentences"].as_array().unwrap().is_empty());
        assert!(funding(&s, &|| true).unwrap().is_none());
        let mut plain = s.clone();
        plain.funding = None;
        assert_eq!(funding(&plain, &|| false).unwrap(), Some(None));
    }

    /// The page's drivers are the full study's top rows (the screened
    /// study gives them exact), with the sentence naming the first; a
    /// newer request stops the base run or the study.
    #[test]
    fn the_drivers_are_the_full_studys_top_rows_and_stop_when_cancelled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = crate::scenario::load_raw(&root.join("scenarios/reset.toml")).unwrap();
        let mut s = loaded.scenario().unwrap();
        s.trials = 4096;
        let j = drivers(&loaded, &s, &|| false).unwrap().unwrap();
        let summary = crate::study::simulate(&s, Some(2)).unwrap();
        let full = crate::study::sensitivity::run(
            &loaded,
            &s,
            &summary,
            Steps::default(),
            None,
            Some(2),
            &|_| {},
            &|_, _| {},
            None,
        )
        .unwrap();
        assert_eq!(
            (j["horizon"].as_u64(), j["top"].as_u64()),
            (Some(5), Some(5))
        );
        let p = &j["policies"][0];
        assert_eq!(p["policy"], "reset");
        assert!(p["screened"].as_u64().unwrap() > 50, "{}", p["screened"]);
        let rows = p["rows"].as_array().unwrap();
        assert_eq!(rows.len(), DRIVERS_TOP);
        for (got, want) in rows.iter().zip(&full) {
            assert_eq!(got["input"].as_str(), Some(want.label().as_str()));
            assert_eq!(
                got["change_low"].as_f64(),
                Some(want.gain_low - want.gain_base)
            );
            assert_eq!(
                got["change_high"].as_f64(),
                Some(want.gain_high - want.gain_base)
            );
        }
        let sentence = j["sentences"][0].as_str().unwrap();
        let first = full[0].label();
        assert!(
            sentence.contains(&format!("The gain depends most on {first}")),
            "{sentence}"
        );
        // Stopped in the base run, and in the study (after the base run's
        // four blocks were admitted).
        assert!(drivers(&loaded, &s, &|| true).unwrap().is_none());
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let after_base = || calls.fetch_add(1, Ordering::Relaxed) >= 4;
        assert!(drivers(&loaded, &s, &after_base).unwrap().is_none());
    }
}
