//! Tests for the layer checker on small synthetic graphs.

use serde_json::json;

use super::{Deps, Graph, LAYERS, Layer, check};

/// A graph from `(crate, [normal deps])`; names starting with `auth-` or
/// equal to `xtask` are workspace members. Ids are the names.
fn graph(edges: &[(&str, &[&str])]) -> Graph {
    let mut graph = Graph::default();
    for (from, deps) in edges {
        for name in std::iter::once(from).chain(deps.iter()) {
            graph.names.insert(name.to_string(), name.to_string());
            if name.starts_with("auth-") || *name == "xtask" {
                graph.members.insert(name.to_string());
            }
        }
        graph
            .edges
            .entry(from.to_string())
            .or_default()
            .extend(deps.iter().map(|d| d.to_string()));
    }
    graph
}

#[test]
fn a_clean_graph_passes() {
    let graph = graph(&[
        ("auth-domain", &["thiserror", "time"]),
        ("auth-ports", &["auth-domain", "async-trait"]),
        ("auth-core", &["auth-domain", "auth-ports", "tracing"]),
        ("auth-http-poem", &["auth-domain", "auth-core", "poem"]),
        ("poem", &["tokio", "serde"]),
        (
            "auth-app",
            &["auth-http-poem", "auth-core", "auth-ports", "auth-domain"],
        ),
        ("xtask", &["serde_json"]),
    ]);
    assert_eq!(check(LAYERS, &graph), Vec::<String>::new());
}

#[test]
fn a_workspace_dependency_outside_the_whitelist_is_reported() {
    let graph = graph(&[
        ("auth-domain", &[]),
        ("auth-ports", &["auth-domain"]),
        ("auth-core", &["auth-domain", "auth-ports"]),
        (
            "auth-http-poem",
            &["auth-domain", "auth-core", "auth-ports"],
        ),
    ]);
    let violations = check(LAYERS, &graph);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("`auth-http-poem` depends on workspace crate `auth-ports`"));
}

#[test]
fn a_transitive_ban_is_reported_with_its_path() {
    let graph = graph(&[
        ("auth-domain", &["time"]),
        ("time", &["serde"]),
        ("serde", &["serde_derive"]),
    ]);
    let violations = check(LAYERS, &graph);
    assert_eq!(
        violations,
        vec![
            "`auth-domain` reaches banned crate `serde`: auth-domain -> time -> serde".to_string()
        ]
    );
}

#[test]
fn a_ban_reached_through_another_workspace_crate_is_reported() {
    let graph = graph(&[
        (
            "auth-store-seaorm",
            &["auth-domain", "auth-ports", "auth-migrations"],
        ),
        ("auth-migrations", &["sea-orm-migration"]),
        ("sea-orm-migration", &["sea-orm"]),
        ("auth-http-poem", &["auth-domain", "auth-core"]),
        ("auth-core", &["auth-domain", "auth-ports", "argon2"]),
    ]);
    let violations = check(LAYERS, &graph);
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("`auth-core` reaches banned crate `argon2`"))
    );
    assert!(violations.iter().any(|v| v
        == "`auth-http-poem` reaches banned crate `argon2`: auth-http-poem -> auth-core -> argon2"));
}

#[test]
fn a_crate_missing_from_the_table_is_reported() {
    let graph = graph(&[("auth-unknown", &["auth-domain"])]);
    let violations = check(LAYERS, &graph);
    assert_eq!(
        violations,
        vec!["workspace crate `auth-unknown` has no row in the layer table".to_string()]
    );
}

#[test]
fn xtask_must_not_depend_on_workspace_crates() {
    let graph = graph(&[("xtask", &["auth-domain"])]);
    let violations = check(LAYERS, &graph);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].starts_with("`xtask` depends on workspace crate `auth-domain`"));
}

#[test]
fn a_custom_table_can_allow_anything() {
    let layers = [Layer {
        krate: "auth-a",
        deps: Deps::Any,
        banned: &[],
    }];
    let graph = graph(&[("auth-a", &["auth-b"]), ("auth-b", &[])]);
    let violations = check(&layers, &graph);
    assert_eq!(
        violations,
        vec!["workspace crate `auth-b` has no row in the layer table".to_string()]
    );
}

#[test]
fn metadata_keeps_normal_edges_only() {
    let metadata = json!({
        "packages": [
            { "id": "d 0.0.0", "name": "auth-domain" },
            { "id": "s 1.0.0", "name": "serde" },
            { "id": "p 1.0.0", "name": "proptest" },
            { "id": "c 1.0.0", "name": "cc" },
        ],
        "workspace_members": ["d 0.0.0"],
        "resolve": { "nodes": [
            { "id": "d 0.0.0", "deps": [
                { "name": "proptest", "pkg": "p 1.0.0", "dep_kinds": [{ "kind": "dev", "target": null }] },
                { "name": "cc", "pkg": "c 1.0.0", "dep_kinds": [{ "kind": "build", "target": null }] },
                { "name": "serde", "pkg": "s 1.0.0", "dep_kinds": [
                    { "kind": "dev", "target": null },
                    { "kind": null, "target": "cfg(unix)" }
                ] },
            ] },
            { "id": "p 1.0.0", "deps": [] },
            { "id": "s 1.0.0", "deps": [] },
            { "id": "c 1.0.0", "deps": [] },
        ] },
    });
    let graph = match Graph::from_metadata(&metadata) {
        Ok(graph) => graph,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(graph.edges["d 0.0.0"], vec!["s 1.0.0".to_string()]);
    assert_eq!(
        check(LAYERS, &graph),
        vec!["`auth-domain` reaches banned crate `serde`: auth-domain -> serde".to_string()]
    );
}
