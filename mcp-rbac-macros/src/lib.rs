//! Procedural macros of [`mcp-rbac`](https://docs.rs/mcp-rbac). Use them through `mcp_rbac`, which
//! re-exports them; this crate holds no runtime logic.
//!
//! | macro | what it does |
//! | :-    | :-           |
//! | [`#[tool_router]`](macro@tool_router) | a permission-checked rmcp tool router from an `impl` block of [`#[tool]`](macro@tool) methods |
//! | [`#[prompt_router]`](macro@prompt_router) | the same for [`#[prompt]`](macro@prompt) methods |
//! | [`#[tool_handler]`](macro@tool_handler) | `call_tool`, `list_tools` (filtered per caller) and `get_tool` of `rmcp::ServerHandler` |
//! | [`#[prompt_handler]`](macro@prompt_handler) | `get_prompt` and `list_prompts` (filtered per caller) |
//! | [`permissions!`] | a permission set as an enum, checked against every `requires` at compile time |
//!
//! Each entry point hands off to three steps: parsing turns attributes into a small model,
//! validation checks it (every error a `syn::Error` spanned on the user's tokens), and expansion
//! writes the code, keeping the user's item even next to an error so that only our message shows.
//! Generated code reaches runtime items only through `::mcp_rbac::__private`.

use proc_macro::TokenStream;

mod expand;
mod model;
mod parse;
mod suggest;
mod validate;

use model::Kind;

/// Turns an `impl` block of `#[tool(requires = …)]` / `#[tool(public)]` methods into a
/// permission-checked rmcp tool router.
///
/// It writes `fn tool_router() -> rmcp::handler::server::router::tool::ToolRouter<Self>`, whose
/// every route checks the method's rule before rmcp reads the arguments, and
/// `fn tool_router_manifest() -> mcp_rbac::Manifest` (tool → requirement) for review and tests.
/// The arguments are rmcp's, plus `permissions`:
///
/// | field            | type         | usage |
/// | :-               | :-           | :-    |
/// | `router`         | `Ident`      | The name of the router function. Defaults to `tool_router`; the manifest function is named `<router>_manifest`. |
/// | `vis`            | `Visibility` | The visibility of both functions, as a string: `vis = "pub"`. Defaults to private. |
/// | `server_handler` | flag         | Also writes `#[mcp_rbac::tool_handler] impl rmcp::ServerHandler for Self {}`, for a tools-only server. |
/// | `allow_empty`    | flag         | Accepts an `impl` block without any `#[tool]` method (otherwise a compile error). |
/// | `permissions`    | `Path`       | An enum declared with [`permissions!`]: every `requires` name must be one of its names (checked at compile time, with a "did you mean"). |
///
/// Inside the block, each `#[tool(..)]` method is one tool; see [`macro@tool`] for its
/// arguments. A method without `#[tool]` stays a plain method.
///
/// ```ignore
/// #[mcp_rbac::tool_router(vis = "pub")]
/// impl Products {
///     #[tool(requires = "Admin.Write", description = "Delete a product")]
///     async fn delete_product(&self, Parameters(p): Parameters<ProductId>) -> String { .. }
///
///     #[tool(public)]
///     async fn whoami(&self, caller: mcp_rbac::Principal) -> String { .. }
/// }
/// ```
#[proc_macro_attribute]
pub fn tool_router(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::router(Kind::Tool, attr.into(), item.into()).into()
}

/// Turns an `impl` block of `#[prompt(requires = …)]` / `#[prompt(public)]` methods into a
/// permission-checked rmcp prompt router.
///
/// It writes `fn prompt_router()` and `fn prompt_router_manifest()`, as [`macro@tool_router`]
/// does for tools.
///
/// | field         | type         | usage |
/// | :-            | :-           | :-    |
/// | `router`      | `Ident`      | The name of the router function (an identifier or, as rmcp writes it, a string). Defaults to `prompt_router`. |
/// | `vis`         | `Visibility` | The visibility of both functions, as a string: `vis = "pub"`. Defaults to private. |
/// | `permissions` | `Path`       | An enum declared with [`permissions!`] that every `requires` name must belong to, as for tools. |
///
/// Each `#[prompt(..)]` method is one prompt; see [`macro@prompt`] for its arguments.
#[proc_macro_attribute]
pub fn prompt_router(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::router(Kind::Prompt, attr.into(), item.into()).into()
}

/// Implements `call_tool`, `list_tools` (filtered per caller) and `get_tool` of
/// `rmcp::ServerHandler` from a guarded tool router, plus `get_info` when absent.
///
/// Without `router = …` the router is `Self::tool_router()`, built once for the type on first
/// use and shared after it (rmcp's `tool_handler` rebuilds it for every request). A router that
/// must change at run time is named with `router = expr`, which is evaluated on every request, as
/// rmcp does.
///
/// | field          | type     | usage |
/// | :-             | :-       | :-    |
/// | `router`       | `Expr`   | The `ToolRouter` to serve, evaluated on every request. Defaults to `Self::tool_router()`, built once per type. |
/// | `meta`         | `Expr`   | An `Option<rmcp::model::Meta>` for `ListToolsResult`, as in rmcp. |
/// | `listing`      | `Expr`   | A `mcp_rbac::guard::Listing`, evaluated on every `tools/list`: hide what the caller may not call (the default) or show it, with or without requirement metadata. |
/// | `name`         | `String` | The server name in the generated `get_info`. Defaults to `CARGO_CRATE_NAME`. |
/// | `version`      | `String` | The server version in the generated `get_info`. Defaults to `CARGO_PKG_VERSION`. |
/// | `instructions` | `String` | Instructions in the generated `get_info`. |
///
/// ```ignore
/// #[mcp_rbac::tool_handler(name = "products", listing = self.listing)]
/// #[mcp_rbac::prompt_handler(listing = self.listing)]
/// impl rmcp::ServerHandler for Products {}
/// ```
#[proc_macro_attribute]
pub fn tool_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Tool, attr.into(), item.into()).into()
}

/// Implements `get_prompt` and `list_prompts` (filtered per caller) of `rmcp::ServerHandler`
/// from a guarded prompt router, plus `get_info` when absent. Without `router = …`,
/// `Self::prompt_router()` is built once for the type, as in [`macro@tool_handler`].
///
/// | field     | type   | usage |
/// | :-        | :-     | :-    |
/// | `router`  | `Expr` | The `PromptRouter` to serve, evaluated on every request. Defaults to `Self::prompt_router()`, built once per type. |
/// | `meta`    | `Expr` | An `Option<rmcp::model::Meta>` for `ListPromptsResult`, as in rmcp. |
/// | `listing` | `Expr` | A `mcp_rbac::guard::Listing`, evaluated on every `prompts/list` (default: hide what the caller may not get). |
#[proc_macro_attribute]
pub fn prompt_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Prompt, attr.into(), item.into()).into()
}

/// One tool of a [`macro@tool_router`] block: `#[tool(requires = "Admin.Write", ..)]`. It needs
/// no import: the router reads it, takes out `requires` and `public`, and hands every other
/// argument to rmcp's own `#[tool]`. Standing outside a router, it is a compile error.
///
/// Exactly one of `requires` and `public` is required (deny by default).
///
/// | field           | type                       | usage |
/// | :-              | :-                         | :-    |
/// | `requires`      | requirement                | What the caller needs: `"Perm.Name"`, `any(r, ..)` (one of), `all(r, ..)` (every one), nested freely. Names are exact and case-sensitive. |
/// | `public`        | flag                       | Every authenticated caller may call the tool. |
/// | `authorize`     | `Path`                     | An argument condition, `authorize = Self::may_update`: `async fn(&self, &Principal, &Args) -> Result<(), Denied>`, judged after `requires` and the parsing of `Parameters<Args>`, before the body. A tool without `Parameters<..>` cannot name one. |
/// | `name`          | `String`                   | rmcp: the tool's name. Defaults to the method name. |
/// | `title`         | `String`                   | rmcp: a human-readable title. |
/// | `description`   | `Expr`                     | rmcp: the description. Defaults to the method's doc comment. |
/// | `input_schema`  | `Expr`                     | rmcp: the input JSON Schema. Defaults to the schema of the `Parameters<T>` argument. |
/// | `output_schema` | `Expr`                     | rmcp: the output JSON Schema. Defaults to the schema of a `Json<T>` return type. |
/// | `annotations`   | `ToolAnnotationsAttribute` | rmcp: hints such as `annotations(destructive_hint = true)`. |
/// | `icons`         | `Expr`                     | rmcp: the tool's icons. |
/// | `meta`          | `Expr`                     | rmcp: the tool's `_meta`. |
/// | `local`         | flag                       | rmcp: the generated future need not be `Send`. |
///
/// The method may take a `mcp_rbac::Principal` (or `Option<Principal>`) parameter: the caller.
///
/// With `authorize = Self::may_update`, the route calls a generated
/// `__mcp_rbac_authorized_{method}` that receives the method's own parameters, awaits the
/// condition with the parsed arguments and, if it allows, moves them into the method; a refusal
/// is a JSON-RPC 403 with the condition's `data.reason`
/// ([`mcp_rbac::condition`](https://docs.rs/mcp-rbac/latest/mcp_rbac/condition/)).
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::outside_router(Kind::Tool, attr.into(), item.into()))
}

/// One prompt of a [`macro@prompt_router`] block: `#[prompt(requires = "User.Read", ..)]`. As
/// with [`macro@tool`], `requires` and `public` are ours and every other argument is rmcp's;
/// outside a router it is a compile error.
///
/// | field         | type        | usage |
/// | :-            | :-          | :-    |
/// | `requires`    | requirement | What the caller needs: `"Perm.Name"`, `any(r, ..)`, `all(r, ..)`, nested freely. |
/// | `public`      | flag        | Every authenticated caller may get the prompt. |
/// | `authorize`   | `Path`      | An argument condition, as for tools. |
/// | `name`        | `String`    | rmcp: the prompt's name. Defaults to the method name. |
/// | `title`       | `String`    | rmcp: a human-readable title. |
/// | `description` | `Expr`      | rmcp: the description. Defaults to the method's doc comment. |
/// | `arguments`   | `Expr`      | rmcp: an `Option<Vec<PromptArgument>>`. Defaults to the fields of the `Parameters<T>` argument. |
/// | `icons`       | `Expr`      | rmcp: the prompt's icons. |
/// | `meta`        | `Expr`      | rmcp: the prompt's `_meta`. |
/// | `local`       | flag        | rmcp: the generated future need not be `Send`. |
#[proc_macro_attribute]
pub fn prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(expand::outside_router(
        Kind::Prompt,
        attr.into(),
        item.into(),
    ))
}

/// Declares a permission set once: `mcp_rbac::permissions! { pub enum Perm { "Guest.Read",
/// "Admin.Write" } }`. `#[mcp_rbac::tool_router(permissions = Perm)]` then rejects, at compile
/// time, any `requires` name the set does not declare.
///
/// | field               | type            | usage |
/// | :-                  | :-              | :-    |
/// | attributes          | `#[..]`, `///`  | Kept on the enum (and on a variant, when written before its entry). |
/// | visibility          | `Visibility`    | The enum's visibility; its checking macro is at most `pub(crate)`. |
/// | `enum Name`         | `Ident`         | The enum, and a checking macro of the same name: importing one imports both. |
/// | `"Perm.Name"`       | string          | One permission, exact (no wildcard), at most 128 per set. Its variant is the name's words capitalized: `"Admin.Write"` → `AdminWrite`, `"products:write"` → `ProductsWrite`. |
/// | `"Perm.Name" as V`  | string, `Ident` | The same, with the variant named `V`. |
///
/// The enum is `Copy`, `Eq`, `Ord`, `Hash` and `Debug`, with `Name::ALL` (every variant, in
/// order), `as_str()`, `Display`, `AsRef<str>`, and conversions into `String` and
/// `mcp_rbac::Requirement`, so role policies and resource guards take it where they take names.
#[proc_macro]
pub fn permissions(input: TokenStream) -> TokenStream {
    expand::permissions(input.into()).into()
}

/// The error of a `Perm!` checker on an undeclared name. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn unknown_permission(input: TokenStream) -> TokenStream {
    expand::unknown_permission(input.into()).into()
}

/// An attribute left outside a router: its error always comes with the method kept.
fn run(expansion: expand::Expansion) -> TokenStream {
    expansion.into_tokens().into()
}

/// The README's macro reference ("The macros") and this crate's rustdoc list every argument the
/// parsers accept, each as a table row, so neither can fall behind the parser.
#[cfg(test)]
mod reference_tests {
    use crate::model::{
        Kind, COMBINATORS, METHOD_KEYS, PROMPT_HANDLER_KEYS, PROMPT_ROUTER_KEYS, TOOL_HANDLER_KEYS,
        TOOL_ROUTER_KEYS,
    };

    const README: &str = include_str!("../../README.md");
    const RUSTDOC: &str = include_str!("lib.rs");

    /// The README's `## The macros` section, up to the next `## ` heading.
    fn macro_reference() -> &'static str {
        let start = README
            .find("\n## The macros\n")
            .expect("the README has a `## The macros` section");
        let rest = &README[start + 1..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
        &rest[..end]
    }

    /// The lines under the `### {heading}` line of `section`, up to the next `##`/`###` heading.
    fn subsection<'a>(section: &'a str, heading: &str) -> &'a str {
        let marker = format!("\n### {heading}\n");
        let start = section
            .find(&marker)
            .unwrap_or_else(|| panic!("the macro reference has a `### {heading}` subsection"));
        let rest = &section[start + marker.len()..];
        let end = rest
            .find("\n### ")
            .or_else(|| rest.find("\n## "))
            .map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }

    /// The doc comment of `pub fn {name}` in this file.
    fn rustdoc_of(name: &str) -> String {
        let end = RUSTDOC
            .find(&format!("\npub fn {name}("))
            .unwrap_or_else(|| panic!("lib.rs defines `{name}`"));
        RUSTDOC[..end]
            .lines()
            .rev()
            .skip_while(|l| l.starts_with("#["))
            .take_while(|l| l.starts_with("///"))
            .map(|l| l.trim_start_matches("///").trim())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The field of each table row: the identifier at the start of its first cell's code span
    /// (`| \`requires\` |` → `requires`, `| \`any(r, ..)\` |` → `any`).
    fn fields(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix('|'))
            .filter_map(|row| row.split('|').next())
            .filter_map(|cell| cell.trim().strip_prefix('`'))
            .map(|code| {
                code.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|field| !field.is_empty())
            .collect()
    }

    fn assert_rows(place: &str, text: &str, names: &[&str]) {
        let fields = fields(text);
        let missing: Vec<_> = names
            .iter()
            .filter(|name| !fields.iter().any(|f| f == *name))
            .collect();
        assert!(
            missing.is_empty(),
            "{place} has no table row for {missing:?} (rows: {fields:?})"
        );
    }

    fn method_keys(kind: Kind) -> Vec<&'static str> {
        METHOD_KEYS
            .iter()
            .chain(kind.rmcp_keys())
            .copied()
            .collect()
    }

    #[test]
    fn the_readme_reference_has_a_row_for_every_accepted_argument() {
        let section = macro_reference();
        let cases: [(&str, Vec<&str>); 7] = [
            ("`#[mcp_rbac::tool_router]`", TOOL_ROUTER_KEYS.to_vec()),
            ("`#[tool]`", method_keys(Kind::Tool)),
            ("`#[mcp_rbac::prompt_router]`", PROMPT_ROUTER_KEYS.to_vec()),
            ("`#[prompt]`", method_keys(Kind::Prompt)),
            ("`#[mcp_rbac::tool_handler]`", TOOL_HANDLER_KEYS.to_vec()),
            (
                "`#[mcp_rbac::prompt_handler]`",
                PROMPT_HANDLER_KEYS.to_vec(),
            ),
            ("Requirements", COMBINATORS.to_vec()),
        ];
        for (heading, names) in cases {
            let place = format!("README `### {heading}`");
            assert_rows(&place, subsection(section, heading), &names);
        }
    }

    #[test]
    fn the_rustdoc_has_a_row_for_every_accepted_argument() {
        let cases = [
            ("tool_router", TOOL_ROUTER_KEYS.to_vec()),
            ("tool", method_keys(Kind::Tool)),
            ("prompt_router", PROMPT_ROUTER_KEYS.to_vec()),
            ("prompt", method_keys(Kind::Prompt)),
            ("tool_handler", TOOL_HANDLER_KEYS.to_vec()),
            ("prompt_handler", PROMPT_HANDLER_KEYS.to_vec()),
        ];
        for (name, names) in cases {
            assert_rows(
                &format!("the rustdoc of `{name}`"),
                &rustdoc_of(name),
                &names,
            );
        }
    }

    #[test]
    fn rows_are_read_by_their_first_cell_only() {
        let table =
            "| field | type |\n| :- | :- |\n| `requires` | `public` |\n| `any(r, ..)` | x |\n";
        assert_eq!(fields(table), ["requires", "any"]);
        assert!(fields("`public` in prose is not a row").is_empty());
    }
}
