//! The example's permissions, declared once, and its roles: admin ⊃ user ⊃ guest, loaded from
//! `examples/products-policy.toml`.

use mcp_rbac::RolePolicy;

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

/// The role policy as TOML, embedded at build time: the file reviewers read (and `rbac-matrix
/// --policy examples/products-policy.toml` renders) is byte for byte what the server enforces.
pub const POLICY_TOML: &str = include_str!("../../products-policy.toml");

/// `guest` reads the catalogue; `user` also writes products and uses prompts; `admin` also deletes.
pub fn role_policy() -> RolePolicy {
    // The text is part of the binary, not input: the tests below load it, so a broken file fails
    // `cargo test` rather than a start.
    RolePolicy::from_toml_str(POLICY_TOML)
        .expect("examples/products-policy.toml is a valid role policy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_admin_over_user_over_guest() {
        let policy = role_policy();
        assert_eq!(policy.roles(), ["admin", "guest", "user"]);
        assert_eq!(policy.permissions_of(["guest"]).names(), ["Guest.Read"]);
        assert_eq!(
            policy.permissions_of(["user"]).names(),
            ["Guest.Read", "User.Read", "User.Write"]
        );
        assert_eq!(
            policy.permissions_of(["admin"]).names(),
            [
                "Admin.Read",
                "Admin.Write",
                "Guest.Read",
                "User.Read",
                "User.Write"
            ]
        );
    }

    #[test]
    fn every_granted_permission_is_declared() {
        let policy = role_policy();
        let declared: Vec<&str> = Perm::ALL.iter().map(|p| p.as_str()).collect();
        for role in policy.roles() {
            for granted in policy.permissions_of([role]).names() {
                assert!(
                    declared.contains(&granted.as_str()),
                    "role `{role}` grants `{granted}`, which `Perm` does not declare"
                );
            }
        }
        // And every declared permission is granted to someone: admin holds them all.
        assert_eq!(
            policy.permissions_of(["admin"]).names().len(),
            declared.len()
        );
    }
}
