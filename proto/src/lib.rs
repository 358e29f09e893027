//! The `lightbulb.v1` wire protocol (generated at build time) and its
//! conversions to and from the domain types of `lightbulb-common`.

#[allow(clippy::all, rust_2018_idioms)]
pub mod v1 {
    tonic::include_proto!("lightbulb.v1");
}

use lightbulb_common::{Metrics, ServiceType, Status};

/// Why a wire result cannot become a domain result.
#[derive(Debug, PartialEq)]
pub enum InvalidResult {
    Status(u32),
    ServiceType(String),
    ServiceId(String),
    Details(String),
    Timestamp(i64),
}

/// The latest check time a result may carry: the end of year 9999, where
/// RFC 3339 ends. Earlier than 1970 is refused too.
pub const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

impl std::fmt::Display for InvalidResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvalidResult::Status(c) => write!(f, "status code {c} is outside 0-5"),
            InvalidResult::ServiceType(t) => write!(f, "unknown service type `{t}`"),
            InvalidResult::ServiceId(e) => f.write_str(e),
            InvalidResult::Details(e) => write!(f, "details are not a JSON object: {e}"),
            InvalidResult::Timestamp(t) => {
                write!(f, "check time {t} ms is not between 1970 and the year 9999")
            }
        }
    }
}

impl From<&lightbulb_common::CheckResult> for v1::CheckResult {
    fn from(r: &lightbulb_common::CheckResult) -> Self {
        v1::CheckResult {
            seq: 0,
            service_id: r.service_id.clone(),
            service_type: r.service_type.as_str().to_string(),
            timestamp_ms: r.timestamp_ms,
            status_code: u32::from(r.status.code()),
            message: r.message.clone(),
            metrics: Some(v1::Metrics {
                response_time_ms: r.metrics.response_time_ms,
                cpu_usage: r.metrics.cpu_usage,
                memory_usage: r.metrics.memory_usage,
                extra: r.metrics.extra.clone().into_iter().collect(),
            }),
            details_json: if r.details.is_null() {
                String::new()
            } else {
                r.details.to_string()
            },
            gap: None,
        }
    }
}

impl TryFrom<&v1::CheckResult> for lightbulb_common::CheckResult {
    type Error = InvalidResult;

    fn try_from(r: &v1::CheckResult) -> Result<Self, InvalidResult> {
        let status =
            Status::from_code(r.status_code).ok_or(InvalidResult::Status(r.status_code))?;
        let service_type = ServiceType::parse(&r.service_type)
            .ok_or_else(|| InvalidResult::ServiceType(r.service_type.clone()))?;
        lightbulb_common::validate_service_id(&r.service_id).map_err(InvalidResult::ServiceId)?;
        if !(0..=MAX_TIMESTAMP_MS).contains(&r.timestamp_ms) {
            return Err(InvalidResult::Timestamp(r.timestamp_ms));
        }
        let details = if r.details_json.is_empty() {
            serde_json::Value::Null
        } else {
            match serde_json::from_str(&r.details_json) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                Ok(_) => return Err(InvalidResult::Details("not an object".into())),
                Err(e) => return Err(InvalidResult::Details(e.to_string())),
            }
        };
        let m = r.metrics.clone().unwrap_or_default();
        Ok(lightbulb_common::CheckResult {
            service_id: r.service_id.clone(),
            service_type,
            timestamp_ms: r.timestamp_ms,
            status,
            message: r.message.clone(),
            metrics: Metrics {
                response_time_ms: m.response_time_ms,
                cpu_usage: m.cpu_usage,
                memory_usage: m.memory_usage,
                extra: m.extra.into_iter().collect(),
            },
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn sample() -> lightbulb_common::CheckResult {
        lightbulb_common::CheckResult {
            service_id: "web".into(),
            service_type: ServiceType::ApiEndpoint,
            timestamp_ms: 1_700_000_000_123,
            status: Status::Degraded,
            message: "slow: 812 ms".into(),
            metrics: Metrics {
                response_time_ms: Some(812.0),
                cpu_usage: None,
                memory_usage: Some(1024.0),
                extra: [("threads".to_string(), 4.0)].into(),
            },
            details: serde_json::json!({"error": "timeout"}),
        }
    }

    #[test]
    fn result_survives_encode_decode_and_conversion() {
        let domain = sample();
        let mut wire = v1::CheckResult::from(&domain);
        wire.seq = 42;
        let bytes = wire.encode_to_vec();
        let decoded = v1::CheckResult::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.seq, 42);
        let back = lightbulb_common::CheckResult::try_from(&decoded).unwrap();
        assert_eq!(back, domain);
    }

    #[test]
    fn invalid_wire_results_are_refused_with_the_reason() {
        let mut wire = v1::CheckResult::from(&sample());
        wire.status_code = 9;
        assert_eq!(
            lightbulb_common::CheckResult::try_from(&wire),
            Err(InvalidResult::Status(9))
        );
        let mut wire = v1::CheckResult::from(&sample());
        wire.service_id = "Bad_Id".into();
        let err = lightbulb_common::CheckResult::try_from(&wire).unwrap_err();
        assert!(err.to_string().contains("must match"), "{err}");
        // Found by the malformed-batch test: bucketing overflowed on them.
        for t in [i64::MIN, -1, MAX_TIMESTAMP_MS + 1, i64::MAX] {
            let mut wire = v1::CheckResult::from(&sample());
            wire.timestamp_ms = t;
            assert_eq!(
                lightbulb_common::CheckResult::try_from(&wire),
                Err(InvalidResult::Timestamp(t))
            );
        }
        let mut wire = v1::CheckResult::from(&sample());
        wire.timestamp_ms = MAX_TIMESTAMP_MS;
        assert!(lightbulb_common::CheckResult::try_from(&wire).is_ok());
    }
}
