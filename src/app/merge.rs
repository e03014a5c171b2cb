//! `simulate merge`: the outputs of one run from the partial results of
//! its shards.

use super::cli;
use crate::error::Result;
use crate::kernel::Plan;
use crate::results::Run;
use crate::{console, output, report, resources, shard, trials_out};

/// `simulate merge PARTIAL...`: the outputs of a single run from shards.
///
/// The output folder is `--out`, never a name read from a partial (a
/// partial is data from elsewhere: its contents must not choose what is
/// replaced). It is checked, and must not hold the partials, before any
/// partial is read.
pub fn merge(args: &cli::MergeArgs) -> Result<()> {
    let threads = resources::threads(None)?;
    resources::set_global_threads(threads);
    let files = shard::expand(&args.partials)?;
    let inputs = output::Inputs(
        files
            .iter()
            .map(|f| ("a partial result being merged,", f.clone()))
            .collect(),
    );
    let dest = &args.out;
    let staged = output::Staged::prepare(dest, false, &inputs)?;
    let (total, files, parts) = shard::merge(&files)?;
    let plan = Plan::for_run(&total.scenario, total.unit_paths);
    let run = Run::checked(total.scenario, plan, total.accumulator)?;
    let target = match &args.trials_out {
        Some(p) => {
            let target = trials_out::Target::new(p, Some(&staged))?;
            trials_out::join(&target, &shard::trials_parts(&parts)?)?;
            Some(target)
        }
        None => None,
    };
    if !args.quiet {
        console::outln(&format!("merged {} partial results", files.len()))?;
    }
    let options = args.figures.write_options(args.quiet, args.no_charts);
    report::write_results(staged, &run, options)?;
    super::commit_trials(target, args.quiet)
}
