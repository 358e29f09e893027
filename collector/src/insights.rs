//! Answers from the history: failure patterns (`patterns`, mined by
//! `drain`).

pub mod drain;
pub mod patterns;
