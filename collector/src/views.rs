//! Saved views: a named dashboard (filters, the services or labels chosen,
//! which panels: the status list, a map focus, charts of chosen services
//! over a range), kept in the store for the user who saved it (everyone
//! shares `anonymous` while sign-in is off). A view is shared by its link;
//! one of a user's views may be their start page.

use serde::{Deserialize, Serialize};

use crate::{BoxFuture, Error, Result};

/// Ranges a view's charts may cover.
pub const RANGES: [&str; 5] = ["1h", "24h", "7d", "30d", "90d"];
/// Most services charted in one view.
pub const MAX_CHARTS: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedView {
    pub view_id: String,
    pub name: String,
    /// Who saved it: the signed-in identity, a token's name, or `anonymous`.
    pub owner: String,
    pub definition: ViewDefinition,
    /// The owner's start page (at most one view per owner).
    pub start: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewDefinition {
    /// Text the service list is filtered by.
    #[serde(default)]
    pub search: String,
    /// Status code (0–5) the list is filtered to.
    #[serde(default, deserialize_with = "whole")]
    pub status: Option<u8>,
    #[serde(default)]
    pub service_type: String,
    /// A `key=value` label the list is filtered to.
    #[serde(default)]
    pub label: String,
    /// Only these services (none: every service).
    #[serde(default)]
    pub services: Vec<String>,
    /// Show the status list (default true).
    #[serde(default = "yes")]
    pub list: bool,
    /// A service the map is focused on.
    #[serde(default)]
    pub map_focus: Option<String>,
    /// Services whose charts the view shows.
    #[serde(default)]
    pub charts: Vec<String>,
    /// The charts' range: 1h, 24h (default), 7d, 30d or 90d.
    #[serde(default = "day")]
    pub range: String,
}

fn yes() -> bool {
    true
}

/// What a view without a definition shows: what an empty one does.
impl Default for ViewDefinition {
    fn default() -> ViewDefinition {
        serde_json::from_value(serde_json::json!({})).expect("every field has a default")
    }
}

/// A small whole number, also when JSON writes it `3.0`.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u8>, D::Error> {
    let n: Option<f64> = Deserialize::deserialize(d)?;
    n.map(|n| {
        if n.fract() == 0.0 && (0.0..=255.0).contains(&n) {
            Ok(n as u8)
        } else {
            Err(serde::de::Error::custom(format!(
                "`{n}` is not a whole number from 0 to 255"
            )))
        }
    })
    .transpose()
}

fn day() -> String {
    "24h".into()
}

impl ViewDefinition {
    /// Checks every field; errors name it (`definition.charts`).
    pub fn validate(&self) -> Result<()> {
        let bad =
            |field: &str, why: String| Err(Error::invalid(&format!("definition.{field}"), why));
        if self.status.is_some_and(|s| s > 5) {
            return bad("status", "must be a status code from 0 to 5".into());
        }
        if !self.label.is_empty() && !self.label.contains('=') {
            return bad("label", format!("`{}` is not key=value", self.label));
        }
        if !RANGES.contains(&self.range.as_str()) {
            return bad(
                "range",
                format!("`{}` is not one of {}", self.range, RANGES.join(", ")),
            );
        }
        if self.charts.len() > MAX_CHARTS {
            return bad("charts", format!("at most {MAX_CHARTS} services"));
        }
        let ids = self
            .services
            .iter()
            .map(|s| ("services", s))
            .chain(self.charts.iter().map(|s| ("charts", s)))
            .chain(self.map_focus.iter().map(|s| ("map_focus", s)));
        for (field, id) in ids {
            if let Err(e) = lightbulb_common::status::validate_service_id(id) {
                return bad(field, format!("`{id}`: {e}"));
            }
        }
        Ok(())
    }
}

/// Where views are kept.
pub trait ViewStore: Send + Sync + 'static {
    /// Every view, of every owner.
    fn views(&self) -> BoxFuture<'_, Result<Vec<SavedView>>>;
    /// Stores a new or changed view.
    fn put_view(&self, view: SavedView) -> BoxFuture<'static, Result<()>>;
    fn delete_view(&self, view_id: String) -> BoxFuture<'static, Result<()>>;
}

/// `view_id` for a new view named `name`: its words, and a random tail.
pub fn new_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(5)
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() { "view".into() } else { slug };
    format!(
        "{}-{:06x}",
        &slug[..slug.len().min(40)],
        fastrand::u32(..0x100_0000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_checked_field_by_field() {
        let ok: ViewDefinition =
            serde_json::from_value(serde_json::json!({"charts": ["web"]})).unwrap();
        assert!(ok.validate().is_ok());
        assert_eq!((ok.range.as_str(), ok.list), ("24h", true));
        let field = |v: serde_json::Value| {
            serde_json::from_value::<ViewDefinition>(v)
                .unwrap()
                .validate()
                .unwrap_err()
                .field()
                .map(str::to_string)
        };
        assert_eq!(
            field(serde_json::json!({"range": "2w"})).as_deref(),
            Some("definition.range")
        );
        assert_eq!(
            field(serde_json::json!({"status": 9})).as_deref(),
            Some("definition.status")
        );
        assert_eq!(
            field(serde_json::json!({"charts": ["bad id!"]})).as_deref(),
            Some("definition.charts")
        );
        assert_eq!(
            field(serde_json::json!({"label": "zone"})).as_deref(),
            Some("definition.label")
        );
        assert!(
            serde_json::from_value::<ViewDefinition>(serde_json::json!({"panels": 1})).is_err()
        );
    }

    #[test]
    fn ids_come_from_the_name() {
        let id = new_id("On-call: Payments & DB");
        assert!(id.starts_with("on-call-payments-db-"), "{id}");
        assert!(new_id("!!!").starts_with("view-"));
    }
}
