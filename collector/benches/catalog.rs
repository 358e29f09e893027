//! Relation checks on a large catalog: 1,000 services and 3,000 dependency
//! relations (a random DAG); times the check `POST /api/admin/relations/validate`
//! runs (exists, unique, cycle) for an edge that would close a cycle and for
//! one that would not, and a whole `Registry::commit` storing a relation.
//!
//! `cargo bench -p lightbulb-collector --bench catalog`

use std::sync::Arc;
use std::time::{Duration, Instant};

use lightbulb_collector::catalog::model::{
    CatalogChange, Relation, RelationType, Service, ServiceType,
};
use lightbulb_collector::catalog::{Actor, Registry, checked, validate};
use lightbulb_collector::store::sqlite::SqliteStore;
use lightbulb_collector::store::{Retention, Store};

const SERVICES: usize = 1000;
const RELATIONS: usize = 3000;
const RUNS: usize = 200;

fn service(i: usize) -> Service {
    let mut s = Service::new(&format!("svc-{i}"), ServiceType::ApiEndpoint, 0);
    s.label = format!("Service {i}");
    s.status_config = serde_json::json!({"url": format!("http://svc-{i}.internal/health")});
    s
}

fn relation(id: usize, source: usize, target: usize) -> Relation {
    Relation::new(
        &format!("rel-{id}"),
        (&format!("svc-{source}"), &format!("svc-{target}")),
        RelationType::Dependency,
        0,
    )
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "catalog {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} runs)",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        raw_ms: 90 * 86_400_000,
        rollups_ms: 365 * 86_400_000,
    };
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("bench.db"), retention).unwrap());
    fastrand::seed(7);
    let mut changes: Vec<CatalogChange> = (0..SERVICES)
        .map(|i| CatalogChange::PutService(service(i)))
        .collect();
    // Edges always point from a lower to a higher number: a DAG.
    let mut edges = std::collections::HashSet::new();
    while edges.len() < RELATIONS {
        let (a, b) = (fastrand::usize(..SERVICES), fastrand::usize(..SERVICES));
        if a < b {
            edges.insert((a, b));
        }
    }
    for (n, (a, b)) in edges.iter().enumerate() {
        changes.push(CatalogChange::PutRelation(relation(n, *a, *b)));
    }
    let entry = lightbulb_collector::audit::AuditEntry {
        at_ms: 0,
        actor: "bench".into(),
        ip: None,
        action: "load".into(),
        changes: Vec::new(),
    };
    store.change_catalog(changes, entry).await.unwrap();
    let registry = Registry::load(store).await.unwrap();

    let check = |r: &Relation| {
        registry.read(|catalog| {
            validate::relation(r, catalog)?;
            checked(catalog, &[CatalogChange::PutRelation(r.clone())]).map(|_| ())
        })
    };
    // The longest path's ends: from its last service back to its first closes a cycle.
    let closing = relation(RELATIONS + 1, SERVICES - 1, 0);
    let refusal = check(&closing).expect_err("svc-0 reaches svc-999 in this graph");
    println!(
        "catalog: {} services, {RELATIONS} relations; refusal: {} hops",
        SERVICES,
        refusal.to_string().matches('→').count()
    );
    let open = relation(RELATIONS + 2, 0, SERVICES - 1);
    check(&open).expect("an edge along the order closes no cycle");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = check(&closing);
        times.push(start.elapsed());
        std::hint::black_box(out.err());
    }
    report("validate, edge closing a cycle", times);
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let _ = std::hint::black_box(check(&open));
        times.push(start.elapsed());
    }
    report("validate, edge closing none", times);
    let mut times = Vec::new();
    for n in 0..50 {
        let r = relation(RELATIONS + 10 + n, n, SERVICES - 1 - n);
        let start = Instant::now();
        registry
            .commit(&Actor::anonymous(), "bench", |_| {
                Ok((vec![CatalogChange::PutRelation(r.clone())], ()))
            })
            .await
            .unwrap();
        times.push(start.elapsed());
    }
    report("store a relation (Registry::change, SQLite)", times);
}
