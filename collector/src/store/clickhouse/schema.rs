//! ClickHouse schema: versioned migrations, each statement idempotent
//! (`IF NOT EXISTS`), applied by every collector at start; the versions done
//! are recorded in `schema_migrations`.
//!
//! Tables (with `cluster` set, each data table is `<name>_local`, a
//! ReplicatedMergeTree on every node, plus `<name>`, a Distributed table over
//! them; materialized views hang off the local tables so every shard rolls up
//! its own rows):
//! - `results`: raw results, partitioned by UTC day, ordered by (service_id, ts).
//! - `result_keys`: (agent_id, seq) of every stored result, for exact dedup
//!   of resent batches before they are inserted (rollups must not count a
//!   result twice, so dedup cannot wait for merges).
//! - `latest`: newest result per service (argMax states by (ts, seq)).
//! - `rollup_minute`, `rollup_hour`: count by status, response time
//!   min/avg/max and quantiles, average cpu/memory.
//! - `status_events`: status changes; ids are ordered across collectors.
//! - `agents`: registered agents, newest `last_seen` wins.
//! - `services`, `relations`: the catalog, newest `version` per id wins.
//! - `removed_services`: when each deleted service left the live statuses;
//!   `latest` rows no newer than that are left out (its results stay).
//! - `spool_gaps`: results agents' full spools dropped, per service and
//!   spool segment; a row stored twice is read once (`GROUP BY` its key).
//! - `api_tokens`: API token records (never the tokens), newest `version`
//!   per token wins.
//! - `audit_log`: who changed what, one row per entry; kept for good.
//! - `alerting`: rules, channels, alerts and notifications as JSON, newest
//!   `version` per kind and id wins; `alert_attempts`: the delivery log.
//! - `saved_views`: users' saved views as JSON, newest `version` per view wins.
//! - `push_subscriptions`: browsers' Web Push subscriptions, likewise;
//!   `vapid_keys`: the key pushes are signed with (the oldest is used).
//! - `analyses`: AI analyses of failures as JSON, one row each.
//! - `anomalies`: unusual hours per service and metric, newest `version`
//!   wins (a `cleared` one is no longer unusual); by month of the hour.
//! - `spool_samples`: agents' spool bytes and budget now and then, by day.
//!
//! SQL is limited to what ClickHouse 18.16 accepts. TTL (19.6+) is added
//! where the server has it; day partitions are dropped on every version.

use crate::Result;

mod insights;

/// A table name as the tables are laid out (`local` = where rows live).
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub db: String,
    pub cluster: String,
    /// Replicas per shard (1 without a cluster): an insert is acked once
    /// every replica of its shard has it (`insert_quorum`).
    pub replicas: u64,
}

impl Layout {
    /// The table queries and inserts use.
    pub fn table(&self, name: &str) -> String {
        format!("`{}`.`{name}`", self.db)
    }

    /// The table that holds a shard's rows.
    pub fn local(&self, name: &str) -> String {
        if self.cluster.is_empty() {
            self.table(name)
        } else {
            format!("`{}`.`{name}_local`", self.db)
        }
    }

    /// ` ON CLUSTER `name`` for DDL on a cluster, else nothing.
    pub fn on_cluster(&self) -> String {
        if self.cluster.is_empty() {
            String::new()
        } else {
            format!(" ON CLUSTER `{}`", self.cluster)
        }
    }

    fn engine(&self, name: &str, kind: &str, args: &str) -> String {
        if self.cluster.is_empty() {
            format!("{kind}MergeTree({args})")
        } else {
            let mut all = format!(
                "'/clickhouse/tables/{{shard}}/{}/{name}', '{{replica}}'",
                self.db
            );
            if !args.is_empty() {
                all.push_str(", ");
                all.push_str(args);
            }
            format!("Replicated{kind}MergeTree({all})")
        }
    }

    /// `CREATE TABLE` for a data table, plus its Distributed table on a cluster.
    fn data_table(
        &self,
        name: &str,
        columns: &str,
        kind: &str,
        args: &str,
        tail: &str,
        shard_by: &str,
    ) -> Vec<String> {
        let mut out = vec![format!(
            "CREATE TABLE IF NOT EXISTS {}{} ({columns}) ENGINE = {} {tail}",
            self.local(name),
            self.on_cluster(),
            self.engine(name, kind, args)
        )];
        if !self.cluster.is_empty() {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {}{} AS {} ENGINE = Distributed(`{}`, `{}`, `{name}_local`, {shard_by})",
                self.table(name),
                self.on_cluster(),
                self.local(name),
                self.cluster,
                self.db
            ));
        }
        out
    }

    fn view(&self, name: &str, target: &str, select: &str) -> String {
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `{}`.`{name}`{} TO {} AS {select}",
            self.db,
            self.on_cluster(),
            self.local(target)
        )
    }
}

/// Partition key by UTC day of a millisecond column.
const DAY: &str = "toYYYYMMDD(toDateTime(intDiv(ts, 1000), 'UTC'))";

const ROLLUP_COLUMNS: &str = "service_id String, bucket Int64,
    total AggregateFunction(count),
    ok AggregateFunction(countIf, UInt8),
    degraded AggregateFunction(countIf, UInt8),
    failed AggregateFunction(countIf, UInt8),
    rt_n AggregateFunction(count, Float64),
    rt_min AggregateFunction(min, Float64),
    rt_max AggregateFunction(max, Float64),
    rt_avg AggregateFunction(avg, Float64),
    rt_q AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    cpu_n AggregateFunction(count, Float64),
    cpu_avg AggregateFunction(avg, Float64),
    mem_n AggregateFunction(count, Float64),
    mem_avg AggregateFunction(avg, Float64)";

fn rollup_select(layout: &Layout, granule_ms: i64) -> String {
    format!(
        "SELECT service_id, intDiv(ts, {granule_ms}) * {granule_ms} AS bucket,
            countState() AS total,
            countIfState(status = 0) AS ok,
            countIfState(status = 1) AS degraded,
            countIfState(status = 2) AS failed,
            countState(response_time_ms) AS rt_n,
            minState(response_time_ms) AS rt_min,
            maxState(response_time_ms) AS rt_max,
            avgState(response_time_ms) AS rt_avg,
            quantilesState(0.5, 0.95, 0.99)(response_time_ms) AS rt_q,
            countState(cpu_usage) AS cpu_n,
            avgState(cpu_usage) AS cpu_avg,
            countState(memory_usage) AS mem_n,
            avgState(memory_usage) AS mem_avg
        FROM {} GROUP BY service_id, bucket",
        layout.local("results")
    )
}

/// Every migration, oldest first; a migration is a list of statements.
pub(super) fn migrations(l: &Layout) -> Vec<Vec<String>> {
    let mut m1 = Vec::new();
    m1.extend(l.data_table(
        "results",
        "service_id String, ts Int64, agent_id String, seq UInt64, service_type String,
         status UInt8, message String, response_time_ms Nullable(Float64),
         cpu_usage Nullable(Float64), memory_usage Nullable(Float64), metrics String, details String",
        "",
        "",
        &format!("PARTITION BY {DAY} ORDER BY (service_id, ts)"),
        "cityHash64(service_id)",
    ));
    m1.extend(l.data_table(
        "result_keys",
        "agent_id String, seq UInt64, ts Int64",
        "",
        "",
        &format!("PARTITION BY {DAY} ORDER BY (agent_id, seq)"),
        "cityHash64(agent_id)",
    ));
    m1.push(l.view(
        "result_keys_mv",
        "result_keys",
        &format!("SELECT agent_id, seq, ts FROM {}", l.local("results")),
    ));
    m1.extend(l.data_table(
        "latest",
        "service_id String, max_ts AggregateFunction(max, Int64),
         state AggregateFunction(argMax, Tuple(String, UInt8, String, Float64, Float64, Float64, String, UInt64), Tuple(Int64, UInt64))",
        "Aggregating",
        "",
        "ORDER BY service_id",
        "cityHash64(service_id)",
    ));
    m1.push(l.view(
        "latest_mv",
        "latest",
        &format!(
            "SELECT service_id, maxState(ts) AS max_ts,
                argMaxState(tuple(service_type, status, message, ifNull(response_time_ms, nan),
                    ifNull(cpu_usage, nan), ifNull(memory_usage, nan), agent_id, seq), tuple(ts, seq)) AS state
             FROM {} GROUP BY service_id",
            l.local("results")
        ),
    ));
    for (name, granule, partition) in [
        (
            "rollup_minute",
            60_000,
            "toYYYYMMDD(toDateTime(intDiv(bucket, 1000), 'UTC'))",
        ),
        (
            "rollup_hour",
            3_600_000,
            "toYYYYMM(toDateTime(intDiv(bucket, 1000), 'UTC'))",
        ),
    ] {
        m1.extend(l.data_table(
            name,
            ROLLUP_COLUMNS,
            "Aggregating",
            "",
            &format!("PARTITION BY {partition} ORDER BY (service_id, bucket)"),
            "cityHash64(service_id)",
        ));
        m1.push(l.view(&format!("{name}_mv"), name, &rollup_select(l, granule)));
    }
    m1.extend(l.data_table(
        "status_events",
        "id Int64, replica UInt64, service_id String, ts Int64, status UInt8,
         previous_status Nullable(UInt8), message String, response_time_ms Nullable(Float64), agent_id String",
        "",
        "",
        &format!("PARTITION BY {DAY} ORDER BY (id, replica)"),
        "rand()",
    ));
    m1.extend(l.data_table(
        "agents",
        "agent_id String, hostname String, version String, labels String, local_checks String, last_seen Int64",
        "Replacing",
        "last_seen",
        "ORDER BY agent_id",
        "cityHash64(agent_id)",
    ));
    // The catalog: every change is a new row with a higher `version`; a
    // delete is a row with `deleted = 1`. Reads take the newest row per id.
    let mut m2 = Vec::new();
    m2.extend(l.data_table(
        "services",
        "service_id String, label String, service_type String, status_config String,
         metric_config String, enabled UInt8, labels String, managed_by String,
         created_at Int64, updated_at Int64, version UInt64, deleted UInt8",
        "Replacing",
        "version",
        "ORDER BY service_id",
        "cityHash64(service_id)",
    ));
    m2.extend(l.data_table(
        "relations",
        "relation_id String, source_service_id String, target_service_id String,
         relation_type String, enabled UInt8, managed_by String,
         created_at Int64, updated_at Int64, version UInt64, deleted UInt8",
        "Replacing",
        "version",
        "ORDER BY relation_id",
        "cityHash64(relation_id)",
    ));
    let m3 = l.data_table(
        "removed_services",
        "service_id String, ts Int64",
        "Replacing",
        "ts",
        "ORDER BY service_id",
        "cityHash64(service_id)",
    );
    let m4 = l.data_table(
        "spool_gaps",
        "service_id String, agent_id String, first_seq UInt64, last_seq UInt64, dropped UInt64,
         from_ts Int64, ts Int64",
        "Replacing",
        "",
        &format!("PARTITION BY {DAY} ORDER BY (service_id, agent_id, first_seq)"),
        "cityHash64(service_id)",
    );
    let m5 = l.data_table(
        "api_tokens",
        "token_id String, name String, scope String, created_by String, created_at Int64,
         expires_at Int64, revoked_at Int64, last_used_at Int64, hash String, version UInt64",
        "Replacing",
        "version",
        "ORDER BY token_id",
        "cityHash64(token_id)",
    );
    let m6 = l.data_table(
        "audit_log",
        "id Int64, ts Int64, actor String, ip String, action String, objects String, changes String",
        "",
        "",
        "ORDER BY id",
        "cityHash64(id)",
    );
    // Alerting: documents replaced by newer versions, and the delivery log.
    let mut m7 = Vec::new();
    m7.extend(l.data_table(
        "alerting",
        "kind String, id String, body String, deleted UInt8, version UInt64",
        "Replacing",
        "version",
        "ORDER BY (kind, id)",
        "cityHash64(kind, id)",
    ));
    m7.extend(l.data_table(
        "alert_attempts",
        "notification_id String, at Int64, attempt UInt32, ok UInt8, code UInt16, detail String",
        "",
        "",
        "ORDER BY (notification_id, at, attempt)",
        "cityHash64(notification_id)",
    ));
    let m8 = l.data_table(
        "saved_views",
        "view_id String, owner String, body String, deleted UInt8, version UInt64",
        "Replacing",
        "version",
        "ORDER BY view_id",
        "cityHash64(view_id)",
    );
    let mut m9 = l.data_table(
        "push_subscriptions",
        "subscription_id String, owner String, body String, deleted UInt8, version UInt64",
        "Replacing",
        "version",
        "ORDER BY subscription_id",
        "cityHash64(subscription_id)",
    );
    m9.extend(l.data_table(
        "vapid_keys",
        "pkcs8 String, created_ms Int64",
        "",
        "",
        "ORDER BY created_ms",
        "cityHash64(pkcs8)",
    ));
    let [m10, m11, m12] = insights::tables(l);
    vec![m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12]
}

/// Tables partitioned by day or month, with the unit of their partition ids.
pub(super) const PARTITIONED: &[(&str, Granularity)] = &[
    ("results", Granularity::Day),
    ("result_keys", Granularity::Day),
    ("status_events", Granularity::Day),
    ("spool_gaps", Granularity::Day),
    ("rollup_minute", Granularity::Day),
    ("rollup_hour", Granularity::Month),
    ("anomalies", Granularity::Month),
    ("spool_samples", Granularity::Day),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Granularity {
    Day,
    Month,
}

/// ClickHouse's `major.minor` from `version()`.
pub(super) fn parse_version(v: &str) -> Result<(u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b))) => Ok((a, b)),
        _ => Err(crate::Error::internal(format!(
            "cannot read ClickHouse version `{v}`"
        ))),
    }
}

/// TTL arrived in 19.6.
pub(super) fn has_ttl(version: (u32, u32)) -> bool {
    version >= (19, 6)
}

#[cfg(test)]
mod tests;
