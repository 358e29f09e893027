//! Domain types and helpers shared by the lightbulb agent and collector.
//!
//! This crate never depends on prost or tonic: wire conversions live in
//! `lightbulb-proto`.

pub mod backoff;
pub mod certs;
pub mod config;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod result;
pub mod secret;
pub mod signal;
pub mod spec;
pub mod status;
pub mod time;
pub mod tls;

pub use error::{Error, Result};
pub use result::{CheckResult, Metrics};
pub use status::{ServiceType, Status, validate_id, validate_service_id};
