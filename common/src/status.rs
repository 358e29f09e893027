use std::fmt;

use serde::{Deserialize, Serialize};

/// Health of a service. The numeric codes are fixed by the spec and stored as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Ok = 0,
    Degraded = 1,
    Failed = 2,
    Starting = 3,
    Stopped = 4,
    Unknown = 5,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Ok,
        Status::Degraded,
        Status::Failed,
        Status::Starting,
        Status::Stopped,
        Status::Unknown,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status for a wire code; codes outside 0–5 are `None`.
    pub fn from_code(code: u32) -> Option<Status> {
        Status::ALL.get(usize::try_from(code).ok()?).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Degraded => "DEGRADED",
            Status::Failed => "FAILED",
            Status::Starting => "STARTING",
            Status::Stopped => "STOPPED",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The worse of two statuses for roll-ups: FAILED > DEGRADED > OK.
    pub fn worst(self, other: Status) -> Status {
        fn rank(s: Status) -> u8 {
            match s {
                Status::Ok | Status::Stopped => 0,
                Status::Starting => 1,
                Status::Unknown => 2,
                Status::Degraded => 3,
                Status::Failed => 4,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of thing a service is, and so which check observes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    TemporalWorkflow,
    PythonProcess,
    ApiEndpoint,
    Database,
    KubernetesPod,
    Application,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::TemporalWorkflow => "temporal_workflow",
            ServiceType::PythonProcess => "python_process",
            ServiceType::ApiEndpoint => "api_endpoint",
            ServiceType::Database => "database",
            ServiceType::KubernetesPod => "kubernetes_pod",
            ServiceType::Application => "application",
        }
    }

    pub const ALL: [ServiceType; 6] = [
        ServiceType::TemporalWorkflow,
        ServiceType::PythonProcess,
        ServiceType::ApiEndpoint,
        ServiceType::Database,
        ServiceType::KubernetesPod,
        ServiceType::Application,
    ];

    pub fn parse(s: &str) -> Option<ServiceType> {
        ServiceType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks the service id naming rule `^[a-z0-9][a-z0-9-]{0,62}$`; the error
/// says what is wrong in words a user can act on.
pub fn validate_service_id(id: &str) -> Result<(), String> {
    validate_id("service id", id)
}

/// `validate_service_id` for an id of something else (`what`: "channel id").
pub fn validate_id(what: &str, id: &str) -> Result<(), String> {
    let rule = "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lowercase letters, digits and '-', not starting with '-', at most 63 characters)";
    let first_ok = id
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if id.is_empty() {
        Err(format!("{what} is empty: {rule}"))
    } else if id.len() > 63 || !first_ok || !rest_ok {
        Err(format!("{what} `{id}` {rule}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip_and_reject_out_of_range() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(u32::from(s.code())), Some(s));
        }
        assert_eq!(Status::from_code(6), None);
        assert_eq!(Status::Failed.name(), "FAILED");
    }

    #[test]
    fn worst_prefers_failed_over_degraded_over_ok() {
        assert_eq!(Status::Ok.worst(Status::Degraded), Status::Degraded);
        assert_eq!(Status::Failed.worst(Status::Degraded), Status::Failed);
        assert_eq!(Status::Ok.worst(Status::Stopped), Status::Ok);
    }

    #[test]
    fn service_id_rule() {
        for ok in ["web", "a", "0-x", "api-gw-2", &"a".repeat(63)] {
            assert!(validate_service_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-web", "Web", "web_1", "web.1", &"a".repeat(64)] {
            let err = validate_service_id(bad).unwrap_err();
            assert!(err.contains("must match"), "{bad}: {err}");
        }
    }

    #[test]
    fn service_types_parse_by_name() {
        assert_eq!(
            ServiceType::parse("python_process"),
            Some(ServiceType::PythonProcess)
        );
        assert_eq!(ServiceType::parse("nope"), None);
    }
}
