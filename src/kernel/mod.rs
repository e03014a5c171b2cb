//! The trial kernel: how one trial of the model contract is computed, for
//! every policy at once, and nothing else (no threads, no files).
//!
//! Modules, lowest first (each uses only those above it):
//!
//! - [`rng`]: each trial's random stream, a function of (seed, trial)
//!   only, and each uncertain assumption's own stream;
//! - [`math`]: `exp` and the growth factor, the same bits on every machine;
//! - [`valuation`]: the growth-fade value of a held unit;
//! - [`simd`]: the arithmetic the trial is written in, over one lane
//!   (`Scalar`) or four (a portable and an AVX2 backend), the same bits;
//! - `terms`: a unit's and a policy's terms that the step reads, and the
//!   formulas that make them;
//! - `copula`: correlated assumptions;
//! - [`draws`]: uncertain assumptions drawn once per trial, each on a
//!   stream of its own, and growth that fades;
//! - [`plan`]: everything a run computes once, before any draw ([`Plan`]);
//! - [`tape`]: one batch's draws kept for other plans that draw alike;
//! - `lane_params`: a trial's own unit constants (drawn assumptions), per
//!   lane;
//! - `shocks`: the one shock source (live, recording, replay), which owns
//!   the draw order and the tape's layout;
//! - `solo`: which units a step computes (every one, or one unit of a
//!   study's variant, the others read from the base run's recording);
//! - `step`: steps 1-7 of the contract for one policy, written once;
//! - [`trial`]: a trial start to end, at any lane width;
//! - [`batch`]: what the engine runs, [`batch::LANES`] trials in lockstep
//!   (the trial at width 4, on the CPU's best backend);
//! - [`reference`](mod@reference): the same trial at width 1
//!   ([`TrialState`]), with what only one trial needs (observing its
//!   steps, finding an overflow).
//!
//! The draw order is documented in [`reference`](mod@reference); it is part
//! of the numbers' definition.

pub mod batch;
mod copula;
pub mod draws;
mod lane_params;
pub mod math;
pub mod plan;
pub mod reference;
pub mod rng;
mod shocks;
pub mod simd;
mod solo;
mod step;
pub mod tape;
mod terms;
pub mod trial;
pub mod valuation;

pub use plan::Plan;
pub use reference::{Overflow, TrialState};
