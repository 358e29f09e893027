//! `api_endpoint` with `grpc://host:port` or `grpcs://host:port` (TLS): the
//! standard gRPC health-checking protocol (`grpc.health.v1.Health/Check`),
//! for the whole server or one service. SERVING is OK (DEGRADED over
//! `degraded_ms`); anything else, an unknown service or a server without the
//! protocol is FAILED. Over TLS the certificate's expiry is judged as for
//! https://.

use std::time::{Duration, Instant};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub use lightbulb_common::spec::GrpcSpec;

use super::support::{error_chain, latency_outcome};
use super::{BoxFuture, Check, Outcome};

pub struct GrpcCheck {
    spec: GrpcSpec,
    /// Built once: the TLS roots and `ca` are read at start, not every run.
    endpoint: Result<Endpoint, String>,
}

impl GrpcCheck {
    pub fn new(spec: GrpcSpec) -> GrpcCheck {
        let endpoint = endpoint(&spec);
        GrpcCheck { spec, endpoint }
    }

    fn url(&self) -> String {
        url(&self.spec)
    }

    fn what(&self) -> String {
        match self.spec.service.as_str() {
            "" => self.url(),
            s => format!("service `{s}` at {}", self.url()),
        }
    }

    async fn probe(&self) -> Outcome {
        let endpoint = match &self.endpoint {
            Ok(e) => e,
            Err(e) => return Outcome::failed(e.clone()),
        };
        let start = Instant::now();
        let channel = match endpoint.connect().await {
            Ok(c) => c,
            Err(e) => {
                return Outcome::failed(format!(
                    "cannot connect to {}: {}",
                    self.url(),
                    error_chain(&e)
                ));
            }
        };
        let request = HealthCheckRequest {
            service: self.spec.service.clone(),
        };
        let answer = HealthClient::new(channel).check(request).await;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
        let mut o = match answer {
            Ok(r) => match ServingStatus::try_from(r.into_inner().status) {
                Ok(ServingStatus::Serving) => latency_outcome(
                    format!("{} SERVING", self.what()),
                    elapsed_ms,
                    self.spec.degraded_ms,
                ),
                Ok(other) => Outcome::failed(format!("{} is {}", self.what(), other.as_str_name())),
                Err(_) => Outcome::failed(format!("{} answered an unknown status", self.what())),
            },
            Err(s) if s.code() == tonic::Code::NotFound => {
                Outcome::failed(format!("{} is unknown to the health server", self.what()))
            }
            Err(s) if s.code() == tonic::Code::Unimplemented => {
                Outcome::failed(format!("{} does not implement grpc.health.v1", self.url()))
            }
            Err(s) => Outcome::failed(format!(
                "health check of {} failed: {:?}: {}",
                self.what(),
                s.code(),
                s.message()
            )),
        };
        o.metrics.response_time_ms = Some(elapsed_ms);
        if self.spec.tls
            && let Ok(url) = reqwest::Url::parse(&format!("https://{}", self.spec.addr))
        {
            super::cert::judge(&url, self.spec.cert_degraded_days, &mut o).await;
        }
        o
    }
}

fn url(spec: &GrpcSpec) -> String {
    let scheme = if spec.tls { "grpcs" } else { "grpc" };
    format!("{scheme}://{}", spec.addr)
}

fn endpoint(spec: &GrpcSpec) -> Result<Endpoint, String> {
    let scheme = if spec.tls { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", spec.addr))
        .map_err(|e| format!("{} is not an address: {e}", url(spec)))?
        .connect_timeout(Duration::from_secs(5));
    if spec.tls {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = &spec.ca {
            let pem =
                std::fs::read(ca).map_err(|e| format!("cannot read ca {}: {e}", ca.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
    }
    Ok(endpoint)
}

impl Check for GrpcCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.probe())
    }
}
