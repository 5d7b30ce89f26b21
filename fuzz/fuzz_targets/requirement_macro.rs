//! The macros' attribute grammar, through the macro crate's own parser and validator: the
//! input is the inside of `#[tool(…)]` (`requires = any("A", "B"), description = "…"`).
//!
//! Checks: parsing and validation return an error or an item, never panic; a valid name by
//! the macro's rule is a valid name by the runtime's rule and back; an accepted requirement,
//! built as the expansion builds it, prints a canonical form that the runtime parser reads
//! back to the same requirement (what manifests and denials show is what the macro meant).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_rbac::{is_valid_permission_name, Requirement};
use mcp_rbac_macro_grammar::model::{self, Access, Kind};
use mcp_rbac_macro_grammar::{parse, validate};
use syn::parse::Parser;

/// The runtime requirement the expansion writes for `req` (`expand::router::requirement_tokens`).
fn runtime(req: &model::Requirement) -> Requirement {
    match req {
        model::Requirement::Permission(lit) => Requirement::permission(lit.value()),
        model::Requirement::Any(_, parts) => Requirement::any(parts.iter().map(runtime)),
        model::Requirement::All(_, parts) => Requirement::all(parts.iter().map(runtime)),
    }
}

/// Every permission literal, valid or not.
fn names(req: &model::Requirement, out: &mut Vec<String>) {
    match req {
        model::Requirement::Permission(lit) => out.push(lit.value()),
        model::Requirement::Any(_, parts) | model::Requirement::All(_, parts) => {
            parts.iter().for_each(|p| names(p, out))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Source text as a user writes it, capped for speed; 64 brackets still reach past the
    // macro's 32-level nesting limit, so the limit itself is fuzzed.
    let Ok(args) = std::str::from_utf8(data) else {
        return;
    };
    if args.len() > 2048
        || args
            .chars()
            .filter(|c| matches!(c, '(' | '[' | '{'))
            .count()
            > 64
    {
        return;
    }
    let Ok(attrs) = syn::Attribute::parse_outer.parse_str(&format!("#[tool({args})]")) else {
        return;
    };
    let [attr] = attrs.as_slice() else {
        return;
    };
    let raw = match parse::method_attr(Kind::Tool, attr) {
        Ok(raw) => raw,
        Err(error) => {
            let _ = error.to_compile_error();
            return;
        }
    };
    let mut written = Vec::new();
    for (_, req) in &raw.requires {
        names(req, &mut written);
    }
    for name in &written {
        assert_eq!(
            validate::permission_name(name).is_ok(),
            is_valid_permission_name(name),
            "the macro and the runtime disagree on {name:?}"
        );
    }
    let ident = proc_macro2::Ident::new("fuzzed", proc_macro2::Span::call_site());
    let item = match validate::item(Kind::Tool, ident, 0, raw) {
        Ok(item) => item,
        Err(error) => {
            let _ = error.to_compile_error();
            return;
        }
    };
    let Access::Requires(req) = &item.access else {
        return;
    };
    let requirement = runtime(req);
    let canonical = requirement.to_string();
    let parsed: Requirement = canonical
        .parse()
        .unwrap_or_else(|e| panic!("the runtime cannot read `{canonical}`: {e}"));
    assert_eq!(parsed, requirement, "`{canonical}` reads back differently");
});
