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
    pub delta_mean: f64,
    pub prob_beats_baseline: f64,
}

/// One grid point of a sweep and its results.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// One value per swept parameter.
    pub values: Vec<f64>,
    pub headlines: Vec<Headline>,
}

/// One row of the sensitivity study.
#[derive(Clone, Debug)]
pub struct Sensitivity {
    pub unit: String,
    pub parameter: &'static str,
    pub base: f64,
    /// The moved values; NaN (with its median) where the step would leave
    /// the parameter's range and was skipped (see [`Sensitivity::note`]).
    pub low: f64,
    pub high: f64,
    pub policy: String,
    /// Median value at the last horizon: base run, parameter low, high.
    pub median_base: f64,
    pub median_low: f64,
    pub median_high: f64,
    /// Which step was skipped and why, when one was.
    pub note: Option<String>,
}

impl Sensitivity {
    /// The larger of the two moves of the median (of the step run, when
    /// one was skipped).
    pub fn swing(&self) -> f64 {
        (self.median_high - self.median_base)
            .abs()
            .max((self.median_low - self.median_base).abs())
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
    /// Sensitivity rows, sorted by swing per policy (empty without
    /// `--sensitivity`).
    pub sensitivity: Vec<Sensitivity>,
    /// The relative step the sensitivity study moved each parameter by.
    pub sensitivity_step: f64,
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
    fn sweep_arguments_parse() {
        let s: Sweep = "policies.reset.innovation.years=3,4,5".parse().unwrap();
        assert_eq!(s.path, "policies.reset.innovation.years");
        assert_eq!(s.values, vec![3.0, 4.0, 5.0]);
        assert!("x".parse::<Sweep>().is_err());
        assert!("a=1,b".parse::<Sweep>().is_err());
        assert!("a=nan".parse::<Sweep>().is_err());
    }
}
