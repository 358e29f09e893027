//! The newest result of every service on SQLite, without the services
//! removed since.

use rusqlite::Connection;

use super::kind;
use crate::Result;
use crate::store::{LatestStatus, status_of};
use lightbulb_common::ServiceType;

pub(super) fn read_latest(c: &Connection) -> Result<Vec<LatestStatus>> {
    let mut stmt = c.prepare_cached(
        "SELECT service_id, service_type, status, message, ts, response_time_ms, cpu_usage, memory_usage, agent_id, seq
         FROM latest WHERE NOT EXISTS (SELECT 1 FROM removed_services r
             WHERE r.service_id = latest.service_id AND r.ts >= latest.ts)
         ORDER BY service_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let ts: i64 = r.get(4)?;
        let status = status_of(r.get(2)?);
        Ok(LatestStatus {
            service_id: r.get(0)?,
            service_type: kind(r, 1, ServiceType::parse)?,
            status,
            message: r.get(3)?,
            last_check_ms: ts,
            seq: r.get::<_, i64>(9)? as u64,
            response_time_ms: r.get(5)?,
            cpu_usage: r.get(6)?,
            memory_usage: r.get(7)?,
            agent_id: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
