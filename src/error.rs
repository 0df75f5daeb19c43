//! Library errors. Every message names the problem and, where there is one, the fix.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// A malformed or inconsistent configuration (exit code 2 at the CLI).
    #[error("config error at `{path}`: {message}")]
    Config { path: String, message: String },

    /// A file the run needs could not be read or has the wrong content.
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },

    /// Writing results failed.
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The run does not fit in the memory available; refused before allocating.
    #[error("{0}")]
    TooLarge(String),

    /// No usable GPU adapter, or a GPU failure.
    #[error("{0}")]
    Gpu(String),

    /// The output directory holds a different run.
    #[error("{0}")]
    Conflict(String),
}

impl Error {
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }

    /// Errors the user fixes by changing the command line or the config (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::Input { .. } | Error::TooLarge(_) | Error::Conflict(_)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
