use serde_json::json;

use super::*;

fn doc(services: Value, relations: Value) -> Document {
    from_json(json!({"services": services, "relations": relations})).unwrap()
}

fn web(id: &str) -> Value {
    json!({"service_id": id, "label": id, "service_type": "api_endpoint",
           "status_config": {"url": "http://web.internal/health"}})
}

#[test]
fn an_import_reports_every_problem_and_plans_nothing_usable() {
    let d = doc(
        json!([web("a"), {"service_id": "b", "label": "B"}, web("Bad_ID")]),
        json!([{"source_service_id": "a", "target_service_id": "ghost", "relation_type": "dependency"}]),
    );
    let plan = plan(&Catalog::default(), d, None, &Targets::default(), 1);
    let items: Vec<(&str, Option<&str>)> = plan
        .problems
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_deref()))
        .collect();
    assert_eq!(
        items,
        [
            ("services[1] `b`", Some("service_type")),
            ("services[2] `Bad_ID`", Some("service_id")),
            ("relations[0]", Some("target_service_id")),
        ]
    );
    assert_eq!(plan.refusal_code(), ErrorCode::Invalid);
}

#[test]
fn a_file_owns_what_it_lists_and_deletes_what_it_no_longer_lists() {
    let file = "file:/etc/lightbulb/services.toml";
    let first = plan(
        &Catalog::default(),
        doc(json!([web("a"), web("b")]), json!([])),
        Some(file),
        &Targets::default(),
        1,
    );
    assert_eq!((first.created, first.problems.len()), (2, 0));
    let mut catalog = Catalog::default();
    catalog.apply(&first.changes);
    assert_eq!(catalog.services["a"].managed_by.as_deref(), Some(file));
    let again = plan(
        &catalog,
        doc(json!([web("a")]), json!([])),
        Some(file),
        &Targets::default(),
        2,
    );
    assert_eq!((again.created, again.updated, again.deleted), (0, 0, 1));
    assert_eq!(
        again.changes,
        vec![CatalogChange::DeleteService("b".into())]
    );
}

#[test]
fn another_owners_object_makes_the_import_a_conflict() {
    let file = "file:/etc/lightbulb/services.toml";
    let owned = plan(
        &Catalog::default(),
        doc(json!([web("a")]), json!([])),
        Some(file),
        &Targets::default(),
        1,
    );
    let mut catalog = Catalog::default();
    catalog.apply(&owned.changes);
    let by_api = plan(
        &catalog,
        doc(json!([web("a")]), json!([])),
        None,
        &Targets::default(),
        2,
    );
    assert_eq!(by_api.problems.len(), 1);
    assert_eq!(by_api.problems[0].field.as_deref(), Some("service_id"));
    assert_eq!(by_api.refusal_code(), ErrorCode::Conflict);
}
