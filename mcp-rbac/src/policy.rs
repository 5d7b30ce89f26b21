//! Roles to permissions: inheritance and `Prefix.*` wildcards, resolved once at load so a check
//! never walks the hierarchy.

use std::collections::{BTreeMap, HashMap};

use crate::permissions::PermissionSet;

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
///
/// A file that cannot be read keeps the operating system's error as its
/// [`source`](std::error::Error::source):
///
/// ```
/// use std::error::Error;
///
/// use mcp_rbac::{PolicyError, RolePolicy};
///
/// let err = RolePolicy::from_toml_file("/nonexistent/roles.toml").unwrap_err();
/// let PolicyError::Read { path, source } = &err else { panic!("{err}") };
/// assert_eq!(path, "/nonexistent/roles.toml");
/// assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.source().is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A TOML policy that does not parse, or has a key the policy format does not know. `line`
    /// and `column` count from 1, columns in characters.
    #[error("role policy TOML{}: {message}", location(*.line, *.column))]
    Toml {
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    /// A policy file that cannot be read.
    #[error("cannot read role policy file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
        (Some(line), None) => format!(" at line {line}"),
        _ => String::new(),
    }
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
        self.grant_to(roles, &mut set);
        set
    }

    /// Adds what `roles` grant to `set`.
    pub(crate) fn grant_to<'a>(
        &self,
        roles: impl IntoIterator<Item = &'a str>,
        set: &mut PermissionSet,
    ) {
        for role in roles {
            if let Some(granted) = self.resolved.get(role) {
                set.extend(granted);
            }
        }
    }

    /// Loads a policy written in TOML: one `[roles.<name>]` table per role, with optional
    /// `permissions` (grants, `Prefix.*` allowed) and `inherits` (parent roles). Unknown keys,
    /// unknown parents, cycles and invalid grants are errors, TOML errors carry line and column.
    ///
    /// ```
    /// use mcp_rbac::RolePolicy;
    ///
    /// let policy = RolePolicy::from_toml_str(
    ///     r#"
    ///     [roles.guest]
    ///     permissions = ["Guest.Read"]
    ///
    ///     [roles.user]
    ///     inherits = ["guest"]
    ///     permissions = ["User.Read", "User.Write"]
    ///
    ///     [roles.admin]
    ///     inherits = ["user"]
    ///     permissions = ["Admin.*"]
    ///     "#,
    /// )
    /// .unwrap();
    /// assert!(policy.permissions_of(["admin"]).contains("Guest.Read"));
    ///
    /// let typo = RolePolicy::from_toml_str("[roles.guest]\npermission = [\"Guest.Read\"]\n");
    /// assert!(typo.unwrap_err().to_string().starts_with("role policy TOML at line 2, column 1:"));
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml_str(toml: &str) -> Result<Self, PolicyError> {
        let file: toml_format::PolicyFile = ::toml::from_str(toml).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(toml, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            PolicyError::Toml {
                message: e.message().trim_end().to_owned(),
                line,
                column,
            }
        })?;
        RolePolicy::new(file.roles.into_iter().map(|(name, role)| {
            Role::new(name)
                .grants(role.permissions)
                .inherits(role.inherits)
        }))
    }

    /// Reads and loads a TOML policy file (see [`from_toml_str`](Self::from_toml_str)).
    ///
    /// ```no_run
    /// let policy = mcp_rbac::RolePolicy::from_toml_file("roles.toml")?;
    /// # Ok::<(), mcp_rbac::PolicyError>(())
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Whether the policy defines `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.resolved.contains_key(role)
    }

    /// Every role the policy defines, sorted by name.
    ///
    /// ```
    /// use mcp_rbac::{Role, RolePolicy};
    ///
    /// let policy = RolePolicy::new([Role::new("user"), Role::new("admin").inherits(["user"])])?;
    /// assert_eq!(policy.roles(), ["admin", "user"]);
    /// # Ok::<(), mcp_rbac::PolicyError>(())
    /// ```
    pub fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = self.resolved.keys().map(String::as_str).collect();
        roles.sort_unstable();
        roles
    }
}

#[cfg(feature = "toml")]
mod toml_format {
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct PolicyFile {
        pub(super) roles: BTreeMap<String, RoleEntry>,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RoleEntry {
        #[serde(default)]
        pub(super) permissions: Vec<String>,
        #[serde(default)]
        pub(super) inherits: Vec<String>,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
#[cfg(feature = "toml")]
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

pub(crate) fn valid_grant(grant: &str) -> bool {
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
    fn nested_wildcards_cover_every_name_below_any_dot() {
        let policy =
            RolePolicy::new([Role::new("ops").grants(["Svc.Deploy.*", "Reports.*"])]).unwrap();
        let set = policy.permissions_of(["ops"]);
        assert!(set.contains("Svc.Deploy.Prod"));
        assert!(set.contains("Svc.Deploy.Prod.Eu"));
        assert!(set.contains("Reports.Q3.Read"));
        assert!(!set.contains("Svc.Deploy"));
        assert!(!set.contains("Svc.Deploy."));
        assert!(!set.contains("Svc.Read"));
        assert!(!set.contains("Svc.DeployX.Prod"));
        assert!(!set.contains("X.Reports.Q3"));
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

    #[cfg(feature = "toml")]
    const PRODUCTS: &str = r#"
[roles.guest]
permissions = ["Guest.Read"]

[roles.user]
inherits = ["guest"]
permissions = ["User.Read", "User.Write"]

[roles.admin]
inherits = ["user"]
permissions = ["Admin.*"]
"#;

    #[cfg(feature = "toml")]
    #[test]
    fn toml_policy_resolves_like_the_builder() {
        let policy = RolePolicy::from_toml_str(PRODUCTS).unwrap();
        assert_eq!(policy.permissions_of(["guest"]).names(), ["Guest.Read"]);
        assert_eq!(
            policy.permissions_of(["user"]).names(),
            ["Guest.Read", "User.Read", "User.Write"]
        );
        assert_eq!(
            policy.permissions_of(["admin"]).names(),
            ["Guest.Read", "User.Read", "User.Write", "Admin.*"]
        );
        assert!(!policy.has_role("root"));
        // A role with neither key grants nothing but exists.
        let policy = RolePolicy::from_toml_str("[roles.nobody]\n").unwrap();
        assert!(policy.has_role("nobody"));
        assert!(policy.permissions_of(["nobody"]).is_empty());
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_policy_validation_errors() {
        let err = RolePolicy::from_toml_str(
            "[roles.user]\ninherits = [\"guest\"]\npermissions = [\"User.Read\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            PolicyError::UnknownParent {
                role: "user".into(),
                parent: "guest".into()
            }
            .to_string()
        );
        let err = RolePolicy::from_toml_str(
            "[roles.a]\ninherits = [\"b\"]\n[roles.b]\ninherits = [\"c\"]\n[roles.c]\ninherits = [\"a\"]\n[roles.d]\ninherits = [\"a\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "role inheritance forms a cycle: a -> b -> c -> a"
        );
        let err = RolePolicy::from_toml_str("[roles.me]\ninherits = [\"me\"]\n").unwrap_err();
        assert!(
            matches!(&err, PolicyError::Cycle(path) if path == &["me", "me"]),
            "{err}"
        );
        let err =
            RolePolicy::from_toml_str("[roles.admin]\npermissions = [\"Admin*\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            PolicyError::InvalidGrant {
                role: "admin".into(),
                permission: "Admin*".into()
            }
            .to_string()
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_syntax_errors_carry_line_and_column() {
        let err = RolePolicy::from_toml_str("[roles.guest]\npermissions = [\"Guest.Read\"\n")
            .unwrap_err();
        let PolicyError::Toml { line, column, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*line, *column), (Some(2), Some(28)), "{err}");
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 2, column 28: unclosed array, expected `]`"
        );

        let err =
            RolePolicy::from_toml_str("[roles.guest]\npermissions = [\"A\"]\n[roles.guest]\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 3, column 8: duplicate key",
            "a role defined twice"
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_unknown_keys_and_wrong_types_are_refused() {
        let err = RolePolicy::from_toml_str("[roles.guest]\npermission = [\"Guest.Read\"]\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            PolicyError::Toml {
                message: "unknown field `permission`, expected `permissions` or `inherits`".into(),
                line: Some(2),
                column: Some(1),
            }
            .to_string()
        );
        let err = RolePolicy::from_toml_str("[role.guest]\npermissions = []\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 1, column 2: unknown field `role`, expected `roles`"
        );
        let err = RolePolicy::from_toml_str("version = 2\n[roles.guest]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 1, column 1: unknown field `version`, expected `roles`"
        );
        let err =
            RolePolicy::from_toml_str("[roles.guest]\npermissions = \"Guest.Read\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 2, column 15: invalid type: string \"Guest.Read\", expected a sequence"
        );
        let err = RolePolicy::from_toml_str("").unwrap_err();
        assert_eq!(
            err.to_string(),
            "role policy TOML at line 1, column 1: missing field `roles`"
        );
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_files_are_read_and_a_missing_file_is_named() {
        let dir = std::env::temp_dir().join(format!("mcp-rbac-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("roles.toml");
        std::fs::write(&path, PRODUCTS).unwrap();
        let policy = RolePolicy::from_toml_file(&path).unwrap();
        assert!(policy.permissions_of(["admin"]).contains("Admin.Delete"));
        std::fs::remove_file(&path).unwrap();
        let err = RolePolicy::from_toml_file(&path).unwrap_err();
        let PolicyError::Read { path: named, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(named, &path.display().to_string());
        let _ = std::fs::remove_dir(&dir);
    }

    #[cfg(feature = "toml")]
    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncdé f", 0), (1, 1));
        assert_eq!(line_column("ab\ncdé f", 3), (2, 1));
        assert_eq!(line_column("ab\ncdé f", "ab\ncdé ".len()), (2, 5));
    }
}
