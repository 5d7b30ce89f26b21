//! The example's permissions, declared once, and its roles: admin ⊃ user ⊃ guest, loaded from
//! `examples/products-policy.toml`; and its client ceilings, from `examples/products-clients.toml`.

use mcp_rbac::{ClientPolicy, RolePolicy};

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

/// The client policy as TOML, embedded at build time like the role policy (`rbac-matrix --clients
/// examples/products-clients.toml` renders it).
pub const CLIENTS_TOML: &str = include_str!("../../products-clients.toml");

/// Client `readonly-agent` is capped at `Guest.Read`; clients the policy does not name are not
/// capped.
pub fn client_policy() -> ClientPolicy {
    // Part of the binary, loaded by the tests below like the role policy.
    ClientPolicy::from_toml_str(CLIENTS_TOML)
        .expect("examples/products-clients.toml is a valid client policy")
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

    #[test]
    fn readonly_agent_is_capped_at_guest_read_and_others_are_not() {
        let clients = client_policy();
        assert_eq!(clients.clients(), ["readonly-agent"]);
        assert_eq!(
            clients.ceiling("readonly-agent").map(|c| c.names()),
            Some(vec!["Guest.Read".to_owned()])
        );
        assert!(clients.ceiling("any-other-client").is_none());
        let declared: Vec<&str> = Perm::ALL.iter().map(|p| p.as_str()).collect();
        for client in clients.clients() {
            for name in clients
                .ceiling(client)
                .map(|c| c.names())
                .unwrap_or_default()
            {
                assert!(declared.contains(&name.as_str()), "{client}: {name}");
            }
        }
    }
}
