//! Errors a user can meet, each with the exit code it maps to.
//!
//! Messages are written for the person who edits the scenario: an input
//! error names the file, line, column and dotted key, and shows the line.

use std::fmt;
use std::path::{Path, PathBuf};

/// Exit code for bad input: a scenario or argument the tool refuses.
pub const EXIT_INPUT: u8 = 2;
/// Exit code for a run whose numbers overflowed (non-finite values).
pub const EXIT_NUMERIC: u8 = 3;
/// Exit code for output that could not be written.
pub const EXIT_OUTPUT: u8 = 4;
/// Exit code for an interrupted run (SIGINT/SIGTERM), as shells expect.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A refused input, located in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub file: PathBuf,
    /// 1-based line and column; 0 when the error has no position.
    pub line: usize,
    pub column: usize,
    /// Dotted key path, e.g. `units[2].volatility` or `policies.reset.core`.
    pub key: String,
    pub message: String,
    /// The offending source line, for display.
    pub source_line: Option<String>,
}

impl InputError {
    /// "file:line: key `k`: message" on one line (no column, no source
    /// excerpt): how studies and the served page cite a file's error.
    pub fn one_line(&self) -> String {
        format!(
            "{}:{}: key `{}`: {}",
            self.file.display(),
            self.line,
            self.key,
            self.message
        )
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.line > 0 {
            write!(f, "{file}:{}:{}: ", self.line, self.column)?;
        } else {
            write!(f, "{file}: ")?;
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "key `{}`: {}", self.key, self.message)?;
        }
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            write!(
                f,
                "\n{pad} |\n{num} | {src}\n{pad} | {}^",
                " ".repeat(self.column.saturating_sub(1))
            )?;
        }
        Ok(())
    }
}

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or an argument is invalid (exit 2).
    #[error("{0}")]
    Input(Box<InputError>),
    /// A command-line value is invalid (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A reported figure overflowed (exit 3).
    #[error("numerical overflow: {0}")]
    Numeric(String),
    /// The output could not be written (exit 4).
    #[error("cannot write output {}: {message}", path.display())]
    Output { path: PathBuf, message: String },
    /// An output folder stratsim will not replace, or one another run is
    /// writing: refused before any work (exit 2).
    #[error("refusing to write output {}: {message}", path.display())]
    Refused { path: PathBuf, message: String },
    /// Standard output could not be written (exit 4).
    #[error("cannot write to standard output: {0}")]
    Stdout(String),
    /// Standard output was closed by its reader (`| head`): the command
    /// ends quietly, with exit 0, as Unix filters do.
    #[error("standard output was closed")]
    ClosedPipe,
    /// The run was interrupted; the previous output is untouched.
    #[error("interrupted: the previous output, if any, is untouched")]
    Interrupted,
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) | Error::Usage(_) | Error::Refused { .. } => EXIT_INPUT,
            Error::Numeric(_) => EXIT_NUMERIC,
            Error::Output { .. } | Error::Stdout(_) => EXIT_OUTPUT,
            Error::ClosedPipe => 0,
            Error::Interrupted => EXIT_INTERRUPTED,
        }
    }

    /// An output folder refused before any work.
    pub fn refused(path: &Path, message: impl Into<String>) -> Error {
        Error::Refused {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn output(path: &Path, err: impl fmt::Display) -> Error {
        Error::Output {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }

    /// An input error about a whole file (unreadable, not found...).
    pub fn file(path: &Path, message: impl Into<String>) -> Error {
        Error::Input(Box::new(InputError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: message.into(),
            source_line: None,
        }))
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
