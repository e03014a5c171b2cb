//! stratsim: a Monte Carlo simulator for corporate portfolio strategy.
//!
//! The pipeline is scenario -> model -> kernel -> engine -> stats ->
//! results -> report: [`scenario`] reads and validates a TOML file into
//! [`model`] types, [`engine`] runs the trials of the [`kernel`] in
//! parallel blocks, [`stats`] aggregates them as they come, [`results`]
//! turns a finished [`results::Run`] into the figures a run reports and
//! [`report`] writes them. [`study`] and [`shard`] run a scenario many
//! times or in pieces, [`optimize`] searches a policy's terms for the best
//! value under constraints, [`fit`] goes the other way (from a revenue
//! history to the scenario keys), [`serve`] is the live what-if page, and [`app`] holds the commands `main.rs` dispatches
//! to. Every module imports only modules below it (ARCHITECTURE.md draws
//! the layers; `tools/layers.py` checks them).
//!
//! This file only declares the modules and re-exports what `main.rs`
//! needs.

pub mod app;
pub mod console;
pub mod engine;
pub mod error;
pub mod fit;
pub mod format;
pub mod input;
pub mod kernel;
pub mod model;
pub mod optimize;
pub mod output;
pub mod report;
pub mod resources;
pub mod results;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod stats;
pub mod study;
pub mod trials_out;

pub use app::{cli, install_interrupt_handler, main_with};
pub use error::{Error, Result};
