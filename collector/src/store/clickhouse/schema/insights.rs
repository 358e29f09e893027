//! Tables of the insights: AI analyses, stored anomalies and agents'
//! spool samples (migrations 10 to 12).

use super::{DAY, Layout};

pub(super) fn tables(l: &Layout) -> [Vec<String>; 3] {
    let m10 = l.data_table(
        "analyses",
        "analysis_id String, service_id String, created_ms Int64, incident_ms Int64, body String",
        "",
        "",
        "ORDER BY (service_id, created_ms, analysis_id)",
        "cityHash64(service_id)",
    );
    let m11 = l.data_table(
        "anomalies",
        "service_id String, metric String, start_ms Int64, value Float64, expected Float64,
         score Float64, detected_ms Int64, cleared UInt8, version UInt64",
        "Replacing",
        "version",
        "PARTITION BY toYYYYMM(toDateTime(intDiv(start_ms, 1000), 'UTC'))
         ORDER BY (service_id, metric, start_ms)",
        "cityHash64(service_id)",
    );
    let m12 = l.data_table(
        "spool_samples",
        "agent_id String, ts Int64, bytes UInt64, max_bytes UInt64",
        "",
        "",
        &format!("PARTITION BY {DAY} ORDER BY (agent_id, ts)"),
        "cityHash64(agent_id)",
    );
    [m10, m11, m12]
}
