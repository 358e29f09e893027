//! Answers from the history: failure patterns (`patterns`, mined by
//! `drain`), unusual hours (`anomaly`) and when a gauge reaches its limit
//! (`forecast`).

pub mod anomaly;
pub mod drain;
pub mod forecast;
pub mod patterns;
