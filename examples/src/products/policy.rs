//! The example's permissions, declared once, and its roles: admin ⊃ user ⊃ guest.

use mcp_rbac::{Role, RolePolicy};

mcp_rbac::permissions! {
    /// Every permission the products server checks or grants. `server.rs` names this set in
    /// `#[mcp_rbac::tool_router(permissions = Perm)]`, so a misspelled `requires` does not compile.
    pub enum Perm {
        "Guest.Read",
        "User.Read",
        "User.Write",
        "Admin.Read",
        "Admin.Write",
    }
}

/// `guest` reads the catalogue; `user` also writes products and uses prompts; `admin` also deletes.
pub fn role_policy() -> RolePolicy {
    RolePolicy::new([
        Role::new("guest").grants([Perm::GuestRead]),
        Role::new("user")
            .inherits(["guest"])
            .grants([Perm::UserRead, Perm::UserWrite]),
        Role::new("admin")
            .inherits(["user"])
            .grants([Perm::AdminRead, Perm::AdminWrite]),
    ])
    .expect("the example policy is well-formed")
}
