//! Writing to the terminal without panicking.
//!
//! `print!` and `eprintln!` panic when the write fails, so
//! `simulate check s.toml | head -1` (a pipe closed early) or
//! `simulate schema > /dev/full` (a full disk) ended in a Rust panic with
//! exit 101. Command paths write through here instead:
//!
//! - standard output: a closed pipe ([`Error::ClosedPipe`]) ends the
//!   command quietly with exit 0, as Unix filters do when their reader has
//!   read enough; any other failure is an error with exit 4;
//! - standard error: messages, warnings and progress lines are best effort.
//!   When stderr itself cannot be written there is nowhere to say so, so
//!   the line is dropped and the exit code alone tells the outcome.

use std::io::{ErrorKind, Write};

use crate::error::{Error, Result};

/// Writes `text` to standard output and flushes it.
pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)
}

/// [`out`] with a line end.
pub fn outln(text: &str) -> Result<()> {
    out(&format!("{text}\n"))
}

/// The error of a failed write to standard output.
pub fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == ErrorKind::BrokenPipe {
        Error::ClosedPipe
    } else {
        Error::Stdout(e.to_string())
    }
}

/// Writes one line to standard error, best effort (see the module docs).
pub fn say(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_not_a_failure() {
        let e = stdout_error(std::io::Error::from(ErrorKind::BrokenPipe));
        assert!(matches!(e, Error::ClosedPipe));
        assert_eq!(e.exit_code(), 0);
        let e = stdout_error(std::io::Error::other("No space left on device"));
        assert_eq!(e.exit_code(), crate::error::EXIT_OUTPUT);
        assert!(e.to_string().contains("standard output"));
    }
}
