//! Typed permissions: `mcp_rbac::permissions!` declares a set of names once, and
//! `#[mcp_rbac::tool_router(permissions = Perm)]` rejects, at compile time, any `requires` name the
//! set does not declare. At run time a typed router checks its rules as strings, as any other.

/// A permission enum declared with `mcp_rbac::permissions!`. Implemented by that macro only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission set",
    label = "not declared with `mcp_rbac::permissions!`",
    note = "declare it once: `mcp_rbac::permissions! {{ pub enum {Self} {{ \"Guest.Read\", \"Admin.Write\" }} }}`"
)]
pub trait PermissionEnum: Copy + 'static {
    /// Every name, in declaration order. At most 128 (the macro checks).
    const NAMES: &'static [&'static str];
}

/// Compiles only for a set declared with `mcp_rbac::permissions!`: what a router with
/// `permissions = P` calls, so another type gets the message above.
pub const fn permission_set<P: PermissionEnum>() {}
