//! A test of the server-side layout: no two modules depend on each other, directly or
//! through others. A cycle (addresses needing the check engine and the check engine
//! needing addresses, as once) means a concept is split in the wrong place; this finds one
//! as soon as it is written, where a reader would find it only when untangling it.
//!
//! It reads the sources: every absolute path `crate::server::…` outside a file's tests is an
//! edge to the deepest module the path names. Paths between a module and one of its own
//! ancestors are structure (a folder's `mod.rs` and its files), not dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every `.rs` file below `dir`, with the module path it defines.
fn modules(root: &Path, dir: &Path, found: &mut BTreeMap<Module, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            modules(root, &path, found);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let rel = path.strip_prefix(root).expect("below the root");
            let mut module: Module = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            found.insert(module, path);
        }
    }
}

/// The paths below `crate::server::` that `source` names, each split into segments; a
/// `{a, b::c}` group gives one path per item.
fn server_paths(source: &str) -> Vec<Module> {
    const PREFIX: &str = "crate::server::";
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(PREFIX) {
        rest = &rest[at + PREFIX.len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let (head, after) = rest.split_at(end);
        // `a::b::{c, d}` names `a::b::c` and `a::b::d`.
        let items: Vec<String> = match after.strip_prefix('{') {
            Some(group) => {
                let close = group.find('}').unwrap_or(group.len());
                group[..close]
                    .split(',')
                    .map(|item| format!("{head}{}", item.trim()))
                    .collect()
            }
            None => vec![head.to_string()],
        };
        for item in &items {
            let name = item.split(" as ").next().unwrap_or("").trim();
            let segments: Module = name
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if !segments.is_empty() {
                paths.push(segments);
            }
        }
    }
    paths
}

/// Who depends on whom among `modules`.
fn dependencies(modules: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges = BTreeMap::new();
    for (module, path) in modules {
        let source = std::fs::read_to_string(path).expect("a readable source file");
        // A file's own tests may reach anywhere.
        let source = source.split("#[cfg(test)]").next().unwrap_or("");
        let mut to = BTreeSet::new();
        for segments in server_paths(source) {
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix));
            let Some(target) = target else { continue };
            let related = module.starts_with(&target) || target.starts_with(module);
            if !related {
                to.insert(target);
            }
        }
        edges.insert(module.clone(), to);
    }
    edges
}

/// The groups of modules that depend on each other (Tarjan's strongly connected
/// components of more than one module).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in &self.edges[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn server_modules() -> BTreeMap<Module, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let mut found = BTreeMap::new();
    modules(&root, &root, &mut found);
    found
}

fn module(path: &str) -> Module {
    path.split("::").map(str::to_string).collect()
}

#[test]
fn no_two_server_modules_depend_on_each_other() {
    let modules = server_modules();
    let edges = dependencies(&modules);
    let found: Vec<String> = cycles(&edges)
        .into_iter()
        .map(|group| {
            group
                .iter()
                .map(|m| m.join("::"))
                .collect::<Vec<_>>()
                .join(" ↔ ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "modules that depend on each other: {found:#?}"
    );
}

#[test]
fn the_graph_is_read_from_the_sources() {
    // Guards the test above against passing because it read nothing.
    let modules = server_modules();
    assert!(modules.contains_key(&module("inventory::addresses")));
    assert!(modules.contains_key(&module("check::dnsbl::zones")));
    let edges = dependencies(&modules);
    let allocate = &edges[&module("inventory::addresses::allocate")];
    assert!(allocate.contains(&module("check::vet")), "{allocate:?}");
    assert!(
        allocate.contains(&module("inventory::networks")),
        "{allocate:?}"
    );
    // A folder's mod.rs and its own files are structure, not dependencies.
    assert!(
        !allocate.contains(&module("inventory::addresses")),
        "{allocate:?}"
    );
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let edges: BTreeMap<Module, BTreeSet<Module>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(from, to)| (module(from), to.into_iter().map(module).collect()))
    .collect();
    let found = cycles(&edges);
    assert_eq!(found.len(), 1, "{found:?}");
    let mut group = found[0].clone();
    group.sort();
    assert_eq!(group, vec![module("a"), module("b"), module("c")]);
}

#[test]
fn paths_are_read_whole_and_in_groups() {
    let source = "use crate::server::inventory::{ip, networks as nets};\n\
                  use crate::server::{admin::audit, AppState};\n\
                  let x = crate::server::check::vet::vet(state);";
    assert_eq!(
        server_paths(source),
        vec![
            module("inventory::ip"),
            module("inventory::networks"),
            module("admin::audit"),
            module("AppState"),
            module("check::vet::vet"),
        ]
    );
}
