//! The application: the commands `main` dispatches to (run, watch, merge,
//! check, schema, fit, history, optimize, serve), their command line, the progress bar and
//! the signal handler.
//!
//! This is the only module that knows the command line: it turns
//! arguments into the options of the layers below (a scenario, a
//! [`crate::report::WriteOptions`], a [`crate::fit::Job`]) and calls them.
//! Nothing below imports it.

mod check;
pub mod cli;
mod merge;
mod optimize;
mod progress;
mod run;
mod signals;
mod watch;

pub use check::check;
pub use merge::merge;
pub use progress::Progress;
pub use run::{default_out, run};
pub use signals::install_interrupt_handler;
pub use watch::watch;

use crate::error::Result;

/// Dispatches a parsed command line.
pub fn main_with(cli: &cli::Cli) -> Result<()> {
    match &cli.command {
        Some(cli::Command::Merge(args)) => merge(args),
        Some(cli::Command::Check { scenario }) => check(scenario),
        Some(cli::Command::Schema) => crate::console::out(&crate::scenario::json_schema()),
        Some(cli::Command::Fit(args)) => crate::fit::run(&args.into()),
        Some(cli::Command::History(args)) => crate::fit::synthetic::run(&args.into()),
        Some(cli::Command::Optimize(args)) => optimize::optimize(args),
        Some(cli::Command::Serve(args)) => crate::serve::serve(&args.into()),
        None if cli.run.watch => watch(&cli.run),
        None => run(&cli.run),
    }
}

/// Puts a `--trials-out` file in place (after the run's outputs) and says
/// so.
fn commit_trials(target: Option<crate::trials_out::Target>, quiet: bool) -> Result<()> {
    if let Some(t) = target {
        let dest = t.dest().to_path_buf();
        t.commit()?;
        if !quiet {
            crate::console::outln(&format!("wrote {}", dest.display()))?;
        }
    }
    Ok(())
}
