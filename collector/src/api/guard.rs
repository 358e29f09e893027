//! The one place every request is checked, before any handler runs:
//!
//! 1. a request that changes state must come from this collector's own
//!    pages or from a client that is not a browser (`Origin`,
//!    `Sec-Fetch-Site`), with the content type its route takes (a
//!    cross-site "simple" request can only send form encodings or
//!    text/plain): else 403 or 415;
//! 2. the caller is identified (`auth::Auth::identify`) and counted
//!    against their rate limit and their address's (429 over it; sign-in
//!    attempts against their own, stricter one);
//! 3. the route's entry in `access::ROUTES` decides: 401 for nobody, 403
//!    naming the missing permission.
//!
//! The identity is left in the request's extensions; handlers take it as
//! an `Actor` (who changes the catalog) or an `Identity`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::limits::{Limits, caller_key};
use crate::Error;
use crate::access::{self, Access, Body};
use crate::auth::{Caller, Identity};
use crate::catalog::Actor;
use crate::state::AppState;

pub async fn guard(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = match *req.method() {
        Method::HEAD => "GET",
        ref m => m.as_str(),
    }
    .to_string();
    let Some(path) = matched.map(|m| m.as_str().to_string()) else {
        // Not an API route: the dashboard's files, or 404.
        return next.run(req).await;
    };
    let Some(route) = access::route(&method, &path) else {
        if access::ROUTES.iter().any(|r| r.path == path) {
            // The path exists with other methods: 405 from the router.
            return next.run(req).await;
        }
        // A route nobody gave an access rule: closed.
        return Error::internal(format!("no access rule for {method} {path}")).into_response();
    };
    if method != "GET" {
        let cors = super::headers::allowed_origin(&state, req.headers()).is_some();
        if let Err(e) = same_site(req.headers()).or_else(|e| if cors { Ok(()) } else { Err(e) }) {
            return e.into_response();
        }
        if let Err(e) = content_type(req.headers(), route.body) {
            return e.into_response();
        }
    }
    let now = lightbulb_common::time::now_ms();
    let identity = match state.auth.identify(req.headers(), now).await {
        Caller::Known(identity) => Some(identity),
        Caller::Nobody => None,
        Caller::Refused(why) if route.access != Access::Open => {
            return Error::Unauthenticated(why).into_response();
        }
        Caller::Refused(_) => None,
    };
    let ip = ip_in(req.extensions());
    if let Some(limits) = req.extensions().get::<Arc<Limits>>() {
        let counted = match (route.access, &identity) {
            (Access::Needs(_), Some(who)) => {
                limits.request(Some(&caller_key(who, ip.as_deref())), ip.as_deref(), now)
            }
            (Access::Needs(_), None) => limits.request(None, ip.as_deref(), now),
            _ if path == "/api/auth/login" => limits.login(ip.as_deref(), now),
            _ => Ok(()),
        };
        if let Err(e) = counted {
            return e.into_response();
        }
    }
    if let Access::Needs(permission) = route.access {
        match &identity {
            None => {
                return Error::Unauthenticated("sign in first".into()).into_response();
            }
            Some(who) if !who.role.grants(permission) => {
                return Error::Forbidden(format!(
                    "{} `{}` lacks the `{}` permission",
                    who.role.as_str(),
                    who.name,
                    permission.as_str()
                ))
                .into_response();
            }
            Some(_) => {}
        }
    }
    if let Some(identity) = identity {
        req.extensions_mut().insert(identity);
    }
    next.run(req).await
}

/// Refuses a request a page of another site made the browser send.
fn same_site(headers: &HeaderMap) -> Result<(), Error> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let refuse = |why: String| {
        Err(Error::Forbidden(format!(
            "cross-site request refused: {why}"
        )))
    };
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return refuse(format!("Sec-Fetch-Site is `{site}`"));
    }
    if let Some(origin) = header(header::ORIGIN.as_str()) {
        let host = header(header::HOST.as_str()).unwrap_or_default();
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        if authority.is_empty() || !authority.eq_ignore_ascii_case(host) {
            return refuse(format!(
                "Origin `{origin}` is not this collector (`{host}`)"
            ));
        }
    }
    Ok(())
}

/// Refuses a body of another type than its route takes.
fn content_type(headers: &HeaderMap, body: Body) -> Result<(), Error> {
    let Some(want) = body.content_type() else {
        return Ok(());
    };
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = given.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case(want) {
        Ok(())
    } else if given.is_empty() {
        Err(Error::UnsupportedMediaType(format!(
            "send the body as `{want}` (Content-Type is missing)"
        )))
    } else {
        Err(Error::UnsupportedMediaType(format!(
            "send the body as `{want}`, not `{given}`"
        )))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Identity, Error> {
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| Error::Unauthenticated("sign in first".into()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Actor, Error> {
        let mut actor = Identity::from_request_parts(parts, state).await?.actor();
        actor.ip = client_ip(parts);
        Ok(actor)
    }
}

/// The address the request came from (the proxy's, behind one).
pub(super) fn client_ip(parts: &Parts) -> Option<String> {
    ip_in(&parts.extensions)
}

fn ip_in(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_collectors_pages_and_non_browsers_may_change_things() {
        let host = ("host", "lightbulb.internal:8080");
        assert!(same_site(&headers(&[host])).is_ok(), "curl, scripts");
        assert!(
            same_site(&headers(&[
                host,
                ("origin", "https://lightbulb.internal:8080")
            ]))
            .is_ok()
        );
        assert!(same_site(&headers(&[host, ("sec-fetch-site", "same-origin")])).is_ok());
        for bad in [
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "null")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
        ] {
            let e = same_site(&headers(&bad)).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::Forbidden, "{bad:?}");
        }
    }

    #[test]
    fn a_body_must_have_its_routes_type() {
        let json = |t: &str| content_type(&headers(&[("content-type", t)]), Body::Json);
        assert!(json("application/json").is_ok());
        assert!(json("Application/JSON; charset=utf-8").is_ok());
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert_eq!(
                json(bad).unwrap_err().code(),
                crate::ErrorCode::UnsupportedMediaType
            );
        }
        assert!(content_type(&HeaderMap::new(), Body::Json).is_err());
        assert!(content_type(&HeaderMap::new(), Body::None).is_ok());
        assert!(content_type(&headers(&[("content-type", "text/csv")]), Body::Csv).is_ok());
    }
}
