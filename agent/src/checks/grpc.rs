//! `api_endpoint` with `grpc://host:port`: the standard gRPC health-checking
//! protocol (`grpc.health.v1.Health/Check`), for the whole server or one
//! service. SERVING is OK (DEGRADED over `degraded_ms`); anything else, an
//! unknown service or a server without the protocol is FAILED.

use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub use lightbulb_common::spec::GrpcSpec;

use super::http::{error_chain, latency_outcome};
use super::{BoxFuture, Check, Outcome};

pub struct GrpcCheck {
    spec: GrpcSpec,
}

impl GrpcCheck {
    pub fn new(spec: GrpcSpec) -> GrpcCheck {
        GrpcCheck { spec }
    }

    fn what(&self) -> String {
        match self.spec.service.as_str() {
            "" => format!("grpc://{}", self.spec.addr),
            s => format!("service `{s}` at grpc://{}", self.spec.addr),
        }
    }

    async fn probe(&self) -> Outcome {
        let endpoint =
            match tonic::transport::Endpoint::from_shared(format!("http://{}", self.spec.addr)) {
                Ok(e) => e.connect_timeout(Duration::from_secs(5)),
                Err(e) => {
                    return Outcome::failed(format!(
                        "grpc://{} is not an address: {e}",
                        self.spec.addr
                    ));
                }
            };
        let start = Instant::now();
        let channel = match endpoint.connect().await {
            Ok(c) => c,
            Err(e) => {
                return Outcome::failed(format!(
                    "cannot connect to grpc://{}: {}",
                    self.spec.addr,
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
            Err(s) if s.code() == tonic::Code::Unimplemented => Outcome::failed(format!(
                "grpc://{} does not implement grpc.health.v1",
                self.spec.addr
            )),
            Err(s) => Outcome::failed(format!(
                "health check of {} failed: {:?}: {}",
                self.what(),
                s.code(),
                s.message()
            )),
        };
        o.metrics.response_time_ms = Some(elapsed_ms);
        o
    }
}

impl Check for GrpcCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.probe())
    }
}
