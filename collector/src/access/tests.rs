use super::*;

#[test]
fn roles_grant_more_as_they_rise() {
    assert_eq!(Role::Viewer.permissions(), [Read]);
    assert_eq!(
        Role::Editor.permissions(),
        [Read, CatalogRead, CatalogWrite]
    );
    assert_eq!(Role::Admin.permissions(), Permission::ALL);
    assert_eq!(Scope::Write.role(), Role::Editor);
}

#[test]
fn every_route_is_listed_once() {
    let mut seen = std::collections::HashSet::new();
    for r in ROUTES {
        assert!(
            seen.insert((r.method, r.path)),
            "{} {} twice",
            r.method,
            r.path
        );
        // A read takes no body; a change without one says so by its path.
        let bodiless = r.method == "DELETE"
            || r.path == "/api/auth/logout"
            || r.path.ends_with("/revert")
            || r.path.ends_with("/test")
            || r.path.ends_with("/acknowledge")
            || r.path.ends_with("/unacknowledge")
            || r.path.ends_with("/resolve")
            || r.path.starts_with("/api/insights/");
        assert_eq!(
            r.method != "GET" && !bodiless,
            r.body != Body::None,
            "{} {}",
            r.method,
            r.path
        );
    }
    assert_eq!(
        route("GET", "/api/status").unwrap().access,
        Access::Needs(Read)
    );
    assert!(route("PATCH", "/api/status").is_none());
}
