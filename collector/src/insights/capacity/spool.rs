//! Agents' spools as capacity gauges: each heartbeat reports the bytes an
//! agent's spool holds and its budget (`spool.max_bytes`); one every
//! `agents.spool_sample_every` is kept per agent (`SpoolSampleStore`), and
//! forecast like any gauge. A spool grows while its collector takes
//! results slower than the agent makes them.

use serde::{Deserialize, Serialize};

use crate::{BoxFuture, Result};

/// An agent's spool at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolSample {
    pub ts_ms: i64,
    pub bytes: u64,
    pub max_bytes: u64,
}

pub trait SpoolSampleStore: Send + Sync + 'static {
    fn put_spool_sample(
        &self,
        agent_id: String,
        sample: SpoolSample,
    ) -> BoxFuture<'static, Result<()>>;
    /// One agent's samples in `from_ms..=to_ms`, oldest first.
    fn spool_samples(
        &self,
        agent_id: String,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<SpoolSample>>>;
}
