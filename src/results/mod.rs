//! What a run found, as figures: the summary (summary.json/csv), the
//! headline sentences, the unit paths, what its studies found, and which
//! uncertain assumption matters most. Built
//! from a finished [`Run`]; read, never recomputed, by everything that
//! presents it (`report`: table, charts, pages, workbook).
//!
//! Nothing here draws or writes a file except the CSV text of its own
//! figures; nothing here runs a simulation.

pub mod figures;
pub mod funding;
pub mod headline;
pub mod run;
pub mod studies;
pub mod summary;
pub mod uncertainty;
pub mod unit_paths;

pub use run::{check_finite, describe_slot, Run};
pub use studies::{
    Estimated, Headline, Owner, Sensitivity, StepKind, Steps, Studies, Sweep, SweepPoint,
};
pub use summary::Summary;
