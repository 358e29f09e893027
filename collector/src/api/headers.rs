//! Headers on every response: security headers (a content security policy
//! the dashboard passes, no framing, no sniffing, no referrer, HSTS when
//! serving HTTPS), and CORS for
//! the origins `http.cors_origins` allows (none by default), preflights
//! included.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// What pages may load: only this collector's own scripts (plus the API
/// document page's one inline script, by hash) and styles set by scripts.
fn policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'self'; script-src 'self' '{}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
            super::openapi::docs_script_hash()
        )
    })
}

/// The request's `Origin` if `http.cors_origins` allows it.
pub(super) fn allowed_origin<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    state
        .config
        .http
        .cors_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
        .then_some(origin)
}

pub async fn headers(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let origin = allowed_origin(&state, req.headers()).map(str::to_string);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&origin, preflight) {
        (Some(_), true) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, last-event-id"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            r
        }
        _ => next.run(req).await,
    };
    let h = response.headers_mut();
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("lightbulb-audit-id, retry-after"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let Ok(csp) = HeaderValue::from_str(policy()) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(tls) = &state.config.http.tls
        && !tls.hsts_max_age.is_zero()
        && let Ok(v) = HeaderValue::from_str(&format!("max-age={}", tls.hsts_max_age.as_secs()))
    {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
