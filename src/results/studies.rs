//! What the studies of a run found: the figures the report, its charts,
//! the workbook and the headline sentences read.
//!
//! The studies themselves (which variants run, on which draws) are in
//! `crate::study`; these are their findings only, so that everything that
//! presents them sits below the code that computes them.

use super::funding::FundingStudy;

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Dotted path, e.g. `policies.reset.innovation.years`.
    pub path: String,
    pub values: Vec<f64>,
}

impl Sweep {
    /// The swept input as a reader names it: "reset's innovation years",
    /// "reset's Quark budget", "Quark growth", "discount rate".
    pub fn label(&self) -> String {
        // Split at dots outside quotes; drop the quotes.
        let mut parts: Vec<String> = vec![String::new()];
        let mut quoted = false;
        for c in self.path.chars() {
            match c {
                '"' => quoted = !quoted,
                '.' if !quoted => parts.push(String::new()),
                c => parts.last_mut().map_or((), |p| p.push(c)),
            }
        }
        let words = |s: &str| s.replace('_', " ");
        let rest: Vec<String> = match parts.first().map(String::as_str) {
            Some("policies") if parts.len() > 2 => {
                let policy = &parts[1];
                let tail: Vec<String> = parts[2..]
                    .iter()
                    .filter(|p| p.as_str() != "units")
                    .map(|p| words(p))
                    .collect();
                return format!("{policy}'s {}", tail.join(" "));
            }
            Some("units") | Some("scenario") | Some("valuation") => {
                parts[1..].iter().map(|p| words(p)).collect()
            }
            _ => parts.iter().map(|p| words(p)).collect(),
        };
        rest.join(" ")
    }
}

impl std::str::FromStr for Sweep {
    type Err = String;

    /// `PATH=v1,v2,...` (the command-line form).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (path, values) = s
            .split_once('=')
            .ok_or_else(|| format!("expected PATH=v1,v2,..., got {s:?}"))?;
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("sweep value {v:?} is not a finite number"))
            })
            .collect::<std::result::Result<Vec<f64>, String>>()?;
        if values.is_empty() {
            return Err("a sweep needs at least one value".into());
        }
        Ok(Sweep {
            path: path.trim().to_string(),
            values,
        })
    }
}

/// The headline figures of one policy at one horizon of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    pub policy: String,
    pub horizon: u32,
    pub mean: f64,
    pub stderr: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
    /// The paired gain over the baseline: mean, its standard error (the
    /// same trials under both policies, so the noise of the world cancels)
    /// and median.
    pub delta_mean: f64,
    pub delta_stderr: f64,
    pub delta_p50: f64,
    pub prob_beats_baseline: f64,
    /// Standard error of `prob_beats_baseline`.
    pub prob_stderr: f64,
}

impl Headline {
    /// The 95% confidence band of the mean gain (+-1.96 standard errors).
    pub fn delta_band(&self) -> (f64, f64) {
        let h = 1.959_963_984_540_054 * self.delta_stderr;
        (self.delta_mean - h, self.delta_mean + h)
    }
}

/// One grid point of a sweep and its results.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// One value per swept parameter.
    pub values: Vec<f64>,
    pub headlines: Vec<Headline>,
}

/// How the sensitivity study moves an input: a rate (growth, a margin, a
/// share, an intensity, the discount rate) by an additive step, a level
/// (revenue, a multiple, a budget, years) by a relative one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Moved by `Steps::rate` (0.01: one point, 4% -> 3% and 5%).
    Rate,
    /// Moved by `Steps::level` of itself (0.1: 5 -> 4.5 and 5.5).
    Level,
}

impl StepKind {
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Rate => "rate",
            StepKind::Level => "level",
        }
    }
}

/// The steps of a sensitivity study.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steps {
    /// Added to and taken from each rate.
    pub rate: f64,
    /// Share of itself each level moves by.
    pub level: f64,
}

impl Default for Steps {
    fn default() -> Steps {
        Steps {
            rate: 0.01,
            level: 0.1,
        }
    }
}

impl Steps {
    /// "rates ±1 point, levels ±10%".
    pub fn describe(&self) -> String {
        let pts = crate::format::exact(100.0 * self.rate);
        format!(
            "rates ±{pts} point{}, levels ±{}%",
            if pts == "1" { "" } else { "s" },
            crate::format::exact(100.0 * self.level)
        )
    }
}

/// What a sensitivity input belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A unit's assumption (the same under every policy).
    Unit,
    /// A policy's lever.
    Policy,
    /// The scenario's own rate (the discount rate).
    Scenario,
}

/// One input of the sensitivity study and what moving it did to one
/// policy's paired gain over the baseline at the last horizon.
#[derive(Clone, Debug)]
pub struct Sensitivity {
    /// The policy whose gain this row measures (never the baseline).
    pub policy: String,
    pub owner: Owner,
    /// The unit's or policy's name ("scenario" for the scenario's rates).
    pub owner_name: String,
    /// The key under the owner, dotted as in the file: `growth`,
    /// `multiple.median`, `innovation.budget`, `units.Quark.budget`.
    pub parameter: String,
    /// The dotted path that sets it (as `--sweep` takes it).
    pub path: String,
    pub kind: StepKind,
    pub base: f64,
    /// The moved values; NaN (with its figures) where the step would leave
    /// the input's range and was skipped (see [`Sensitivity::note`]).
    pub low: f64,
    pub high: f64,
    /// Mean paired gain over the baseline: base run, input low, high.
    pub gain_base: f64,
    pub gain_low: f64,
    pub gain_high: f64,
    /// Share of trials in which the policy beats the baseline: base, low,
    /// high.
    pub beat_base: f64,
    pub beat_low: f64,
    pub beat_high: f64,
    /// Which step was skipped and why, when one was.
    pub note: Option<String>,
    /// Where the gains and shares are estimates, not the exact study's
    /// figures: the input was screened out of the top rows
    /// (`--sensitivity-top`).
    pub estimated: Option<Estimated>,
}

/// A screened-out input's figures (`--sensitivity-top`): estimated from
/// the first `trials` trials, each gain within `margin` of the exact
/// study's unless the estimate is off by more than three standard errors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimated {
    pub trials: u64,
    pub margin: f64,
}

/// The larger of two moves, ignoring a skipped (NaN) one; 0 when both
/// were skipped.
fn larger(a: f64, b: f64) -> f64 {
    let (a, b) = (a.abs(), b.abs());
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0.0,
        (true, false) => b,
        (false, true) => a,
        (false, false) => a.max(b),
    }
}

impl Sensitivity {
    /// The larger of the two moves of the mean gain (of the step that ran,
    /// when one was skipped).
    pub fn swing(&self) -> f64 {
        larger(
            self.gain_low - self.gain_base,
            self.gain_high - self.gain_base,
        )
    }

    /// The larger of the two moves of the chance of beating the baseline.
    pub fn beat_swing(&self) -> f64 {
        larger(
            self.beat_low - self.beat_base,
            self.beat_high - self.beat_base,
        )
    }

    /// The input as a reader names it: "Quark growth", "reset Quark
    /// budget", "reset core intensity", "discount rate".
    pub fn label(&self) -> String {
        let words = |s: &str| s.replace(['.', '_'], " ");
        match self.owner {
            Owner::Unit => format!("{} {}", self.owner_name, words(&self.parameter)),
            Owner::Policy => {
                let p = match self.parameter.strip_prefix("units.") {
                    // units.NAME.key: the unit's name may hold dots.
                    Some(rest) => match rest.rsplit_once('.') {
                        Some((unit, key)) => {
                            let key = key_of_override(unit, key);
                            format!("{} {}", key.0, words(&key.1))
                        }
                        None => words(rest),
                    },
                    None => words(&self.parameter),
                };
                format!("{} {p}", self.owner_name)
            }
            Owner::Scenario => words(&self.parameter),
        }
    }

    /// An input value as a reader reads it: rates in percent ("4.0%"),
    /// levels as amounts ("5.4").
    pub fn show(&self, x: f64) -> String {
        show_value(self.kind, x)
    }
}

/// Ranks one policy's rows: largest swing of the mean gain first (then of
/// the chance of beating the baseline); inputs whose steps were both
/// skipped last; the inputs' own order otherwise (a stable sort).
pub fn rank(rows: &mut [Sensitivity]) {
    let ran = |r: &Sensitivity| !(r.gain_low.is_nan() && r.gain_high.is_nan());
    rows.sort_by(|a, b| {
        ran(b)
            .cmp(&ran(a))
            .then(b.swing().total_cmp(&a.swing()))
            .then(b.beat_swing().total_cmp(&a.beat_swing()))
    });
}

/// `units.NAME.gate.year` is split at its last dot; a gate's key belongs
/// with "gate".
fn key_of_override(unit: &str, key: &str) -> (String, String) {
    match unit.rsplit_once('.') {
        Some((u, "gate")) => (u.to_string(), format!("gate {key}")),
        _ => (unit.to_string(), key.to_string()),
    }
}

/// An input value of kind `kind` as text: rates in percent with the
/// decimals they need (at most two), levels by [`crate::format::amount`].
pub fn show_value(kind: StepKind, x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    match kind {
        StepKind::Rate => {
            let d = crate::format::exact_decimals(&[100.0 * x], 2).max(1);
            crate::format::percent(x, d)
        }
        StepKind::Level => {
            // 4.50 years reads as 4.5.
            let a = crate::format::amount(x);
            if a.contains('.') && !a.contains('e') {
                a.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                a
            }
        }
    }
}

/// What the studies of a run found, for the report and its charts.
#[derive(Clone, Debug, Default)]
pub struct Studies {
    /// The swept parameters (none when the run had no sweep).
    pub sweeps: Vec<Sweep>,
    /// One point per cell of the sweep grid, the last parameter varying
    /// fastest.
    pub points: Vec<SweepPoint>,
    /// Sensitivity rows, per policy other than the baseline, sorted by
    /// swing of the mean gain (empty without `--sensitivity`).
    pub sensitivity: Vec<Sensitivity>,
    /// The steps the sensitivity study moved rates and levels by.
    pub sensitivity_steps: Steps,
    /// The top the study was screened for (`--sensitivity-top`), if any.
    pub sensitivity_top: Option<usize>,
    /// The funding study (`[funding]`), when the scenario has one.
    pub funding: Option<FundingStudy>,
}

impl Studies {
    pub fn has_sweep(&self) -> bool {
        !self.sweeps.is_empty() && !self.points.is_empty()
    }

    pub fn has_sensitivity(&self) -> bool {
        !self.sensitivity.is_empty()
    }

    pub fn has_funding(&self) -> bool {
        self.funding.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.has_sweep() && !self.has_sensitivity() && !self.has_funding()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_paths_read_as_words() {
        let l = |p: &str| {
            Sweep {
                path: p.into(),
                values: vec![],
            }
            .label()
        };
        assert_eq!(
            l("policies.reset.innovation.years"),
            "reset's innovation years"
        );
        assert_eq!(
            l("policies.reset.units.\"Quark\".budget"),
            "reset's Quark budget"
        );
        assert_eq!(
            l("units.\"Taobao & Tmall\".growth"),
            "Taobao & Tmall growth"
        );
        assert_eq!(
            l("units.Quark.response.max_uplift"),
            "Quark response max uplift"
        );
        assert_eq!(l("scenario.discount_rate"), "discount rate");
    }

    #[test]
    fn sweep_arguments_parse() {
        let s: Sweep = "policies.reset.innovation.years=3,4,5".parse().unwrap();
        assert_eq!(s.path, "policies.reset.innovation.years");
        assert_eq!(s.values, vec![3.0, 4.0, 5.0]);
        assert!("x".parse::<Sweep>().is_err());
        assert!("a=1,b".parse::<Sweep>().is_err());
        assert!("a=nan".parse::<Sweep>().is_err());
    }
}
