use std::path::PathBuf;

/// Errors of the agent library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("spool directory `{0}` is in use by another agent (lock held on `{0}/LOCK`)")]
    SpoolLocked(PathBuf),
    #[error("spool directory `{path}`: {source}")]
    SpoolIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spool storage: {0}")]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Common(#[from] lightbulb_common::Error),
    #[error("key `{key}`: {source}")]
    TlsFile {
        key: &'static str,
        source: lightbulb_common::Error,
    },
    #[error("collector URL `{url}`: {reason}")]
    CollectorUrl { url: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
