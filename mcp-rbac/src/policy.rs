//! Roles to permissions: inheritance and `Prefix.*` wildcards, resolved once at load so a check
//! never walks the hierarchy.

use std::collections::{BTreeMap, HashMap};

use crate::principal::PermissionSet;

/// One role: the permissions it grants and the roles it inherits from.
///
/// ```
/// use mcp_rbac::{Role, RolePolicy};
///
/// let policy = RolePolicy::new([
///     Role::new("guest").grants(["Guest.Read"]),
///     Role::new("user").inherits(["guest"]).grants(["User.Read", "User.Write"]),
///     Role::new("admin").inherits(["user"]).grants(["Admin.*"]),
/// ])
/// .unwrap();
/// let admin = policy.permissions_of(["admin"]);
/// assert!(admin.contains("Guest.Read") && admin.contains("Admin.Write"));
/// assert!(!policy.permissions_of(["guest"]).contains("User.Read"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    name: String,
    grants: Vec<String>,
    inherits: Vec<String>,
}

impl Role {
    /// A role granting nothing yet.
    pub fn new(name: impl Into<String>) -> Self {
        Role {
            name: name.into(),
            grants: Vec::new(),
            inherits: Vec::new(),
        }
    }

    /// Permissions this role grants; `Prefix.*` grants every name under `Prefix.`.
    pub fn grants(mut self, permissions: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.grants.extend(permissions.into_iter().map(Into::into));
        self
    }

    /// Roles whose permissions this role also has.
    pub fn inherits(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.inherits.extend(roles.into_iter().map(Into::into));
        self
    }
}

/// Why a policy does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // each field is named in its variant's message
pub enum PolicyError {
    /// A role inherits from a role the policy does not define.
    #[error("role `{role}` inherits from `{parent}`, which is not defined")]
    UnknownParent { role: String, parent: String },
    /// Inheritance loops back on itself.
    #[error("role inheritance forms a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// The same role name twice.
    #[error("role `{0}` is defined twice")]
    DuplicateRole(String),
    /// A grant that cannot name a permission (empty, whitespace, `*` anywhere but a trailing `.*`).
    #[error("role `{role}` grants `{permission}`, which is not a permission name or a `Prefix.*` wildcard")]
    InvalidGrant { role: String, permission: String },
}

/// Roles → effective permission sets, precomputed.
#[derive(Clone, Debug, Default)]
pub struct RolePolicy {
    resolved: HashMap<String, PermissionSet>,
}

impl RolePolicy {
    /// A policy that grants nothing: roles in tokens are ignored.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Validates and resolves `roles`.
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Result<Self, PolicyError> {
        let mut by_name: BTreeMap<String, Role> = BTreeMap::new();
        for role in roles {
            for grant in &role.grants {
                if !valid_grant(grant) {
                    return Err(PolicyError::InvalidGrant {
                        role: role.name.clone(),
                        permission: grant.clone(),
                    });
                }
            }
            if by_name.contains_key(&role.name) {
                return Err(PolicyError::DuplicateRole(role.name));
            }
            by_name.insert(role.name.clone(), role);
        }
        for role in by_name.values() {
            if let Some(parent) = role.inherits.iter().find(|p| !by_name.contains_key(*p)) {
                return Err(PolicyError::UnknownParent {
                    role: role.name.clone(),
                    parent: parent.clone(),
                });
            }
        }
        let mut resolved = HashMap::new();
        for name in by_name.keys() {
            let mut path = Vec::new();
            resolve(name, &by_name, &mut resolved, &mut path)?;
        }
        Ok(RolePolicy { resolved })
    }

    /// The union of what `roles` grant; unknown roles grant nothing.
    pub fn permissions_of<'a>(&self, roles: impl IntoIterator<Item = &'a str>) -> PermissionSet {
        let mut set = PermissionSet::new();
        for role in roles {
            if let Some(granted) = self.resolved.get(role) {
                set.extend(granted);
            }
        }
        set
    }

    /// Whether the policy defines `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.resolved.contains_key(role)
    }
}

fn valid_grant(grant: &str) -> bool {
    let base = grant.strip_suffix(".*").unwrap_or(grant);
    crate::requirement::is_valid_permission_name(base)
}

/// Depth-first resolution with the current path for cycle reports; each role resolved once.
fn resolve(
    name: &str,
    roles: &BTreeMap<String, Role>,
    resolved: &mut HashMap<String, PermissionSet>,
    path: &mut Vec<String>,
) -> Result<(), PolicyError> {
    if resolved.contains_key(name) {
        return Ok(());
    }
    if let Some(start) = path.iter().position(|p| p == name) {
        let mut cycle = path[start..].to_vec();
        cycle.push(name.to_owned());
        return Err(PolicyError::Cycle(cycle));
    }
    let Some(role) = roles.get(name) else {
        return Ok(());
    };
    path.push(name.to_owned());
    let mut set = PermissionSet::new();
    for grant in &role.grants {
        match grant.strip_suffix('*') {
            Some(prefix) => set.insert_prefix(prefix),
            None => set.insert(grant),
        }
    }
    for parent in &role.inherits {
        resolve(parent, roles, resolved, path)?;
        if let Some(inherited) = resolved.get(parent) {
            set.extend(&inherited.clone());
        }
    }
    path.pop();
    resolved.insert(name.to_owned(), set);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parent_and_cycle_are_named() {
        let err = RolePolicy::new([Role::new("user").inherits(["guest"])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "role `user` inherits from `guest`, which is not defined"
        );
        let err = RolePolicy::new([
            Role::new("a").inherits(["b"]),
            Role::new("b").inherits(["c"]),
            Role::new("c").inherits(["a"]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "role inheritance forms a cycle: a -> b -> c -> a"
        );
    }

    #[test]
    fn wildcards_grant_only_below_their_prefix() {
        let policy = RolePolicy::new([Role::new("admin").grants(["Admin.*"])]).unwrap();
        let set = policy.permissions_of(["admin"]);
        assert!(set.contains("Admin.Write"));
        assert!(!set.contains("Admin."));
        assert!(!set.contains("Admin"));
        assert!(!set.contains("AdminX.Write"));
        assert!(!set.contains("admin.write"));
    }

    #[test]
    fn a_role_name_is_not_a_permission() {
        let policy = RolePolicy::new([Role::new("Admin.Write").grants(["Guest.Read"])]).unwrap();
        let set = policy.permissions_of(["Admin.Write"]);
        assert!(!set.contains("Admin.Write"));
        assert!(set.contains("Guest.Read"));
    }

    #[test]
    fn bad_grants_are_refused() {
        for bad in ["", "A B", "*.Write", "Adm*n", "A*"] {
            assert!(
                RolePolicy::new([Role::new("r").grants([bad])]).is_err(),
                "{bad:?}"
            );
        }
    }
}
