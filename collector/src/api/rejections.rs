//! Requests axum refuses before a handler runs (a query string that does
//! not deserialize, an unsupported media type) answer in plain text; this
//! layer turns those into the API's JSON error, naming the field when the
//! text does (`cascade: provided string was not `true` or `false``).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Error;

/// Longest rejection text read back.
const MOST: usize = 16 * 1024;

pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    let status = response.status();
    if !plain || !status.is_client_error() {
        return response;
    }
    let text = match to_bytes(response.into_body(), MOST).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_string(),
    };
    match error(status, text.clone()) {
        Some(e) => e.into_response(),
        None => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            Body::from(text),
        )
            .into_response(),
    }
}

/// The JSON error for a rejection's status and text; `None` for a status
/// the API has no error code for.
fn error(status: StatusCode, text: String) -> Option<Error> {
    // "Failed to deserialize query string: cascade: provided string was …"
    let detail = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, rest)| rest);
    let field = detail
        .split_once(": ")
        .map(|(f, _)| f)
        .filter(|f| {
            !f.is_empty()
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
        })
        .map(str::to_string);
    Some(match status {
        StatusCode::BAD_REQUEST => Error::BadRequest {
            field,
            message: text,
        },
        StatusCode::UNPROCESSABLE_ENTITY => Error::Invalid {
            field,
            message: text,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(text),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_named_when_the_text_names_it() {
        let e = error(
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: cascade: provided string was not `true` or `false`".into(),
        )
        .unwrap();
        assert_eq!(e.field(), Some("cascade"));
        let plain = error(StatusCode::BAD_REQUEST, "Bad request".into()).unwrap();
        assert_eq!(plain.field(), None);
        assert!(error(StatusCode::NOT_FOUND, "gone".into()).is_none());
    }
}
