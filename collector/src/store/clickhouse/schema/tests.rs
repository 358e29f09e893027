use super::*;

#[test]
fn one_server_gets_plain_merge_trees() {
    let l = Layout {
        db: "lb".into(),
        cluster: String::new(),
        replicas: 1,
    };
    let all = migrations(&l).concat().join("\n");
    assert!(all.contains("CREATE TABLE IF NOT EXISTS `lb`.`results` ("));
    assert!(
        !all.contains("Replicated") && !all.contains("Distributed") && !all.contains("ON CLUSTER")
    );
    assert!(all.contains("ENGINE = AggregatingMergeTree()"));
}

#[test]
fn a_cluster_gets_replicated_locals_and_distributed_tables() {
    let l = Layout {
        db: "lb".into(),
        cluster: "main".into(),
        replicas: 2,
    };
    let all = migrations(&l).concat().join("\n");
    assert!(all.contains("`lb`.`results_local` ON CLUSTER `main` (service_id String"));
    assert!(
        all.contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/lb/results', '{replica}')")
    );
    assert!(all.contains("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/lb/agents', '{replica}', last_seen)"));
    assert!(all.contains(
        "`lb`.`results` ON CLUSTER `main` AS `lb`.`results_local` ENGINE = Distributed(`main`, `lb`, `results_local`, cityHash64(service_id))"
    ));
    // Views read and write shard-local tables.
    assert!(all.contains("TO `lb`.`rollup_hour_local` AS SELECT"));
    assert!(all.contains("FROM `lb`.`results_local` GROUP BY service_id, bucket"));
}

#[test]
fn versions_parse_and_gate_ttl() {
    assert_eq!(parse_version("18.16.1").unwrap(), (18, 16));
    assert!(!has_ttl((18, 16)));
    assert!(has_ttl((24, 3)));
    assert!(parse_version("x").is_err());
}
