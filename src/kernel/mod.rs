//! The trial kernel: how one trial of the model contract is computed, for
//! every policy at once, and nothing else (no threads, no files).
//!
//! - [`plan`]: everything a run computes once, before any draw ([`Plan`]);
//! - [`reference`](mod@reference): the scalar reference, one trial at a time
//!   ([`TrialState`]), written to be read against the model contract;
//! - [`batch`]: what the engine runs, [`batch::LANES`] trials in lockstep,
//!   bit for bit the reference's figures;
//! - [`simd`]: the vector operations `batch` is written in, with a portable
//!   and an AVX2 backend that give the same bits;
//! - [`math`]: `exp` and the growth factor, the same bits on every machine;
//! - [`valuation`]: the growth-fade value of a held unit, one definition
//!   for scalars and lanes;
//! - [`rng`]: each trial's random stream, a function of (seed, trial) only;
//! - [`draws`]: uncertain assumptions drawn once per trial, each on a
//!   stream of its own, and growth that fades.
//!
//! The draw order is documented in [`reference`](mod@reference); it is part of the
//! numbers' definition.

pub mod batch;
pub mod draws;
mod lane_params;
pub mod math;
pub mod plan;
pub mod reference;
pub mod rng;
mod shocks;
pub mod simd;
mod step;
pub mod tape;
pub mod trial;
pub mod valuation;

pub use plan::Plan;
pub use reference::{Overflow, TrialState};
