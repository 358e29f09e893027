use std::path::PathBuf;

/// Errors of the agent library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("spool directory `{0}` is in use by another agent (lock held on `{0}/LOCK`)")]
    SpoolLocked(PathBuf),
    #[error("spool `{}`: {source}", path.display())]
    SpoolIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "spool directory `{}`: its filesystem has {} free and the spool holds {}, less than spool.max_bytes {}; free some space or lower spool.max_bytes",
        path.display(), bytes(*free), bytes(*used), bytes(*max_bytes)
    )]
    SpoolSpace {
        path: PathBuf,
        free: u64,
        used: u64,
        max_bytes: u64,
    },
    #[error("spool file `{}` is damaged: {reason}", path.display())]
    SpoolMeta { path: PathBuf, reason: String },
    #[error("spool storage: {0}")]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Common(#[from] lightbulb_common::Error),
    #[error("key `{key}`: {source}")]
    TlsFile {
        key: &'static str,
        source: lightbulb_common::Error,
    },
    #[error("[secrets]: {0}")]
    Secrets(String),
    #[error("collector URL `{url}`: {reason}")]
    CollectorUrl { url: String, reason: String },
}

/// `1234567 bytes (1.2 MiB)`.
fn bytes(n: u64) -> String {
    format!("{n} bytes ({:.1} MiB)", n as f64 / f64::from(1u32 << 20))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
