//! `cargo xtask check-layers`: enforces the dependency rule of the hexagon
//! (STYLE S2). It reads `cargo metadata --all-features`, keeps the normal
//! dependency edges of the resolved graph (dev and build edges are ignored)
//! and checks every workspace crate against [`LAYERS`]: its direct workspace
//! dependencies must be on the crate's whitelist, and no banned external
//! crate may be reachable from it, directly or transitively.
//!
//! Depends on: `serde_json` (to read the metadata), `crate::util`.
//!
//! Must not depend on: any workspace crate.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use crate::util::{self, Result};

/// The layer table. Add a row when a crate joins the workspace: a workspace
/// crate without a row fails the check. Rows for crates that do not exist
/// yet are fine.
pub(crate) const LAYERS: &[Layer] = &[
    Layer {
        krate: "auth-domain",
        deps: Deps::Only(&[]),
        banned: &[
            "tokio",
            "async-trait",
            "futures",
            "futures-util",
            "serde",
            "tracing",
            "sea-orm",
            "redis",
            "poem",
        ],
    },
    Layer {
        krate: "auth-ports",
        deps: Deps::Only(&["auth-domain"]),
        banned: &[
            "tokio",
            "sea-orm",
            "redis",
            "poem",
            "argon2",
            "pasetors",
            "jsonwebtoken",
        ],
    },
    Layer {
        krate: "auth-core",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &[
            "sea-orm",
            "redis",
            "poem",
            "argon2",
            "pasetors",
            "jsonwebtoken",
            "tokio",
        ],
    },
    Layer {
        krate: "auth-crypto",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &["sea-orm", "redis", "poem"],
    },
    Layer {
        krate: "auth-store-seaorm",
        deps: Deps::Only(&["auth-domain", "auth-ports", "auth-migrations"]),
        banned: &["redis", "poem"],
    },
    Layer {
        krate: "auth-cache-redis",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &["sea-orm", "poem"],
    },
    Layer {
        krate: "auth-mail",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &["sea-orm", "redis", "poem"],
    },
    Layer {
        krate: "auth-ratelimit",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &["sea-orm", "poem"],
    },
    Layer {
        krate: "auth-http-poem",
        deps: Deps::Only(&["auth-domain", "auth-core"]),
        banned: HTTP_BANS,
    },
    Layer {
        krate: "auth-ws",
        deps: Deps::Only(&["auth-domain", "auth-ports", "auth-core", "auth-http-poem"]),
        banned: HTTP_BANS,
    },
    Layer {
        krate: "auth-guard",
        deps: Deps::Only(&["auth-domain"]),
        banned: &["sea-orm", "redis", "argon2"],
    },
    Layer {
        krate: "auth-example-service",
        deps: Deps::Only(&["auth-guard"]),
        banned: &["sea-orm", "redis", "argon2"],
    },
    Layer {
        krate: "auth-testkit",
        deps: Deps::Only(&["auth-domain", "auth-ports"]),
        banned: &["sea-orm", "redis", "poem"],
    },
    Layer {
        krate: "auth-migrations",
        deps: Deps::Only(&[]),
        banned: &[],
    },
    Layer {
        krate: "auth-app",
        deps: Deps::Any,
        banned: &[],
    },
    Layer {
        krate: "auth-tests",
        deps: Deps::Any,
        banned: &[],
    },
    Layer {
        krate: "xtask",
        deps: Deps::Only(&[]),
        banned: &[],
    },
];

/// The external crates the HTTP and WebSocket adapters must not reach.
const HTTP_BANS: &[&str] = &["sea-orm", "redis", "argon2", "pasetors", "jsonwebtoken"];

/// One row of the layer table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layer {
    /// The workspace crate (package name).
    pub(crate) krate: &'static str,
    /// The workspace crates it may depend on directly (normal dependencies).
    pub(crate) deps: Deps,
    /// External crates it must not reach, directly or transitively.
    pub(crate) banned: &'static [&'static str],
}

/// Which workspace crates a crate may depend on directly.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deps {
    /// Exactly these (a whitelist; empty means none).
    Only(&'static [&'static str]),
    /// Any workspace crate (the composition root and the test suite).
    Any,
}

/// The resolved package graph, reduced to normal dependency edges.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// Package id -> package name.
    pub(crate) names: BTreeMap<String, String>,
    /// Ids of the workspace members.
    pub(crate) members: BTreeSet<String>,
    /// Package id -> ids of its normal dependencies.
    pub(crate) edges: BTreeMap<String, Vec<String>>,
}

/// Runs the check on the current workspace.
pub(crate) fn run() -> Result {
    let json = util::read_stdout(&mut util::cargo([
        "metadata",
        "--format-version",
        "1",
        "--all-features",
    ]))?;
    let metadata: Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: invalid JSON: {e}"))?;
    let graph = Graph::from_metadata(&metadata)?;
    let violations = check(LAYERS, &graph);
    if violations.is_empty() {
        println!(
            "check-layers: {} workspace crates follow the layer table",
            graph.members.len()
        );
        return Ok(());
    }
    for violation in &violations {
        eprintln!("check-layers: {violation}");
    }
    Err(format!(
        "check-layers: {} violation(s); fix the dependency or update LAYERS in xtask/src/layers.rs",
        violations.len()
    ))
}

/// Every violation of `layers` in `graph`, in a stable order.
pub(crate) fn check(layers: &[Layer], graph: &Graph) -> Vec<String> {
    let mut violations = Vec::new();
    for member in &graph.members {
        let name = graph.name(member);
        let Some(layer) = layers.iter().find(|layer| layer.krate == name) else {
            violations.push(format!(
                "workspace crate `{name}` has no row in the layer table"
            ));
            continue;
        };
        if let Deps::Only(allowed) = layer.deps {
            for dep in graph.deps(member) {
                let dep_name = graph.name(dep);
                if graph.members.contains(dep) && !allowed.contains(&dep_name) {
                    violations.push(format!(
                        "`{name}` depends on workspace crate `{dep_name}`, which its layer does not allow (allowed: {})",
                        list(allowed)
                    ));
                }
            }
        }
        for path in banned_paths(graph, member, layer.banned) {
            let banned = path.last().map_or("", |id| graph.name(id));
            let chain: Vec<&str> = path.iter().map(|id| graph.name(id)).collect();
            violations.push(format!(
                "`{name}` reaches banned crate `{banned}`: {}",
                chain.join(" -> ")
            ));
        }
    }
    violations
}

impl Graph {
    /// Reads the `packages`, `workspace_members` and `resolve` sections of
    /// `cargo metadata --format-version 1`.
    pub(crate) fn from_metadata(metadata: &Value) -> Result<Self> {
        let mut graph = Self::default();
        for package in array(metadata, "packages")? {
            let id = string(package, "id")?;
            let name = string(package, "name")?;
            graph.names.insert(id.to_string(), name.to_string());
        }
        for member in array(metadata, "workspace_members")? {
            let id = member
                .as_str()
                .ok_or("cargo metadata: a workspace member id is not a string")?;
            graph.members.insert(id.to_string());
        }
        let resolve = metadata
            .get("resolve")
            .filter(|r| !r.is_null())
            .ok_or("cargo metadata: no `resolve` section")?;
        for node in array(resolve, "nodes")? {
            let id = string(node, "id")?;
            let mut deps = Vec::new();
            for dep in array(node, "deps")? {
                if is_normal(dep)? {
                    deps.push(string(dep, "pkg")?.to_string());
                }
            }
            graph.edges.insert(id.to_string(), deps);
        }
        Ok(graph)
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    fn deps(&self, id: &str) -> &[String] {
        self.edges.get(id).map_or(&[], Vec::as_slice)
    }
}

/// The shortest path from `start` to each banned crate it reaches.
fn banned_paths(graph: &Graph, start: &str, banned: &[&str]) -> Vec<Vec<String>> {
    if banned.is_empty() {
        return Vec::new();
    }
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
    let mut queue: VecDeque<&str> = VecDeque::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        for dep in graph.deps(id) {
            let dep = dep.as_str();
            if !seen.insert(dep) {
                continue;
            }
            parent.insert(dep, id);
            if banned.contains(&graph.name(dep)) {
                found.push(dep);
            }
            queue.push_back(dep);
        }
    }
    found
        .into_iter()
        .map(|end| {
            let mut path = vec![end.to_string()];
            let mut at = end;
            while let Some(&up) = parent.get(at) {
                path.push(up.to_string());
                at = up;
            }
            path.reverse();
            path
        })
        .collect()
}

fn is_normal(dep: &Value) -> Result<bool> {
    let kinds = array(dep, "dep_kinds")?;
    Ok(kinds
        .iter()
        .any(|kind| kind.get("kind").is_none_or(Value::is_null)))
}

fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>> {
    value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("cargo metadata: `{key}` is missing or not an array"))
}

fn string<'a>(value: &'a Value, key: &str) -> Result<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("cargo metadata: `{key}` is missing or not a string"))
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names.join(", ")
}

#[cfg(test)]
mod tests;
