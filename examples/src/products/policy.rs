//! The example's roles: admin ⊃ user ⊃ guest.

use mcp_rbac::{Role, RolePolicy};

/// `guest` reads the catalogue; `user` also writes products and uses prompts; `admin` also deletes.
pub fn role_policy() -> RolePolicy {
    RolePolicy::new([
        Role::new("guest").grants(["Guest.Read"]),
        Role::new("user")
            .inherits(["guest"])
            .grants(["User.Read", "User.Write"]),
        Role::new("admin")
            .inherits(["user"])
            .grants(["Admin.Read", "Admin.Write"]),
    ])
    .expect("the example policy is well-formed")
}
