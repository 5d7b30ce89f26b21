//! Who is calling: the verified subject and what they may do.

mod extract;
mod permissions;

use std::sync::Arc;

pub use extract::{principal_from_context, OptionalPrincipal};
pub use permissions::PermissionSet;

/// An authenticated caller, made by a [verifier](crate::verify) from a token and put into the
/// request by the [bearer layer](crate::bearer). Cheap to clone.
///
/// Use it as a tool parameter to learn who is calling (a missing principal answers JSON-RPC 401):
///
/// ```
/// # use mcp_rbac::Principal;
/// # struct S;
/// # impl S {
/// async fn whoami(&self, caller: Principal) -> String {
///     format!("{} ({})", caller.subject(), caller.permissions().names().join(", "))
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Principal(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    subject: String,
    issuer: Option<String>,
    permissions: PermissionSet,
    roles: Vec<String>,
    scopes: Vec<String>,
    claims: serde_json::Map<String, serde_json::Value>,
}

impl Principal {
    /// Starts a principal for `subject`: for tests, stdio servers and custom verifiers.
    pub fn builder(subject: impl Into<String>) -> PrincipalBuilder {
        PrincipalBuilder {
            subject: subject.into(),
            issuer: None,
            permissions: PermissionSet::new(),
            roles: Vec::new(),
            scopes: Vec::new(),
            claims: serde_json::Map::new(),
        }
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The token's `iss`, when it came from a token.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// Effective permissions: direct permission claims ∪ scopes ∪ what the role policy grants.
    pub fn permissions(&self) -> &PermissionSet {
        &self.0.permissions
    }

    /// Roles as the token stated them (they grant only through a role policy).
    pub fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// OAuth scopes as the token stated them.
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// All verified claims, for application use.
    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0.claims
    }

    /// Whether the effective permissions hold `permission` (exact, or under a policy wildcard).
    pub fn has_permission(&self, permission: &str) -> bool {
        self.0.permissions.contains(permission)
    }
}

/// Builds a [`Principal`].
#[derive(Debug)]
pub struct PrincipalBuilder {
    subject: String,
    issuer: Option<String>,
    permissions: PermissionSet,
    roles: Vec<String>,
    scopes: Vec<String>,
    claims: serde_json::Map<String, serde_json::Value>,
}

impl PrincipalBuilder {
    /// Sets the issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Grants exact permissions.
    pub fn permissions<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        names.into_iter().for_each(|n| self.permissions.insert(n));
        self
    }

    /// Grants a whole effective set (e.g. from a role policy).
    pub fn permission_set(mut self, set: &PermissionSet) -> Self {
        self.permissions.extend(set);
        self
    }

    /// Records roles (they do not grant by themselves).
    pub fn roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Records scopes and grants them as permissions of the same name, as OAuth intends.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        for scope in scopes {
            let scope = scope.into();
            self.permissions.insert(&scope);
            self.scopes.push(scope);
        }
        self
    }

    /// Keeps the verified claims.
    pub fn claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        self.claims = claims;
        self
    }

    /// The principal.
    pub fn build(self) -> Principal {
        Principal(Arc::new(Inner {
            subject: self.subject,
            issuer: self.issuer,
            permissions: self.permissions,
            roles: self.roles,
            scopes: self.scopes,
            claims: self.claims,
        }))
    }
}
