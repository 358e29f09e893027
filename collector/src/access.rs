//! Who may do what: roles, token scopes, the permissions they grant, and
//! the one table saying what every HTTP route needs. `auth::guard` enforces
//! it for every request; `tests/access.rs` calls every route as every kind
//! of caller against it, and fails for a route the table does not list.

use serde::{Deserialize, Serialize};

/// What a signed-in user may do (mapped from a provider claim in config).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads statuses, history, the map and agents; no admin pages.
    Viewer,
    /// Also reads and changes the catalog (services and relations).
    Editor,
    /// Everything: also API tokens and the audit log.
    Admin,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// What a viewer may.
    Read,
    /// What an editor may.
    Write,
    /// What an admin may.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Read, Scope::Write, Scope::Admin]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    pub fn role(self) -> Role {
        match self {
            Scope::Read => Role::Viewer,
            Scope::Write => Role::Editor,
            Scope::Admin => Role::Admin,
        }
    }
}

/// A permission a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Statuses, history, metrics, the map, agents, the API document.
    Read,
    /// The catalog as administrators see it (lists, exports, the file's state).
    CatalogRead,
    /// Creating, changing and deleting services and relations, and
    /// reverting such a change.
    CatalogWrite,
    /// API tokens and reading the audit log.
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 4] = [
        Permission::Read,
        Permission::CatalogRead,
        Permission::CatalogWrite,
        Permission::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::CatalogRead => "catalog_read",
            Permission::CatalogWrite => "catalog_write",
            Permission::Admin => "admin",
        }
    }
}

impl Role {
    pub fn grants(self, p: Permission) -> bool {
        match p {
            Permission::Read => true,
            Permission::CatalogRead | Permission::CatalogWrite => self >= Role::Editor,
            Permission::Admin => self == Role::Admin,
        }
    }

    /// Every permission the role grants, in order.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.grants(*p))
            .collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// What a request body must be, for routes that change state: a browser's
/// cross-site "simple" request can only send form encodings or text/plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    Json,
    Csv,
}

impl Body {
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Body::None => None,
            Body::Json => Some("application/json"),
            Body::Csv => Some("text/csv"),
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, sign-in, the dashboard's files).
    Open,
    /// A caller with this permission.
    Needs(Permission),
}

/// One route: method, path as routed, access, and (for changes) its body.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub body: Body,
}

const fn open(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        access: Access::Open,
        body: Body::None,
    }
}

const fn read(path: &'static str, p: Permission) -> Route {
    Route {
        method: "GET",
        path,
        access: Access::Needs(p),
        body: Body::None,
    }
}

const fn change(method: &'static str, path: &'static str, p: Permission, body: Body) -> Route {
    Route {
        method,
        path,
        access: Access::Needs(p),
        body,
    }
}

use Permission::{Admin, CatalogRead, CatalogWrite, Read};

/// Every route of the HTTP API.
pub const ROUTES: &[Route] = &[
    open("GET", "/"),
    open("GET", "/healthz"),
    open("GET", "/readyz"),
    open("GET", "/metrics"),
    open("GET", "/api/auth/me"),
    Route {
        body: Body::Json,
        ..open("POST", "/api/auth/login")
    },
    open("POST", "/api/auth/logout"),
    open("GET", "/api/auth/oidc/login"),
    open("GET", "/api/auth/oidc/callback"),
    read("/api/openapi.json", Read),
    read("/api/docs", Read),
    read("/api/status", Read),
    read("/api/status/stream", Read),
    read("/api/status/websocket", Read),
    read("/api/status/{service_id}", Read),
    read("/api/services/{service_id}/history", Read),
    read("/api/services/{service_id}/metrics", Read),
    read("/api/services/{service_id}/anomalies", Read),
    read("/api/anomalies", Read),
    read("/api/agents", Read),
    read("/api/graph", Read),
    read("/api/search", Read),
    read("/api/patterns", Read),
    read("/api/insights/{service_id}", Read),
    read("/api/reports/sla", Read),
    read("/api/capacity", Read),
    // Asking a model spends the token budget: catalog editors may.
    change(
        "POST",
        "/api/insights/{service_id}",
        CatalogWrite,
        Body::None,
    ),
    // A user's own views: anyone who may read statuses keeps some.
    read("/api/views", Read),
    change("POST", "/api/views", Read, Body::Json),
    read("/api/views/{view_id}", Read),
    change("PUT", "/api/views/{view_id}", Read, Body::Json),
    change("DELETE", "/api/views/{view_id}", Read, Body::None),
    // A user's own browsers' push subscriptions, likewise.
    read("/api/push/key", Read),
    read("/api/push/subscriptions", Read),
    change("PUT", "/api/push/subscriptions", Read, Body::Json),
    change(
        "DELETE",
        "/api/push/subscriptions/{subscription_id}",
        Read,
        Body::None,
    ),
    change(
        "POST",
        "/api/push/subscriptions/{subscription_id}/test",
        Read,
        Body::None,
    ),
    read("/api/admin/services", CatalogRead),
    read("/api/admin/services/{service_id}", CatalogRead),
    read("/api/admin/relations", CatalogRead),
    read("/api/admin/relations/{relation_id}", CatalogRead),
    read("/api/admin/export", CatalogRead),
    read("/api/admin/export/services.csv", CatalogRead),
    read("/api/admin/export/relations.csv", CatalogRead),
    read("/api/admin/catalog-file", CatalogRead),
    change("POST", "/api/admin/services", CatalogWrite, Body::Json),
    change(
        "PUT",
        "/api/admin/services/{service_id}",
        CatalogWrite,
        Body::Json,
    ),
    change(
        "DELETE",
        "/api/admin/services/{service_id}",
        CatalogWrite,
        Body::None,
    ),
    change("POST", "/api/admin/services/bulk", CatalogWrite, Body::Json),
    change("POST", "/api/admin/relations", CatalogWrite, Body::Json),
    change(
        "POST",
        "/api/admin/relations/validate",
        CatalogWrite,
        Body::Json,
    ),
    change(
        "PUT",
        "/api/admin/relations/{relation_id}",
        CatalogWrite,
        Body::Json,
    ),
    change(
        "DELETE",
        "/api/admin/relations/{relation_id}",
        CatalogWrite,
        Body::None,
    ),
    change("POST", "/api/admin/import", CatalogWrite, Body::Json),
    change(
        "POST",
        "/api/admin/import/services.csv",
        CatalogWrite,
        Body::Csv,
    ),
    change(
        "POST",
        "/api/admin/import/relations.csv",
        CatalogWrite,
        Body::Csv,
    ),
    read("/api/tokens", Admin),
    change("POST", "/api/tokens", Admin, Body::Json),
    change("DELETE", "/api/tokens/{token_id}", Admin, Body::None),
    read("/api/alerts", Read),
    read("/api/alerts/rules", Read),
    change("POST", "/api/alerts/rules", CatalogWrite, Body::Json),
    change(
        "PUT",
        "/api/alerts/rules/{rule_id}",
        CatalogWrite,
        Body::Json,
    ),
    change(
        "DELETE",
        "/api/alerts/rules/{rule_id}",
        CatalogWrite,
        Body::None,
    ),
    read("/api/alerts/channels", CatalogRead),
    change("POST", "/api/alerts/channels", Admin, Body::Json),
    change(
        "PUT",
        "/api/alerts/channels/{channel_id}",
        Admin,
        Body::Json,
    ),
    change(
        "DELETE",
        "/api/alerts/channels/{channel_id}",
        Admin,
        Body::None,
    ),
    change(
        "POST",
        "/api/alerts/channels/{channel_id}/test",
        Admin,
        Body::None,
    ),
    read("/api/alerts/notifications", CatalogRead),
    change(
        "POST",
        "/api/alerts/{alert_id}/acknowledge",
        CatalogWrite,
        Body::None,
    ),
    change(
        "POST",
        "/api/alerts/{alert_id}/unacknowledge",
        CatalogWrite,
        Body::None,
    ),
    change(
        "POST",
        "/api/alerts/{alert_id}/resolve",
        CatalogWrite,
        Body::None,
    ),
    read("/api/alerts/silences", Read),
    change("POST", "/api/alerts/silences", CatalogWrite, Body::Json),
    change(
        "DELETE",
        "/api/alerts/silences/{silence_id}",
        CatalogWrite,
        Body::None,
    ),
    // The signature in the body is the authority (a link in a notification).
    Route {
        body: Body::Json,
        ..open("POST", "/api/alerts/{alert_id}/acknowledge-link")
    },
    read(
        "/api/alerts/notifications/{notification_id}/attempts",
        CatalogRead,
    ),
    read("/api/audit", Admin),
    read("/api/audit.csv", Admin),
    change(
        "POST",
        "/api/audit/{audit_id}/revert",
        CatalogWrite,
        Body::None,
    ),
];

/// The entry for a routed request (`path` as routed, e.g. `/api/status/{service_id}`).
pub fn route(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests;
