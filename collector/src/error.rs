//! Errors, and the one mapping of error codes to HTTP statuses and gRPC codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What kind of failure, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    /// Well-formed input that breaks a rule (422).
    Invalid,
    NotFound,
    Conflict,
    Unauthenticated,
    Forbidden,
    /// A body of the wrong content type (415).
    UnsupportedMediaType,
    /// Over a rate limit (429, with `Retry-After`).
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::BadRequest | ErrorCode::Invalid | ErrorCode::UnsupportedMediaType => {
                tonic::Code::InvalidArgument
            }
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Conflict => tonic::Code::AlreadyExists,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::Forbidden => tonic::Code::PermissionDenied,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::TooManyRequests => tonic::Code::ResourceExhausted,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }
}

/// Why a request or an operation failed. Each variant has one `ErrorCode`
/// (and so one HTTP status and gRPC code); causes from the store or the
/// network are kept for `source()` chains in logs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Input that cannot be read (400), naming the field when there is one.
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// Well-formed input that breaks a rule (422), naming the field.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// Exists already, owned by someone else, a cycle, relations left.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// Trying again later may succeed (the store is busy or away).
    #[error("{message}")]
    Unavailable {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    #[error("{message}")]
    Internal {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
}

/// The error another one came from.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The one code each variant answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::BadRequest { .. } => ErrorCode::BadRequest,
            Error::Invalid { .. } => ErrorCode::Invalid,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Error::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Error::Unavailable { .. } => ErrorCode::Unavailable,
            Error::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// The offending field, for bad input.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::BadRequest { field, .. } | Error::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The same error, naming `field` (for input errors) as the culprit.
    pub fn at_field(self, field: &str) -> Error {
        match self {
            Error::BadRequest { message, .. } => Error::BadRequest {
                field: Some(field.into()),
                message,
            },
            Error::Invalid { message, .. } => Error::Invalid {
                field: Some(field.into()),
                message,
            },
            other => other,
        }
    }

    /// Input that cannot be read as a whole (not JSON, not UTF-8).
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest {
            field: None,
            message: message.into(),
        }
    }

    pub fn bad_field(field: &str, message: impl Into<String>) -> Error {
        Error::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// `field` breaks a rule: `service_type`, `status_config.url`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error::Conflict(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::Unavailable {
            message: message.into(),
            cause: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
            cause: None,
        }
    }

    /// The store (or a peer) failed with `cause`: unavailable when
    /// `retryable`, else internal. The cause is kept, not only quoted.
    pub fn store(
        retryable: bool,
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        let message = message.into();
        let cause: Option<Cause> = Some(std::sync::Arc::new(cause));
        if retryable {
            Error::Unavailable { message, cause }
        } else {
            Error::Internal { message, cause }
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::DiskFull
                ) =>
            {
                Error::store(true, format!("store unavailable: {e}"), e)
            }
            _ => Error::store(false, format!("store error: {e}"), e),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.code().grpc_code(), e.to_string())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
/// Every error's JSON: `{"error": {"code", "message", "field"}}`.
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    code: ErrorCode,
    message: String,
    /// The offending field, for bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                field: self.field().map(str::to_string),
            },
        };
        let mut response = (code.http_status(), axum::Json(body)).into_response();
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_http_and_grpc() {
        assert_eq!(ErrorCode::NotFound.http_status(), StatusCode::NOT_FOUND);
        assert_eq!(
            ErrorCode::Forbidden.grpc_code(),
            tonic::Code::PermissionDenied
        );
        let status: tonic::Status = Error::unavailable("down").into();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(Error::unavailable("x").is_retryable());
        assert!(!Error::bad_field("limit", "x").is_retryable());
    }

    #[test]
    fn a_store_error_keeps_its_cause() {
        let e: Error = rusqlite::Error::QueryReturnedNoRows.into();
        assert_eq!(e.code(), ErrorCode::Internal);
        let cause = std::error::Error::source(&e).expect("the cause is kept");
        assert_eq!(
            cause.to_string(),
            rusqlite::Error::QueryReturnedNoRows.to_string()
        );
        assert!(std::error::Error::source(&Error::not_found("x")).is_none());
    }
}
