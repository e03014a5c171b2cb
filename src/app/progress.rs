//! The progress bar of a run.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr that appears only once a run has lasted a
/// second, and never when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    /// A bar of `total` trials.
    pub fn new(total: u64, enabled: bool) -> Progress {
        Progress::with_template(
            total,
            enabled,
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} trials ({eta} left)",
        )
    }

    /// A bar of at most `total` candidates (the optimizer's search, which
    /// may stop early).
    pub fn candidates(total: u64, enabled: bool) -> Progress {
        Progress::with_template(
            total,
            enabled,
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} candidates at most",
        )
    }

    fn with_template(total: u64, enabled: bool, template: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }

    /// Adds `n` to the bar's position.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.show_after_a_second();
    }

    /// Sets the bar's position.
    pub fn set(&self, n: u64) {
        self.bar.set_position(n);
        self.show_after_a_second();
    }

    fn show_after_a_second(&self) {
        if self.enabled
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
