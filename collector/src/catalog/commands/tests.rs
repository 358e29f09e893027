//! One test per rule a command keeps, at the catalog level (the HTTP tests
//! check the same rules through the API), over a real SQLite store.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::ErrorCode;
use crate::catalog::import::Document;
use crate::catalog::model::{CatalogStore, RelationType, ServiceType};
use crate::store::Retention;
use crate::store::sqlite::SqliteStore;

async fn registry() -> (Registry, Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        raw_ms: 86_400_000,
        rollups_ms: 86_400_000,
    };
    let store = Arc::new(SqliteStore::open(&dir.path().join("lb.db"), retention).unwrap());
    (Registry::load(store.clone()).await.unwrap(), store, dir)
}

fn api() -> Actor {
    Actor::anonymous()
}

fn service(kind: ServiceType) -> ServicePatch {
    ServicePatch {
        label: Some("A service".into()),
        service_type: Some(kind),
        status_config: Some(json!({"url": "http://svc.internal/health"})),
        ..ServicePatch::default()
    }
}

fn link(from: &str, to: &str, kind: RelationType) -> RelationPatch {
    RelationPatch {
        source_service_id: Some(from.into()),
        target_service_id: Some(to.into()),
        relation_type: Some(kind),
        enabled: None,
    }
}

async fn with_services(ids: &[&str]) -> (Registry, Arc<SqliteStore>, tempfile::TempDir) {
    let (r, store, dir) = registry().await;
    for id in ids {
        r.create_service(&api(), id, service(ServiceType::ApiEndpoint))
            .await
            .unwrap();
    }
    (r, store, dir)
}

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.expect_err("refused").code()
}

#[tokio::test]
async fn a_service_is_created_once_stored_and_announced() {
    let (r, store, _dir) = registry().await;
    let changed = r.changed.notified();
    let s = r
        .create_service(&api(), "web", service(ServiceType::ApiEndpoint))
        .await
        .unwrap();
    assert_eq!((s.service_id.as_str(), s.enabled), ("web", true));
    changed.await;
    assert_eq!(r.version(), 1);
    assert_eq!(store.catalog().await.unwrap(), r.read(Clone::clone));
    let again = r
        .create_service(&api(), "web", service(ServiceType::Database))
        .await;
    assert_eq!(code(again), ErrorCode::Conflict);
    assert_eq!(r.version(), 1, "a refused command changes nothing");
}

#[tokio::test]
async fn a_broken_rule_is_refused_before_anything_is_stored() {
    let (r, store, _dir) = registry().await;
    let mut bad = service(ServiceType::ApiEndpoint);
    bad.status_config = Some(json!({"url": "nope"}));
    let e = r.create_service(&api(), "web", bad).await.unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        (ErrorCode::Invalid, Some("status_config.url"))
    );
    assert!(store.catalog().await.unwrap().services.is_empty());
}

#[tokio::test]
async fn what_is_not_there_is_not_found() {
    let (r, _store, _dir) = registry().await;
    let none = ServicePatch::default();
    assert_eq!(
        code(r.update_service(&api(), "ghost", none).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(r.delete_service(&api(), "ghost", true).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(r.delete_relation(&api(), "rel-1").await),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn what_a_file_owns_is_refused_with_409_by_every_command() {
    let (r, _store, _dir) = registry().await;
    let serde_json::Value::Object(item) = json!({
        "service_id": "web", "label": "Web", "service_type": "api_endpoint",
        "status_config": {"url": "http://web.internal/health"},
    }) else {
        unreachable!("an object")
    };
    let doc = Document {
        services: vec![item],
        relations: Vec::new(),
    };
    let file = Actor::named("file:/etc/lightbulb/services.toml");
    let plan = r
        .import(&file, "apply", doc, Some(&file.name), false)
        .await
        .unwrap();
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    let patch = || ServicePatch {
        enabled: Some(false),
        ..ServicePatch::default()
    };
    assert_eq!(
        code(r.update_service(&api(), "web", patch()).await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(r.delete_service(&api(), "web", true).await),
        ErrorCode::Conflict
    );
    let bulk = r
        .bulk(&api(), BulkAction::Disable, vec!["web".into()])
        .await;
    assert_eq!(code(bulk[0].1.clone()), ErrorCode::Conflict);
    assert!(r.read(|c| c.services["web"].enabled), "nothing changed");
}

#[tokio::test]
async fn a_service_with_relations_goes_only_with_cascade() {
    let (r, _store, _dir) = with_services(&["web", "db"]).await;
    let rel = r
        .create_relation(&api(), link("web", "db", RelationType::Dependency))
        .await
        .unwrap();
    assert_eq!(
        code(r.delete_service(&api(), "db", false).await),
        ErrorCode::Conflict
    );
    let gone = r.delete_service(&api(), "db", true).await.unwrap();
    assert_eq!(gone.relations, vec![rel.relation_id.clone()]);
    assert!(r.read(|c| c.relations.is_empty() && !c.services.contains_key("db")));
}

#[tokio::test]
async fn no_command_closes_a_dependency_cycle() {
    let (r, _store, _dir) = with_services(&["a", "b", "c"]).await;
    for (from, to) in [("a", "b"), ("b", "c")] {
        r.create_relation(&api(), link(from, to, RelationType::Dependency))
            .await
            .unwrap();
    }
    let back = link("c", "a", RelationType::Dependency);
    let e = r.check_relation(back).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert!(e.to_string().contains("c → a → b → c"), "{e}");
    let mut off = link("c", "a", RelationType::Dependency);
    off.enabled = Some(false);
    let parked = r.create_relation(&api(), off).await.unwrap();
    let on = RelationPatch {
        enabled: Some(true),
        ..RelationPatch::default()
    };
    assert_eq!(
        code(r.update_relation(&api(), &parked.relation_id, on).await),
        ErrorCode::Conflict,
        "re-enabling a parked dependency is checked too"
    );
    let twin = link("a", "b", RelationType::Dependency);
    assert_eq!(
        code(r.create_relation(&api(), twin).await),
        ErrorCode::Conflict
    );
}
