//! `mcp-rbac-macros`' parsing and validation modules, included by path so the fuzz targets run
//! the very code the macros run (proc-macro2 works outside a macro with its fallback spans).
//!
//! ```no_run
//! let attr = syn::parse_quote!(#[tool(requires = any("A", "B"))]);
//! let raw = mcp_rbac_macro_grammar::parse::method_attr(mcp_rbac_macro_grammar::model::Kind::Tool, &attr);
//! # let _ = raw;
//! ```

// The macro crate uses each item from its expansion code, which is not included here.
#![allow(dead_code, unused_imports)]

#[path = "../../../mcp-rbac-macros/src/model.rs"]
pub mod model;
#[path = "../../../mcp-rbac-macros/src/parse/mod.rs"]
pub mod parse;
#[path = "../../../mcp-rbac-macros/src/suggest.rs"]
pub mod suggest;
#[path = "../../../mcp-rbac-macros/src/validate.rs"]
pub mod validate;
