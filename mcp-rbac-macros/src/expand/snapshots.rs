//! Expansion review snapshots: each `tests/expand/NAME.rs` is expanded by the functions the macros
//! call (our attributes and `permissions!`, outermost first, until none is left; rmcp's stay as
//! written) and printed with prettyplease; the result must equal `tests/expand/NAME.expanded.rs`.
//! After an intended change to the generated code, `UPDATE_EXPAND=1 cargo test -p mcp-rbac-macros`
//! rewrites the snapshots: then read the diff, it is what reviewers of the macros read.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, Item, Meta};

use super::Expansion;
use crate::model::{last_segment_is, Kind};

/// Our item attributes, and the expansion each runs.
const ATTRIBUTES: &[&str] = &[
    "tool_router",
    "prompt_router",
    "tool_handler",
    "prompt_handler",
];

fn expand_attr(name: &str, attr: TokenStream, item: TokenStream) -> Result<Expansion, syn::Error> {
    match name {
        "tool_router" => super::router::try_expand(Kind::Tool, attr, item),
        "prompt_router" => super::router::try_expand(Kind::Prompt, attr, item),
        "tool_handler" => super::handler::try_expand(Kind::Tool, attr, item),
        "prompt_handler" => super::handler::try_expand(Kind::Prompt, attr, item),
        other => unreachable!("{other} is not in ATTRIBUTES"),
    }
}

fn ours(attr: &Attribute) -> Option<&'static str> {
    let path = attr.path();
    let first = path.segments.first()?;
    if first.ident != "mcp_rbac" {
        return None;
    }
    ATTRIBUTES
        .iter()
        .copied()
        .find(|a| last_segment_is(path, a))
}

/// Expands one item until none of our macros is left in it.
fn expand_item(item: Item, out: &mut Vec<Item>) -> Result<(), String> {
    let expansion = match &item {
        Item::Macro(m)
            if m.mac
                .path
                .segments
                .first()
                .is_some_and(|s| s.ident == "mcp_rbac")
                && last_segment_is(&m.mac.path, "permissions") =>
        {
            super::permissions::try_expand(m.mac.tokens.clone())
        }
        Item::Impl(i) => {
            let Some((index, name)) = i
                .attrs
                .iter()
                .enumerate()
                .find_map(|(n, a)| ours(a).map(|name| (n, name)))
            else {
                out.push(item);
                return Ok(());
            };
            let mut rest = i.clone();
            let attr = rest.attrs.remove(index);
            let args = match attr.meta {
                Meta::List(list) => list.tokens,
                _ => TokenStream::new(),
            };
            expand_attr(name, args, rest.into_token_stream())
        }
        _ => {
            out.push(item);
            return Ok(());
        }
    };
    let expansion = expansion.map_err(|e| e.to_string())?;
    if let Some(e) = expansion.errors {
        return Err(e.to_string());
    }
    let file: syn::File = syn::parse2(expansion.code).map_err(|e| e.to_string())?;
    for item in file.items {
        expand_item(item, out)?;
    }
    Ok(())
}

fn expand_file(source: &str) -> Result<String, String> {
    let file = syn::parse_file(source).map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    for item in file.items {
        expand_item(item, &mut items)?;
    }
    Ok(prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: file.attrs,
        items,
    }))
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn expansions_match_their_snapshots() {
    let update = std::env::var_os("UPDATE_EXPAND").is_some_and(|v| v != "0");
    let cases = cases();
    assert!(
        cases.len() >= 5,
        "expected the snapshot inputs in tests/expand"
    );
    let mut failures = Vec::new();
    for input in &cases {
        let source = std::fs::read_to_string(input).expect("input");
        let expanded = expand_file(&source)
            .unwrap_or_else(|e| panic!("{} does not expand: {e}", input.display()));
        let snapshot = input.with_extension("expanded.rs");
        if update {
            std::fs::write(&snapshot, &expanded).expect("write snapshot");
            continue;
        }
        match std::fs::read_to_string(&snapshot) {
            Ok(committed) if committed == expanded => {}
            Ok(committed) => failures.push(format!(
                "{} differs from the expansion; first differing line:\n  committed: {:?}\n  expanded:  {:?}",
                snapshot.display(),
                committed.lines().zip(expanded.lines()).find(|(a, b)| a != b).map(|(a, _)| a),
                committed.lines().zip(expanded.lines()).find(|(a, b)| a != b).map(|(_, b)| b),
            )),
            Err(_) => failures.push(format!("{} is missing", snapshot.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nrun `UPDATE_EXPAND=1 cargo test -p mcp-rbac-macros` after an intended change, then review the diff",
        failures.join("\n")
    );
}

#[test]
fn a_changed_expansion_is_caught() {
    let source =
        "#[mcp_rbac::tool_router]\nimpl S {\n#[tool(requires = \"A\")]\nasync fn a(&self) {}\n}";
    let one = expand_file(source).unwrap();
    let other = expand_file(&source.replace("\"A\"", "\"B\"")).unwrap();
    assert_ne!(one, other);
    assert!(one.contains("Requirement::permission(\"A\")"), "{one}");
}
