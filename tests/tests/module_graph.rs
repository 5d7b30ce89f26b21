//! The runtime crate's modules import one way: the graph of its top-level modules, drawn from the
//! `crate::…` and `super::…` paths of `mcp-rbac/src` (tests left out), has no cycle.
//!
//! A path through a crate-root re-export (`crate::RolePolicy`) counts as an import of the module
//! that defines it (`policy`), as `lib.rs`'s `pub use` says. A path the test cannot place fails it,
//! so an import is never silently left out of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

/// Top-level module → the modules it imports, each with one file that does.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// A source file of the crate: its top-level module and its module path's depth.
struct Source {
    file: String,
    module: String,
    depth: usize,
    syntax: syn::File,
}

fn sources(src: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let file = parts.pop().expect("a file name");
            let stem = file.strip_suffix(".rs").expect("a .rs file").to_owned();
            if stem != "mod" && stem != "lib" {
                parts.push(stem);
            }
            let module = parts.first()?.clone();
            let text = std::fs::read_to_string(&path).expect("readable source");
            let syntax =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Some(Source {
                file: relative.display().to_string(),
                module,
                depth: parts.len(),
                syntax,
            })
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| list.tokens.to_string() == "test")
    })
}

/// The names a `use` tree brings in, each with the first segment of its path.
fn use_leaves(tree: &syn::UseTree, first: Option<&str>, out: &mut Vec<(String, String)>) {
    match tree {
        syn::UseTree::Path(path) => {
            let segment = path.ident.to_string();
            use_leaves(&path.tree, Some(first.unwrap_or(&segment)), out);
        }
        syn::UseTree::Name(name) => {
            if let Some(first) = first {
                out.push((first.to_owned(), name.ident.to_string()));
            }
        }
        syn::UseTree::Rename(rename) => {
            if let Some(first) = first {
                out.push((first.to_owned(), rename.rename.to_string()));
            }
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_leaves(tree, first, out);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

/// The crate root: its modules, and which module each `pub use` re-export comes from.
fn root(lib: &syn::File) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let modules: BTreeSet<String> = lib
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() => Some(m.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut reexports = BTreeMap::new();
    for item in &lib.items {
        if let syn::Item::Use(u) = item {
            let mut leaves = Vec::new();
            use_leaves(&u.tree, None, &mut leaves);
            for (first, name) in leaves {
                if modules.contains(&first) {
                    reexports.insert(name, first);
                }
            }
        }
    }
    (modules, reexports)
}

/// The first identifier of every path in `tokens` that leaves the file's top-level module:
/// `crate::x…`, `crate::{x…, y…}`, or `super::` repeated at least `depth` times.
fn outward_paths(tokens: TokenStream, depth: usize, out: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_ident =
        |i: usize, name: &str| matches!(tokens.get(i), Some(TokenTree::Ident(id)) if id == name);
    let is_colons = |i: usize| {
        matches!(
            (tokens.get(i), tokens.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
        )
    };
    let mut i = 0;
    while i < tokens.len() {
        // `$crate` and a path segment named like a keyword's tail are not the crate root.
        let after_dollar_or_colons = i > 0
            && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$' || p.as_char() == ':');
        let start = if is_ident(i, "crate") && !after_dollar_or_colons && is_colons(i + 1) {
            Some(i + 3)
        } else if is_ident(i, "super") && !after_dollar_or_colons {
            let mut supers = 0;
            let mut j = i;
            while is_ident(j, "super") && is_colons(j + 1) {
                supers += 1;
                j += 3;
            }
            (supers >= depth).then_some(j)
        } else {
            None
        };
        match (start, start.and_then(|s| tokens.get(s))) {
            (Some(_), Some(TokenTree::Ident(name))) => out.push(name.to_string()),
            (Some(_), Some(TokenTree::Group(group))) if group.delimiter() == Delimiter::Brace => {
                // The first identifier after the brace and after each comma.
                let mut first = true;
                for part in group.stream() {
                    match part {
                        TokenTree::Ident(name) if first => {
                            out.push(name.to_string());
                            first = false;
                        }
                        TokenTree::Punct(p) if p.as_char() == ',' => first = true,
                        _ => {}
                    }
                }
            }
            (Some(s), other) => panic!("a path at token {s} ends in {other:?}"),
            (None, _) => {}
        }
        if let TokenTree::Group(group) = &tokens[i] {
            outward_paths(group.stream(), depth, out);
        }
        i += 1;
    }
}

/// The outward paths of `items`, leaving out `#[cfg(test)]` items; inline modules one level deeper.
fn item_paths(items: &[syn::Item], depth: usize, out: &mut Vec<String>) {
    for item in items {
        match item {
            syn::Item::Mod(m) if is_cfg_test(&m.attrs) => {}
            syn::Item::Mod(syn::ItemMod {
                content: Some((_, inner)),
                ..
            }) => item_paths(inner, depth + 1, out),
            syn::Item::Fn(f) if is_cfg_test(&f.attrs) => {}
            syn::Item::Use(u) if is_cfg_test(&u.attrs) => {}
            syn::Item::Impl(imp) if is_cfg_test(&imp.attrs) => {}
            syn::Item::Impl(imp) => {
                let mut imp = imp.clone();
                imp.items.retain(|item| match item {
                    syn::ImplItem::Fn(f) => !is_cfg_test(&f.attrs),
                    syn::ImplItem::Const(c) => !is_cfg_test(&c.attrs),
                    _ => true,
                });
                outward_paths(imp.to_token_stream(), depth, out);
            }
            other => outward_paths(other.to_token_stream(), depth, out),
        }
    }
}

/// The graph of the crate under `src`.
fn graph(src: &Path) -> Graph {
    let sources = sources(src);
    let lib = syn::parse_file(&std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs"))
        .expect("lib.rs parses");
    let (modules, reexports) = root(&lib);
    let mut graph = Graph::new();
    let mut unplaced = Vec::new();
    for source in &sources {
        graph.entry(source.module.clone()).or_default();
        let mut paths = Vec::new();
        item_paths(&source.syntax.items, source.depth, &mut paths);
        for name in paths {
            let target = if modules.contains(&name) {
                Some(&name)
            } else {
                reexports.get(&name)
            };
            match target {
                Some(target) if *target != source.module => {
                    graph
                        .entry(source.module.clone())
                        .or_default()
                        .entry(target.clone())
                        .or_insert_with(|| source.file.clone());
                }
                Some(_) => {}
                None => unplaced.push(format!("{}: crate::{name}", source.file)),
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "paths naming neither a module nor a re-export of lib.rs: {unplaced:#?}"
    );
    graph
}

/// A cycle of `graph` as its modules, the first one repeated at the end; `None` when there is none.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'g>(
        node: &'g str,
        graph: &'g Graph,
        marks: &mut BTreeMap<&'g str, Mark>,
        stack: &mut Vec<&'g str>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack
                    .iter()
                    .position(|n| *n == node)
                    .expect("open is stacked");
                let mut cycle: Vec<String> = stack[from..].iter().map(|n| n.to_string()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Open);
        stack.push(node);
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

fn describe(cycle: &[String], graph: &Graph) -> String {
    cycle
        .windows(2)
        .map(|pair| {
            let file = &graph[&pair[0]][&pair[1]];
            format!("{} → {} (in {file})", pair[0], pair[1])
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn runtime_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcp-rbac/src")
}

#[test]
fn the_runtime_crates_modules_import_one_way() {
    let graph = graph(&runtime_src());
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle {}: {}",
            cycle.join(" → "),
            describe(&cycle, &graph)
        );
    }
}

/// The leaves every layer uses import nothing above them: the error and item types nothing at
/// all, requirements only the permission set they are checked against, denials only the item
/// kind they name, audit records also the principal whose subject they log and the metric of
/// records dropped.
#[test]
fn the_leaves_import_nothing_above_them() {
    let graph = graph(&runtime_src());
    for (leaf, allowed) in [
        ("error", &[][..]),
        ("item", &[]),
        ("permissions", &[]),
        ("requirement", &["permissions"]),
        ("denial", &["item"]),
        ("audit", &["item", "principal", "metrics"]),
        ("metrics", &["error"]),
    ] {
        let imports = graph
            .get(leaf)
            .unwrap_or_else(|| panic!("no module `{leaf}`"));
        let above: Vec<_> = imports
            .iter()
            .filter(|(to, _)| !allowed.contains(&to.as_str()))
            .map(|(to, file)| format!("{to} (in {file})"))
            .collect();
        assert!(above.is_empty(), "`{leaf}` imports {above:?}");
    }
}

#[test]
fn the_graph_holds_the_imports_the_sources_make() {
    let graph = graph(&runtime_src());
    // A few imports the request path cannot do without: the scanner sees `use crate::…`,
    // `crate::Name` through a root re-export, and nested modules' files.
    for (from, to) in [
        ("bearer", "verify"),
        ("verify", "principal"),
        ("guard", "principal"),
        ("guard", "requirement"),
        ("manifest", "policy"),
    ] {
        assert!(
            graph.get(from).is_some_and(|edges| edges.contains_key(to)),
            "{from} → {to} missing from {graph:#?}"
        );
    }
}

fn synthetic(edges: &[(&str, &str)]) -> Graph {
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string(), format!("{from}.rs"));
        graph.entry(to.to_string()).or_default();
    }
    graph
}

#[test]
fn the_cycle_finder_names_a_cycle() {
    let graph = synthetic(&[("a", "b"), ("b", "c"), ("c", "d"), ("d", "b"), ("a", "e")]);
    let cycle = find_cycle(&graph).expect("b → c → d → b");
    assert_eq!(cycle, ["b", "c", "d", "b"]);
    assert_eq!(
        describe(&cycle, &graph),
        "b → c (in b.rs), c → d (in c.rs), d → b (in d.rs)"
    );
    let acyclic = synthetic(&[("a", "b"), ("b", "c"), ("a", "c"), ("d", "c")]);
    assert_eq!(find_cycle(&acyclic), None);
    assert_eq!(
        find_cycle(&synthetic(&[("a", "a")])),
        Some(vec!["a".into(), "a".into()])
    );
}

#[test]
fn the_scanner_skips_tests_and_follows_paths_out_of_the_module() {
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("guard")).expect("temp dir");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    write(
        "lib.rs",
        "mod audit; mod guard; mod policy; mod principal;\npub use policy::{Role, RolePolicy};",
    );
    write(
        "audit.rs",
        "/// Links to [`crate::guard`] in docs are not imports.\n\
         pub fn f(_: &crate::RolePolicy) {}\n\
         #[cfg(test)] mod tests { use crate::principal::Principal; }",
    );
    write("guard/mod.rs", "mod route; use crate::{audit::f, policy};");
    write(
        "guard/route.rs",
        "use super::super::principal::Principal; use super::Gate;",
    );
    write("policy.rs", "");
    write(
        "principal.rs",
        "struct P; impl P { #[cfg(test)] fn t() { crate::audit::f(); } }",
    );
    let graph = graph(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let edges = |from: &str| graph[from].keys().cloned().collect::<Vec<_>>();
    assert_eq!(edges("audit"), ["policy"]);
    assert_eq!(edges("guard"), ["audit", "policy", "principal"]);
    assert!(edges("principal").is_empty());
    assert_eq!(find_cycle(&graph), None);
}
