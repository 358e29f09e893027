//! The OpenAPI document (`/api/openapi.json`), generated from the handlers'
//! annotations and the response types, and a plain page that renders it
//! (`/api/docs`).

mod exact;

use exact::Exact;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "lightbulb collector API", description = "Service health: status, history, live stream, agents, and the admin catalog."),
    paths(
        super::healthz,
        super::readyz,
        super::metrics,
        super::all_status,
        super::one_status,
        super::history::history,
        super::history::service_metrics,
        super::anomalies::anomalies,
        super::anomalies::found,
        super::search::search,
        super::patterns::patterns,
        super::insights::insights,
        super::insights::analyse,
        super::reports::sla_report,
        super::capacity::capacity,
        super::views::list_views,
        super::views::get_view,
        super::views::create_view,
        super::views::update_view,
        super::views::delete_view,
        super::push::push_key,
        super::push::list_subscriptions,
        super::push::subscribe,
        super::push::unsubscribe,
        super::push::test_push,
        super::agents,
        super::auth::me,
        super::auth::login,
        super::auth::logout,
        super::auth::oidc_login,
        super::auth::oidc_callback,
        super::auth::list_tokens,
        super::auth::create_token,
        super::auth::revoke_token,
        super::audit::list,
        super::audit::csv,
        super::audit::revert,
        super::graph::graph,
        super::alerts::list_rules,
        super::alerts::create_rule,
        super::alerts::put_rule,
        super::alerts::delete_rule,
        super::alerts::list_channels,
        super::alerts::create_channel,
        super::alerts::put_channel,
        super::alerts::delete_channel,
        super::alerts::test_channel,
        super::alerts::handling::list_alerts,
        super::alerts::handling::list_notifications,
        super::alerts::handling::attempts,
        super::alerts::handling::acknowledge,
        super::alerts::handling::unacknowledge,
        super::alerts::handling::resolve,
        super::alerts::handling::acknowledge_by_link,
        super::alerts::silences::list,
        super::alerts::silences::create,
        super::alerts::silences::delete,
        super::sse::stream,
        super::websocket::websocket,
        super::admin::list,
        super::admin::show,
        super::admin::create,
        super::admin::update,
        super::admin::delete,
        super::admin::bulk::bulk,
        super::admin::relations::list,
        super::admin::relations::create,
        super::admin::relations::validate,
        super::admin::relations::show,
        super::admin::relations::update,
        super::admin::relations::delete,
        super::admin::transfer::import_json,
        super::admin::transfer::import_services_csv,
        super::admin::transfer::import_relations_csv,
        super::admin::transfer::export_json,
        super::admin::transfer::export_services_csv,
        super::admin::transfer::export_relations_csv,
        super::admin::transfer::catalog_file,
        openapi_json,
        docs,
    ),
    components(schemas(super::history::Buckets, crate::error::ErrorBody)),
    modifiers(&Standard, &Exact),
    tags(
        (name = "status", description = "Current status, the live stream and the service map"),
        (name = "history", description = "Raw results, buckets and range summaries"),
        (name = "insights", description = "Failure patterns, unusual hours and AI analyses"),
        (name = "agents"),
        (name = "auth", description = "Sign-in, the caller's identity, API tokens"),
        (name = "audit", description = "Who changed what; undo a catalog change"),
        (name = "alerts", description = "Alert rules, channels, alerts and their notifications"),
        (name = "views", description = "Each user's saved views of the dashboard"),
        (name = "push", description = "Web Push subscriptions of each user's browsers"),
        (name = "admin", description = "Services and relations; every change is audited"),
        (name = "health"),
    )
)]
pub struct ApiDoc;

/// The answers a route gives besides its own, added to every operation
/// that can give them: 400 for a path, query string or body that does not
/// parse, 415 for a body of another type, 422 for a body field of the
/// wrong type, and behind the access guard 401
/// (not signed in) and 403 (not allowed), and on the whole API 429 (over
/// a rate limit).
struct Standard;

impl Modify for Standard {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/")
                && !matches!(path.as_str(), "/api/openapi.json" | "/api/docs");
            let guarded = api && !path.starts_with("/api/auth/");
            for op in operations(item) {
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error_response(description));
                };
                if has_params || has_body {
                    add("400", "Bad input; the error names the field");
                }
                if has_body {
                    add("415", "The body is not of the type the route takes");
                    add(
                        "422",
                        "A field of the wrong type or breaking a rule; the error names it",
                    );
                }
                if guarded {
                    add("401", "Not signed in");
                    add("403", "Signed in without the permission this needs");
                }
                if api {
                    add("429", "Over a rate limit; `Retry-After` says when to retry");
                }
            }
        }
    }
}

/// The operations of a path that the API has (it uses no other methods).
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .into()
}

/// The document, serialized once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "health", responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

#[utoipa::path(get, path = "/api/docs", tag = "health", responses((status = 200, description = "A page listing every endpoint from the OpenAPI document", content_type = "text/html")))]
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

/// `sha256-…` of the docs page's inline script, for the content security
/// policy (the page is one file; the hash follows any edit of it).
pub fn docs_script_hash() -> String {
    let page = include_str!("docs.html");
    let script = page
        .split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map_or("", |(s, _)| s);
    let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    use base64::Engine as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!("sha256-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_script_hash_is_a_csp_sha256_source() {
        let hash = docs_script_hash();
        assert!(hash.starts_with("sha256-") && hash.len() == 51, "{hash}");
    }
}
