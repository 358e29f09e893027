//! The web dashboard (`web/`, built by `npm run build` into `web/dist`):
//! embedded into release builds, read from disk in debug builds. Hashed
//! assets are cached for a year; every other path that is not the API falls
//! back to `index.html`, where the dashboard's router takes over. Without a
//! built bundle `/` shows a page listing the API.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::Error;

#[derive(rust_embed::Embed)]
#[folder = "../web/dist"]
#[allow_missing = true]
struct Bundle;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(path: &str) -> Option<Response> {
    let f = Bundle::get(path)?;
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = Response::new(Body::from(f.data.into_owned()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(r)
}

pub async fn index() -> Response {
    file("index.html").unwrap_or_else(|| Html(include_str!("index.html")).into_response())
}

/// Bundle files, then the dashboard's own routes; JSON 404 for the API.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let api = path.starts_with("api/") || path == "api";
    if !(method == Method::GET || method == Method::HEAD) || api {
        return Error::not_found("no such endpoint").into_response();
    }
    if let Some(r) = file(path) {
        return r;
    }
    // A missing asset is a 404, not the page: the browser asked for a file.
    let last = path.rsplit('/').next().unwrap_or_default();
    if !last.contains('.')
        && let Some(r) = file("index.html")
    {
        return r;
    }
    Error::not_found("no such page").into_response()
}
