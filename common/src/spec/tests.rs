use super::*;

fn spec(config: serde_json::Value) -> Result<CheckSpec, (String, String)> {
    parse_http(&config)
}

#[test]
fn the_target_host_is_found_in_every_form() {
    for (text, host) in [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        (
            "https://user:pw@Web.Internal:8443/health?x=1",
            "web.internal",
        ),
        ("tcp://10.0.0.5:5432", "10.0.0.5"),
        ("http://[fd00:ec2::254]:80/", "fd00:ec2::254"),
        ("temporal.internal:7233", "temporal.internal"),
        ("fe80::1", "fe80::1"),
    ] {
        assert_eq!(host_of(text).as_deref(), Some(host), "{text}");
    }
    assert_eq!(host_of("http:///x"), None);
    let target = spec(serde_json::json!({"url": "http://169.254.169.254/x"}))
        .unwrap()
        .target();
    assert_eq!(target, Some(("url", "169.254.169.254".to_string())));
}

#[test]
fn config_errors_name_the_key() {
    assert_eq!(
        spec(serde_json::json!({"url": "ftp://x"})).unwrap_err().0,
        "url"
    );
    assert_eq!(
        spec(serde_json::json!({"url": "tcp://nohost"}))
            .unwrap_err()
            .0,
        "url"
    );
    assert_eq!(
        spec(serde_json::json!({"url": "http://x", "method": "TRACE"}))
            .unwrap_err()
            .0,
        "method"
    );
    let (_, reason) = spec(serde_json::json!({"url": "http://x", "timout": 3})).unwrap_err();
    assert!(reason.contains("unknown field `timout`"), "{reason}");
    assert!(matches!(
        spec(serde_json::json!({"url": "tcp://127.0.0.1:80"})),
        Ok(CheckSpec::Tcp(_))
    ));
}

fn process(json: serde_json::Value) -> ProcessSpec {
    serde_json::from_value(json).unwrap()
}

#[test]
fn exactly_one_selector() {
    assert!(
        process(serde_json::json!({"pid": 1, "cmdline": "x"}))
            .validate()
            .is_err()
    );
    assert!(process(serde_json::json!({})).validate().is_err());
    assert_eq!(
        process(serde_json::json!({"cmdline": "("}))
            .validate()
            .unwrap_err()
            .0,
        "cmdline"
    );
}

#[test]
fn secret_references_stand_for_free_text_only() {
    let http =
        |config: serde_json::Value| CheckSpec::parse_template(ServiceType::ApiEndpoint, &config);
    let ok = http(serde_json::json!({"url": "http://web/health",
        "headers": {"Authorization": "secret://vault/secret/web#auth"}}));
    assert!(ok.is_ok(), "{ok:?}");
    let (key, why) = http(serde_json::json!({"url": "secret://env/URL"})).unwrap_err();
    assert_eq!(key, "url");
    assert!(why.contains("free text"), "{why}");
    let (key, why) = http(serde_json::json!({"url": "http://web/",
        "headers": {"X": "secret://vault/nokey"}}))
    .unwrap_err();
    assert_eq!(key, "headers.X");
    assert!(why.contains("#KEY"), "{why}");
    let (key, why) = CheckSpec::parse_template(
        ServiceType::TemporalWorkflow,
        &serde_json::json!({"address": "secret://env/TEMPORAL"}),
    )
    .unwrap_err();
    assert_eq!(key, "address");
    assert!(why.contains("secret reference"), "{why}");
    let db = CheckSpec::parse_template(
        ServiceType::Database,
        &serde_json::json!({"url": "http://ch:8123", "password": "secret://file/run/secrets/ch"}),
    );
    assert!(db.is_ok(), "{db:?}");
}
