//! The dependency graph: enabled `dependency` relations must form a DAG.

use std::collections::{HashMap, VecDeque};

use crate::catalog::model::Catalog;

/// Edges `source → targets` of enabled dependencies.
pub fn dependencies(catalog: &Catalog) -> HashMap<&str, Vec<&str>> {
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in catalog.relations.values() {
        if r.is_dependency() {
            edges
                .entry(r.source_service_id.as_str())
                .or_default()
                .push(r.target_service_id.as_str());
        }
    }
    edges
}

/// The cycle a new dependency `source → target` would close, as the list
/// of services `source, target, …, source`; `None` if it closes none.
pub fn cycle_through(
    edges: &HashMap<&str, Vec<&str>>,
    source: &str,
    target: &str,
) -> Option<Vec<String>> {
    if source == target {
        return Some(vec![source.to_string(), source.to_string()]);
    }
    // Breadth first from `target`: the shortest way back to `source`.
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([target]);
    while let Some(node) = queue.pop_front() {
        for &next in edges.get(node).map(Vec::as_slice).unwrap_or_default() {
            if next == target || parent.contains_key(next) {
                continue;
            }
            parent.insert(next, node);
            if next == source {
                let mut path = vec![source.to_string()];
                let mut at = source;
                while at != target {
                    at = parent[at];
                    path.push(at.to_string());
                }
                path.push(source.to_string());
                // Collected backwards from `source`; put it in edge order.
                path.reverse();
                return Some(path);
            }
            queue.push_back(next);
        }
    }
    None
}

/// Some cycle among the enabled dependencies, if the catalog has one
/// (depth first, linear in services and relations).
pub fn any_cycle(catalog: &Catalog) -> Option<Vec<String>> {
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let edges = dependencies(catalog);
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut starts: Vec<&str> = edges.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        if state.contains_key(start) {
            continue;
        }
        state.insert(start, ON_PATH);
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some(&(node, i)) = path.last() {
            let Some(&next) = edges.get(node).and_then(|t| t.get(i)) else {
                state.insert(node, DONE);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            match state.get(next) {
                Some(&ON_PATH) => {
                    let from = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(next.to_string());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    state.insert(next, ON_PATH);
                    path.push((next, 0));
                }
            }
        }
    }
    None
}

/// `a → b → c → a`
pub fn spell(cycle: &[String]) -> String {
    cycle.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::{Relation, RelationType};

    fn catalog(edges: &[(&str, &str)]) -> Catalog {
        let mut c = Catalog::default();
        for (i, (s, t)) in edges.iter().enumerate() {
            let id = format!("r{i}");
            c.relations.insert(
                id.clone(),
                Relation {
                    relation_id: id,
                    source_service_id: s.to_string(),
                    target_service_id: t.to_string(),
                    relation_type: RelationType::Dependency,
                    enabled: true,
                    managed_by: None,
                    created_at_ms: 0,
                    updated_at_ms: 0,
                },
            );
        }
        c
    }

    #[test]
    fn a_closing_edge_names_the_whole_cycle_in_order() {
        let c = catalog(&[("a", "b"), ("b", "c"), ("c", "d")]);
        let edges = dependencies(&c);
        let cycle = cycle_through(&edges, "c", "a").unwrap();
        assert_eq!(spell(&cycle), "c → a → b → c");
        assert_eq!(cycle_through(&edges, "a", "d"), None);
        assert_eq!(spell(&cycle_through(&edges, "x", "x").unwrap()), "x → x");
        assert_eq!(any_cycle(&c), None);
    }

    #[test]
    fn disabled_and_other_relations_do_not_count() {
        let mut c = catalog(&[("a", "b"), ("b", "a")]);
        assert!(any_cycle(&c).is_some());
        c.relations.get_mut("r1").unwrap().enabled = false;
        assert_eq!(any_cycle(&c), None);
        c.relations.get_mut("r1").unwrap().enabled = true;
        c.relations.get_mut("r1").unwrap().relation_type = RelationType::DataFlow;
        assert_eq!(any_cycle(&c), None);
    }
}
