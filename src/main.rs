//! `simulate`: parse arguments, run, print the error, pick the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stratsim::cli::Cli::parse();
    stratsim::install_interrupt_handler();
    match stratsim::main_with(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
