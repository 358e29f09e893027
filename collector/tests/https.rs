//! HTTPS on the REST/UI listener, with the real collector binary: served
//! with the configured certificate and HSTS, plain HTTP refused; on SIGHUP a
//! new certificate is served to new connections, and a broken one is logged
//! and the current one kept.

mod support;

use std::path::Path;
use std::time::Duration;

use lightbulb_common::certs::DevCa;
use support::{Collector, StoreSpec, eventually};

/// A client trusting only `ca_pem`.
fn client(ca_pem: &str) -> reqwest::Client {
    lightbulb_common::tls::install_crypto_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Writes a fresh CA's collector certificate as the served one; the CA.
fn issue(dir: &Path, name: &str) -> DevCa {
    let ca = DevCa::new(name).unwrap();
    let signed = ca.collector(&[]).unwrap();
    std::fs::write(dir.join("https.crt"), signed.cert_pem).unwrap();
    std::fs::write(dir.join("https.key"), signed.key_pem).unwrap();
    ca
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_with_hsts_and_its_certificate_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let certs = support::certs(dir.path(), &[]);
    let first = issue(dir.path(), "first CA");
    let extra = format!(
        "[http.tls]\ncert = \"{d}/https.crt\"\nkey = \"{d}/https.key\"\nhsts_max_age = \"1d\"\n",
        d = dir.path().display()
    );
    let any = "127.0.0.1:0".parse().unwrap();
    let collector = Collector::start_on(
        dir.path(),
        &certs,
        any,
        any,
        StoreSpec::Sqlite(dir.path().join("data/lightbulb.db")),
        &extra,
    );
    let url = format!("https://127.0.0.1:{}/api/status", collector.http.port());

    let r = client(&first.cert_pem).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=86400");
    let plain = support::http()
        .get(collector.url("/api/status"))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() != 200),
        "plain HTTP is not served on an HTTPS listener"
    );

    let second = issue(dir.path(), "second CA");
    collector.proc.signal("HUP");
    collector
        .proc
        .wait_for_line("HTTPS certificate reloaded", Duration::from_secs(10));
    eventually(
        Duration::from_secs(10),
        "the new certificate served",
        || async {
            let r = client(&second.cert_pem).get(&url).send().await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
    assert!(
        client(&first.cert_pem).get(&url).send().await.is_err(),
        "the old certificate is no longer served"
    );

    std::fs::write(dir.path().join("https.crt"), "not a certificate\n").unwrap();
    collector.proc.signal("HUP");
    let line = collector.proc.wait_for_line(
        "cannot reload the HTTPS certificate",
        Duration::from_secs(10),
    );
    assert!(line.contains("https.crt"), "{line}");
    let r = client(&second.cert_pem).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "the current certificate is kept");
}

#[test]
fn an_unusable_certificate_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let certs = support::certs(dir.path(), &[]);
    let extra = format!(
        "[http.tls]\ncert = \"{d}/missing.crt\"\nkey = \"{d}/missing.key\"\n",
        d = dir.path().display()
    );
    let (mut cmd, _) = Collector::command(dir.path(), &certs, &extra);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("http.tls.cert"), "{err}");
    assert!(err.contains("missing.crt"), "{err}");
}
