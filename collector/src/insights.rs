//! Answers from the history: failure patterns (`patterns`, mined by
//! `drain`), unusual hours (`anomaly`), when a gauge reaches its limit
//! (`forecast`, for the gauges of `capacity`), a model's analysis of a failure (`ai`) and availability
//! against objectives (`sla`).

pub mod ai;
pub mod anomaly;
pub mod capacity;
pub mod drain;
pub mod forecast;
pub mod patterns;
pub mod sla;
