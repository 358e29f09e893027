//! Answers from the history: failure patterns (`patterns`, mined by
//! `drain`) and when a gauge reaches its limit (`forecast`).

pub mod drain;
pub mod forecast;
pub mod patterns;
