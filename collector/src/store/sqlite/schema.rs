//! The SQLite schema and its migrations (versioned with `PRAGMA user_version`;
//! migrations only append, so an existing database is brought forward in place).

use rusqlite::Connection;
use tracing::info;

use crate::Result;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE results (
    agent_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    service_id TEXT NOT NULL,
    service_type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    response_time_ms REAL,
    cpu_usage REAL,
    memory_usage REAL,
    metrics TEXT,
    details TEXT,
    PRIMARY KEY (agent_id, seq)
) WITHOUT ROWID;
CREATE INDEX results_service_ts ON results (service_id, ts);
CREATE TABLE latest (
    service_id TEXT PRIMARY KEY,
    service_type TEXT NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    ts INTEGER NOT NULL,
    response_time_ms REAL,
    cpu_usage REAL,
    memory_usage REAL,
    agent_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE status_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    previous_status INTEGER,
    message TEXT NOT NULL,
    response_time_ms REAL,
    agent_id TEXT NOT NULL
);
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    labels TEXT NOT NULL,
    local_checks TEXT NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE rollup_minute (
    service_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    cell TEXT NOT NULL,
    PRIMARY KEY (service_id, bucket)
) WITHOUT ROWID;
CREATE TABLE rollup_hour (
    service_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    cell TEXT NOT NULL,
    PRIMARY KEY (service_id, bucket)
) WITHOUT ROWID;
CREATE INDEX status_events_ts ON status_events (ts);
"#,
    r#"
ALTER TABLE latest ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
CREATE TABLE services (
    service_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    service_type TEXT NOT NULL,
    status_config TEXT NOT NULL,
    metric_config TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    labels TEXT NOT NULL,
    managed_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE relations (
    relation_id TEXT PRIMARY KEY,
    source_service_id TEXT NOT NULL,
    target_service_id TEXT NOT NULL,
    relation_type TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    managed_by TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE removed_services (
    service_id TEXT PRIMARY KEY,
    ts INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE spool_gaps (
    service_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    dropped INTEGER NOT NULL,
    from_ts INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (service_id, agent_id, first_seq)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE api_tokens (
    token_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER,
    hash TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT,
    action TEXT NOT NULL,
    objects TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log (ts);
"#,
    r#"
CREATE TABLE alerting (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE alert_attempts (
    notification_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    code INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX alert_attempts_notification ON alert_attempts (notification_id, at);
"#,
    // Evidence search: messages and details by three-character pieces, so
    // any part of a word is found; kept with `results` by the trigger (the
    // writer since the migration below) and by `expire`.
    r#"
CREATE VIRTUAL TABLE results_fts USING fts5(
    message, details,
    service_id UNINDEXED, agent_id UNINDEXED, seq UNINDEXED, ts UNINDEXED,
    tokenize = 'trigram'
);
INSERT INTO results_fts (message, details, service_id, agent_id, seq, ts)
    SELECT message, coalesce(details, ''), service_id, agent_id, seq, ts FROM results;
CREATE TRIGGER results_fts_insert AFTER INSERT ON results BEGIN
    INSERT INTO results_fts (message, details, service_id, agent_id, seq, ts)
    VALUES (new.message, coalesce(new.details, ''), new.service_id, new.agent_id, new.seq, new.ts);
END;
"#,
    r#"
CREATE TABLE saved_views (
    view_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE push_subscriptions (
    subscription_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE vapid_keys (
    pkcs8 TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    // The writer indexes each new result itself. The trigger made every
    // insert into `results` a statement with a savepoint, at which FTS5
    // writes out what it holds: one index segment per result, then merging
    // them took four fifths of the ingest CPU.
    "DROP TRIGGER results_fts_insert;",
    // Failure patterns read a range's failing results: only those rows
    // are in it, so ingest of OK results does not touch it.
    "CREATE INDEX results_failing_ts ON results (ts) WHERE status IN (1, 2, 5);",
    r#"
CREATE TABLE analyses (
    analysis_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    incident_ms INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX analyses_service ON analyses (service_id, created_ms);
"#,
    r#"
CREATE TABLE anomalies (
    service_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    expected REAL NOT NULL,
    score REAL NOT NULL,
    detected_ms INTEGER NOT NULL,
    PRIMARY KEY (service_id, metric, start_ms)
) WITHOUT ROWID;
CREATE INDEX anomalies_start ON anomalies (start_ms);
"#,
    r#"
CREATE TABLE spool_samples (
    agent_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    max_bytes INTEGER NOT NULL,
    PRIMARY KEY (agent_id, ts)
) WITHOUT ROWID;
CREATE INDEX spool_samples_ts ON spool_samples (ts);
"#,
];

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        info!(version = i + 1, "sqlite schema migrated");
    }
    Ok(())
}
