//! `--watch`: the run again whenever its scenario files change.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::cli;
use super::run::{run, shard_and_watch};
use crate::error::{Error, Result};
use crate::{console, engine, scenario};

/// `--watch`: runs, then re-runs whenever the scenario or a file it
/// extends changes. A failed run (an invalid edit) prints its error and,
/// like any failed run, leaves the last good output in place.
pub fn watch(args: &cli::RunArgs) -> Result<()> {
    let path = args
        .scenario
        .as_deref()
        .ok_or_else(|| Error::Usage("a scenario file is required".into()))?;
    if args.shard.is_some() {
        return Err(shard_and_watch());
    }
    let stamp = |files: &[PathBuf]| -> Vec<Option<(std::time::SystemTime, u64)>> {
        files
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())))
            })
            .collect()
    };
    loop {
        // Watch what the scenario reads now (an edit may change `extends`).
        let files = scenario::load_raw(path)
            .map(|l| l.files())
            .unwrap_or_else(|_| vec![path.to_path_buf()]);
        let before = stamp(&files);
        match run(args) {
            Err(e @ (Error::Interrupted | Error::ClosedPipe | Error::Stdout(_))) => return Err(e),
            Err(e) => console::say(&format!(
                "error: {e}
(keeping the last good output)"
            )),
            Ok(()) => {}
        }
        console::say(&format!(
            "watching {} for changes (Ctrl-C to stop)",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        loop {
            std::thread::sleep(Duration::from_millis(200));
            if engine::INTERRUPTED.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            if stamp(&files) != before {
                // Let the editor finish writing.
                std::thread::sleep(Duration::from_millis(100));
                break;
            }
        }
    }
}
