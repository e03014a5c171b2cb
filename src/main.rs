//! `simulate`: parse arguments, run, print the error, pick the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stratsim::cli::Cli::parse();
    stratsim::install_interrupt_handler();
    match stratsim::main_with(&cli) {
        Ok(()) | Err(stratsim::Error::ClosedPipe) => ExitCode::SUCCESS,
        Err(e) => {
            stratsim::console::say(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}
