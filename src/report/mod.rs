//! Everything a run writes: summaries (JSON, CSV), the terminal table, and
//! (with the charts) the picture files. Writers take computed results, never
//! raw engine state.

pub mod charts;
pub mod summary;
pub mod table;

pub use summary::Summary;
