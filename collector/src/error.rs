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
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::BadRequest | ErrorCode::Invalid => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Conflict => tonic::Code::AlreadyExists,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::Forbidden => tonic::Code::PermissionDenied,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }
}

/// An error with its code, message, (for bad input) the offending field,
/// and (when another error caused it: the store's, the network's) that
/// cause, kept for `source()` chains in logs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    #[source]
    pub cause: Option<Cause>,
}

/// The error another one came from.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            field: None,
            cause: None,
        }
    }

    /// `message`, caused by `cause` (kept, not only quoted).
    pub fn caused_by(
        code: ErrorCode,
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            cause: Some(std::sync::Arc::new(cause)),
            ..Error::new(code, message)
        }
    }

    pub fn bad_field(field: &str, message: impl Into<String>) -> Error {
        Error {
            field: Some(field.into()),
            ..Error::new(ErrorCode::BadRequest, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Internal, message)
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.code == ErrorCode::Unavailable
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
                Error::caused_by(ErrorCode::Unavailable, format!("store unavailable: {e}"), e)
            }
            _ => Error::caused_by(ErrorCode::Internal, format!("store error: {e}"), e),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.code.grpc_code(), e.message)
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
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (self.code.http_status(), axum::Json(body)).into_response()
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
        assert_eq!(e.code, ErrorCode::Internal);
        let cause = std::error::Error::source(&e).expect("the cause is kept");
        assert_eq!(
            cause.to_string(),
            rusqlite::Error::QueryReturnedNoRows.to_string()
        );
        assert!(std::error::Error::source(&Error::not_found("x")).is_none());
    }
}
