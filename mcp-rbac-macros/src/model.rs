//! What the macros understand of the user's code, after parsing and before expansion.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Ident, LitStr, Path, Visibility};

/// Tools and prompts share one grammar; this says which attribute family a macro handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Prompt,
}

impl Kind {
    /// The method attribute name: `tool` or `prompt`.
    pub fn attr(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
        }
    }

    /// The default router function name: `tool_router` or `prompt_router`.
    pub fn router(self) -> &'static str {
        match self {
            Kind::Tool => "tool_router",
            Kind::Prompt => "prompt_router",
        }
    }

    /// The keys rmcp's own `#[tool]` / `#[prompt]` accept, passed through untouched.
    pub fn rmcp_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Tool => TOOL_RMCP_KEYS,
            Kind::Prompt => PROMPT_RMCP_KEYS,
        }
    }

    /// Every argument `#[mcp_rbac::tool_router(..)]` / `#[mcp_rbac::prompt_router(..)]` accepts.
    pub fn router_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Tool => TOOL_ROUTER_KEYS,
            Kind::Prompt => PROMPT_ROUTER_KEYS,
        }
    }

    /// Every argument `#[mcp_rbac::tool_handler(..)]` / `#[mcp_rbac::prompt_handler(..)]` accepts.
    pub fn handler_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Tool => TOOL_HANDLER_KEYS,
            Kind::Prompt => PROMPT_HANDLER_KEYS,
        }
    }
}

// The argument names each macro accepts. The parsers check against these lists and quote them in
// their "unknown argument" errors, and a unit test holds the README's macro reference to them.

/// Our own keys of a method attribute, `#[tool(..)]` and `#[prompt(..)]` alike.
pub const METHOD_KEYS: &[&str] = &["requires", "public", "authorize"];

/// rmcp's `#[tool(..)]` keys, passed through untouched.
pub const TOOL_RMCP_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "input_schema",
    "output_schema",
    "annotations",
    "icons",
    "meta",
    "local",
];

/// rmcp's `#[prompt(..)]` keys, passed through untouched.
pub const PROMPT_RMCP_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "arguments",
    "icons",
    "meta",
    "local",
];

/// The requirement grammar's combinators: `any(r, ..)` and `all(r, ..)`.
pub const COMBINATORS: &[&str] = &["any", "all"];

/// `#[mcp_rbac::tool_router(..)]`.
pub const TOOL_ROUTER_KEYS: &[&str] = &[
    "router",
    "vis",
    "server_handler",
    "allow_empty",
    "permissions",
];

/// `#[mcp_rbac::prompt_router(..)]`.
pub const PROMPT_ROUTER_KEYS: &[&str] = &["router", "vis", "permissions"];

/// `#[mcp_rbac::tool_handler(..)]`: `listing` is ours, the rest are rmcp's.
pub const TOOL_HANDLER_KEYS: &[&str] = &[
    "router",
    "meta",
    "listing",
    "name",
    "version",
    "instructions",
];

/// `#[mcp_rbac::prompt_handler(..)]`: `listing` is ours, the rest are rmcp's.
pub const PROMPT_HANDLER_KEYS: &[&str] = &["router", "meta", "listing"];

/// A requirement as written, with spans kept for diagnostics.
pub enum Requirement {
    Permission(LitStr),
    Any(Span, Vec<Requirement>),
    All(Span, Vec<Requirement>),
}

/// Who may call one tool or prompt.
pub enum Access {
    Public,
    Requires(Requirement),
}

/// One `#[tool(..)]` / `#[prompt(..)]` method of the router impl.
pub struct Item {
    /// The method name, used for `{fn}_tool_attr()` and the route handler.
    pub fn_ident: Ident,
    /// `requires` / `public`, validated to be present exactly once.
    pub access: Access,
    /// `authorize = Self::method`: the argument condition, judged after the arguments are parsed.
    pub authorize: Option<Path>,
    /// The attribute's remaining arguments, handed to rmcp's macro as they were written.
    pub passthrough: TokenStream,
    /// Index of the attribute in the method's attribute list (to replace it in place).
    pub attr_index: usize,
}

/// Arguments of `#[mcp_rbac::tool_router(..)]`, the same as rmcp's.
pub struct RouterArgs {
    pub router: Ident,
    pub vis: Visibility,
    pub server_handler: bool,
    pub allow_empty: bool,
    /// `permissions = Perm`: the `mcp_rbac::permissions!` set every `requires` name is checked against.
    pub permissions: Option<Path>,
}

/// One name of a `mcp_rbac::permissions!` declaration: `"Admin.Write"` or `"Admin.Write" as Admin`.
pub struct DeclaredPermission {
    pub name: LitStr,
    pub variant: Ident,
    /// Doc comments and other attributes written before the name, kept on the variant.
    pub attrs: Vec<syn::Attribute>,
}

/// `mcp_rbac::permissions! { pub enum Perm { "Guest.Read", "Admin.Write", .. } }`.
pub struct PermissionSet {
    pub attrs: Vec<syn::Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub names: Vec<DeclaredPermission>,
}

/// Arguments of `#[mcp_rbac::tool_handler(..)]` / `prompt_handler(..)`, the same as rmcp's.
pub struct HandlerArgs {
    /// `router = expr`, evaluated on every request; `None`: `Self::tool_router()` (or
    /// `prompt_router()`), built once per type.
    pub router: Option<Expr>,
    pub meta: Option<Expr>,
    /// `listing = expr`: a `mcp_rbac::guard::Listing`, evaluated on each list request.
    pub listing: Option<Expr>,
    pub name: Option<Expr>,
    pub version: Option<Expr>,
    pub instructions: Option<Expr>,
}

/// A path whose last segment names an attribute, e.g. `tool`, `rmcp::tool`, `mcp_rbac::tool`.
pub fn last_segment_is(path: &Path, name: &str) -> bool {
    path.segments.last().is_some_and(|seg| seg.ident == name)
}
