//! The expiry of an HTTPS server's certificate, read in a TLS handshake of
//! its own. The handshake accepts any certificate: judging trust is the
//! HTTP request's job; this only reads the date.

use std::sync::Arc;

use lightbulb_common::Status;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::Outcome;

#[derive(Debug)]
struct ReadOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for ReadOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `notAfter` (epoch ms) of the certificate `url`'s server presents.
pub async fn not_after_ms(url: &reqwest::Url) -> Result<i64, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("the server sent no certificate")?;
    lightbulb_common::tls::certificate_not_after_ms(cert)
        .ok_or_else(|| "cannot read the certificate's expiry".into())
}

/// DEGRADED when the certificate of `url`'s server expires within
/// `degraded_days`, FAILED when it has expired.
pub async fn judge(url: &reqwest::Url, degraded_days: u32, outcome: &mut Outcome) {
    let not_after = match not_after_ms(url).await {
        Ok(ms) => ms,
        Err(e) => {
            outcome.details = serde_json::json!({"certificate_error": e});
            return;
        }
    };
    let days = (not_after - lightbulb_common::time::now_ms()) as f64 / 86_400_000.0;
    outcome.metrics.extra.insert("cert_days_left".into(), days);
    let expires = lightbulb_common::time::format_iso(not_after);
    let (status, note) = if days < 0.0 {
        (
            Status::Failed,
            format!(
                "TLS certificate expired {:.0} days ago ({expires})",
                (-days).floor()
            ),
        )
    } else if days < f64::from(degraded_days) {
        (
            Status::Degraded,
            format!(
                "TLS certificate expires in {:.0} days ({expires})",
                days.floor()
            ),
        )
    } else {
        return;
    };
    if status.worst(outcome.status) == status {
        outcome.status = status;
    }
    outcome.message = format!("{}; {note}", outcome.message);
}
