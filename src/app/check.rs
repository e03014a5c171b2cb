//! `simulate check`: a scenario validated and described, nothing run.

use std::path::Path;

use crate::error::Result;
use crate::{console, report, scenario, study};

/// `simulate check`: validates the scenario and its sweeps exactly as a
/// run would, prints its warnings and a digest, runs nothing.
pub fn check(path: &Path) -> Result<()> {
    let loaded = scenario::load_raw(path)?;
    let s = loaded.scenario()?;
    let sweeps = study::plan(&loaded, &s, &[], &mut |_| Ok(()))?;
    let optimize = match loaded.raw.optimize {
        Some(_) => Some(crate::optimize::config::plan(&loaded, &s)?),
        None => None,
    };
    for w in loaded.warnings() {
        console::say(&format!("warning: {w}"));
    }
    console::out(&report::digest::render(&s))?;
    if sweeps.is_empty() {
        console::outln(
            "\nsweeps: none (add [[sweep]] tables, or --sweep PATH=V1,V2,... on a run)",
        )?;
    } else {
        let what: Vec<&str> = sweeps.sweeps.iter().map(|s| s.path.as_str()).collect();
        console::outln(&format!(
            "\nsweep: {} ({} points, each checked)",
            what.join(" x "),
            sweeps.len()
        ))?;
    }
    if let Some(p) = optimize {
        console::outln(&format!("\n{}", p.describe(&s)))?;
    }
    console::outln(&format!("\n{}: valid", path.display()))
}
