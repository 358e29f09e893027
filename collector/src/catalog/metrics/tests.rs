use serde_json::json;

use super::*;

fn field_of(config: Value) -> String {
    match own(&config) {
        Err(Error::Invalid { field, .. }) => field.expect("named"),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn metric_config_errors_name_the_field() {
    assert_eq!(
        field_of(json!({"latency": {"failed": 1}})),
        "metric_config.latency"
    );
    assert_eq!(
        field_of(json!({"response_time_ms": {"failed": "2s"}})),
        "metric_config.response_time_ms.failed"
    );
    assert_eq!(
        field_of(json!({"response_time_ms": {"failed": 1, "aggregate": "p90"}})),
        "metric_config.response_time_ms.aggregate"
    );
    assert_eq!(
        field_of(json!({"response_time_ms": {"degraded": 5, "failed": 1, "direction": "above"}})),
        "metric_config.response_time_ms.direction"
    );
    assert_eq!(
        field_of(json!({"error_rate": {"failed": 10, "aggregate": "p95"}})),
        "metric_config.error_rate.aggregate"
    );
    assert_eq!(field_of(json!({"window": "2h"})), "metric_config.window");
    assert_eq!(
        field_of(json!({"cpu_usage": {}})),
        "metric_config.cpu_usage"
    );
    assert_eq!(
        field_of(json!({"cpu_usage": {"failed": 90, "warn": 80}})),
        "metric_config.cpu_usage.warn"
    );
    assert_eq!(field_of(json!([1])), "metric_config");
    assert!(own(&json!(null)).unwrap().is_none());
    // Falling values are worse when `failed` is below `degraded`.
    let o = own(&json!({"cert_days_left": {"degraded": 14, "failed": 3}}))
        .unwrap()
        .unwrap();
    assert!(o.levels[0].below);
    assert_eq!(o.window_ms, DEFAULT_WINDOW_MS);
}

#[test]
fn aggregates_use_the_nearest_rank() {
    let mut v: Vec<f64> = (1..=100).map(f64::from).rev().collect();
    assert_eq!(Aggregate::P95.of(&mut v.clone()), Some(95.0));
    assert_eq!(Aggregate::P50.of(&mut v.clone()), Some(50.0));
    assert_eq!(Aggregate::Last.of(&mut v.clone()), Some(1.0));
    assert_eq!(Aggregate::Avg.of(&mut v.clone()), Some(50.5));
    assert_eq!(Aggregate::Max.of(&mut v), Some(100.0));
    assert_eq!(Aggregate::Min.of(&mut []), None);
}
