//! Alerting: rules over the services' statuses and metrics; one alert per rule and
//! service while its condition holds (pending, then firing after the
//! rule's `for`, then resolved); one notification per root cause, the
//! services impacted by a failing dependency grouped under its alert; and
//! a persisted outbox that delivers every notification to its channels,
//! retrying with backoff and logging each attempt.

pub mod channels;
pub mod condition;
pub mod cron;
pub mod engine;
pub mod fields;
pub mod lease;
pub mod model;
pub mod outbox;
pub mod payloads;
pub mod registry;
pub mod silence;
pub mod store;
pub mod world;

pub use registry::Alerting;

/// The text a one-click acknowledge link signs (`expires`: seconds since the epoch).
pub fn link_text(alert_id: &str, expires: i64) -> String {
    format!("acknowledge:{alert_id}:{expires}")
}
