//! `api_endpoint` with `grpc://` against a real gRPC server running the
//! standard health service (tonic-health's implementation), in-process on
//! a free port and stopped when the test ends.

use lightbulb_agent::checks::grpc::GrpcCheck;
use lightbulb_agent::checks::{Check, CheckSpec};
use lightbulb_common::{ServiceType, Status};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

async fn check(config: serde_json::Value) -> lightbulb_agent::checks::Outcome {
    let CheckSpec::Grpc(spec) = CheckSpec::parse(ServiceType::ApiEndpoint, &config).expect("valid")
    else {
        panic!("not a gRPC check");
    };
    GrpcCheck::new(spec).run().await
}

#[tokio::test]
async fn serving_is_ok_and_not_serving_or_unknown_fails() {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("orders", ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            ),
    );
    let url = format!("grpc://{addr}");

    let ok = check(json!({"url": url})).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.message);
    assert!(
        ok.message
            .starts_with(&format!("grpc://{addr} SERVING in ")),
        "{}",
        ok.message
    );
    let one = check(json!({"url": url, "grpc_service": "orders"})).await;
    assert_eq!(one.status, Status::Ok, "{}", one.message);

    reporter
        .set_service_status("orders", ServingStatus::NotServing)
        .await;
    let down = check(json!({"url": url, "grpc_service": "orders"})).await;
    assert_eq!(down.status, Status::Failed);
    assert_eq!(
        down.message,
        format!("service `orders` at grpc://{addr} is NOT_SERVING")
    );
    let unknown = check(json!({"url": url, "grpc_service": "billing"})).await;
    assert_eq!(unknown.status, Status::Failed);
    assert!(
        unknown.message.contains("unknown to the health server"),
        "{}",
        unknown.message
    );

    stop.cancel();
    server.await.unwrap().unwrap();
    let gone = check(json!({"url": url})).await;
    assert_eq!(gone.status, Status::Failed);
    assert!(
        gone.message
            .starts_with(&format!("cannot connect to grpc://{addr}")),
        "{}",
        gone.message
    );
}

#[test]
fn a_grpc_url_needs_host_and_port() {
    let e =
        CheckSpec::parse(ServiceType::ApiEndpoint, &json!({"url": "grpc://nohost"})).unwrap_err();
    assert_eq!(e.0, "url");
}

#[tokio::test]
async fn grpcs_trusts_the_given_ca_and_reports_certificate_expiry() {
    lightbulb_common::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    lightbulb_common::certs::init(dir.path(), &[], &[]).unwrap();
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let identity =
        tonic::transport::Identity::from_pem(read("collector.crt"), read("collector.key"));
    let (_reporter, service) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .unwrap()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            ),
    );
    let url = format!("grpcs://{addr}");
    let ok = check(json!({"url": url, "ca": dir.path().join("ca.crt")})).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.message);
    assert!(
        ok.message
            .starts_with(&format!("grpcs://{addr} SERVING in ")),
        "{}",
        ok.message
    );
    assert!(ok.metrics.extra["cert_days_left"] > 300.0);

    // The dev CA is not among the system roots.
    let untrusted = check(json!({"url": url})).await;
    assert_eq!(untrusted.status, Status::Failed);
    assert!(
        untrusted
            .message
            .starts_with(&format!("cannot connect to grpcs://{addr}")),
        "{}",
        untrusted.message
    );

    let refused = CheckSpec::parse(
        ServiceType::ApiEndpoint,
        &json!({"url": url, "insecure": true}),
    );
    assert_eq!(refused.unwrap_err().0, "insecure");
    stop.cancel();
    server.await.unwrap().unwrap();
}
