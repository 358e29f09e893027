//! The store suite, part five: saved views, on every store (see
//! `conformance.rs`).

mod support;

use lightbulb_collector::store::Store;
use lightbulb_collector::views::{SavedView, ViewDefinition};

conformance!(views_are_kept_changed_and_deleted_per_id);

fn view(id: &str, owner: &str, name: &str) -> SavedView {
    SavedView {
        view_id: id.into(),
        name: name.into(),
        owner: owner.into(),
        definition: ViewDefinition {
            search: "pay".into(),
            status: Some(2),
            services: vec!["payments".into(), "db".into()],
            list: true,
            map_focus: Some("payments".into()),
            charts: vec!["payments".into()],
            range: "7d".into(),
            ..Default::default()
        },
        start: false,
        created_ms: 1_000,
        updated_ms: 1_000,
    }
}

async fn views_are_kept_changed_and_deleted_per_id(store: &dyn Store) {
    let on_call = view("on-call-1", "user:alice", "On call");
    let mine = view("mine-2", "user:bob", "Mine");
    store.put_view(on_call.clone()).await.unwrap();
    store.put_view(mine.clone()).await.unwrap();
    assert_eq!(
        store.views().await.unwrap(),
        [mine.clone(), on_call.clone()],
        "read back whole, by id"
    );

    let mut changed = on_call.clone();
    changed.name = "On call (payments)".into();
    changed.start = true;
    changed.definition.charts.push("db".into());
    changed.updated_ms = 2_000;
    store.put_view(changed.clone()).await.unwrap();
    assert_eq!(
        store.views().await.unwrap(),
        [mine.clone(), changed],
        "the newer version wins"
    );

    store.delete_view("on-call-1".into()).await.unwrap();
    assert_eq!(store.views().await.unwrap(), [mine]);
    store.delete_view("mine-2".into()).await.unwrap();
    assert!(store.views().await.unwrap().is_empty());
}
