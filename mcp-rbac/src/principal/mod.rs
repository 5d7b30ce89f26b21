//! Who is calling: the verified subject and what they may do.

mod extract;

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

pub use extract::{principal_from_context, OptionalPrincipal};

use crate::permissions::PermissionSet;

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
    claims: Claims,
}

/// The verified claims, as a map built on first use: most requests never look at them, and
/// parsing a whole token payload into a map costs more than an HMAC signature check.
struct Claims {
    map: OnceLock<Map<String, Value>>,
    /// The token's payload, a JSON object already read once by the verifier.
    json: Vec<u8>,
}

impl Claims {
    fn of_map(map: Map<String, Value>) -> Self {
        Claims {
            map: OnceLock::from(map),
            json: Vec::new(),
        }
    }

    fn get(&self) -> &Map<String, Value> {
        // The verifier parsed these bytes as a JSON object before it accepted them, and
        // `serde_json` reads any such object into a map; an empty map is unreachable here.
        self.map
            .get_or_init(|| serde_json::from_slice(&self.json).unwrap_or_default())
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
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
            claims: Claims::of_map(Map::new()),
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
    pub fn claims(&self) -> &Map<String, Value> {
        self.0.claims.get()
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
    claims: Claims,
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
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Claims::of_map(claims);
        self
    }

    /// Keeps the verified claims as the payload's JSON text (a JSON object the caller has
    /// already parsed), read into a map when first asked for.
    pub(crate) fn claims_json(mut self, json: Vec<u8>) -> Self {
        self.claims = Claims {
            map: OnceLock::new(),
            json,
        };
        self
    }

    /// Room for `n` more exact permissions, before granting them.
    pub(crate) fn reserve_permissions(mut self, n: usize) -> Self {
        self.permissions.reserve(n);
        self
    }

    /// Adds to the permissions with `grant` (a role policy granting roles), without recording
    /// the roles.
    pub(crate) fn grant(mut self, grant: impl FnOnce(&mut PermissionSet)) -> Self {
        grant(&mut self.permissions);
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
