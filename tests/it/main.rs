//! The integration tests, in one binary (one link instead of one per
//! file): they run the real `simulate` binary on real scenario files
//! (through `common`), or call the library as a user of it would.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod browser;
mod charts;
mod closed_form;
mod commands;
mod correlations;
mod decision;
mod deterministic;
mod fit_cli;
mod fit_fuzz;
mod fit_recovery;
mod funding;
mod fuzz;
mod golden;
mod hardening;
mod hostile;
mod messages;
mod numeric;
mod one_future;
mod optimize;
mod output_folders;
mod properties;
mod refusals;
mod report_outputs;
mod scenarios;
mod serve;
mod shard;
mod studies_charts;
mod table_format;
mod trials_out;
mod uncertain;
mod valuation;
mod variants;
mod workbook;
mod workflow;
