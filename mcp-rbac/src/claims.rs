//! Verified claims → [`Principal`]: where permissions, scopes and roles live in a token, and the
//! role policy that turns roles into permissions.

use serde_json::{Map, Value};

use crate::policy::RolePolicy;
use crate::principal::{PermissionSet, Principal};
use crate::verify::AuthError;

/// How a claim's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimShape {
    /// A JSON array of strings (`"permissions": ["A", "B"]`).
    Array,
    /// A space-delimited string or an array of strings (`"scope": "a b"`, `"scp": ["a"]`).
    SpaceDelimitedOrArray,
}

/// One place to read names from: a dotted path into the claims (`realm_access.roles`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSource {
    path: String,
    shape: ClaimShape,
}

impl ClaimSource {
    /// Names at `path` (dots separate nested object keys) of the given shape.
    pub fn new(path: impl Into<String>, shape: ClaimShape) -> Self {
        ClaimSource {
            path: path.into(),
            shape,
        }
    }

    /// Reads the names; an absent claim is empty, a claim of the wrong type is an error
    /// (fail closed: a `"permissions": "Admin.Write"` string must not look like a grant).
    fn read(&self, claims: &Map<String, Value>, out: &mut Vec<String>) -> Result<(), AuthError> {
        let mut segments = self.path.split('.');
        let Some(first) = segments.next() else {
            return Ok(());
        };
        let mut value = match claims.get(first) {
            Some(v) => v,
            None => return Ok(()),
        };
        for segment in segments {
            value = match value.get(segment) {
                Some(v) => v,
                None => return Ok(()),
            };
        }
        let wrong = || AuthError::ClaimType {
            claim: self.path.clone(),
            expected: match self.shape {
                ClaimShape::Array => "an array of strings",
                ClaimShape::SpaceDelimitedOrArray => {
                    "a space-delimited string or an array of strings"
                }
            },
        };
        match (value, self.shape) {
            (Value::Null, _) => Ok(()),
            (Value::String(s), ClaimShape::SpaceDelimitedOrArray) => {
                out.extend(s.split(' ').filter(|p| !p.is_empty()).map(str::to_owned));
                Ok(())
            }
            (Value::Array(items), _) => {
                for item in items {
                    match item {
                        Value::String(s) if !s.is_empty() => out.push(s.clone()),
                        _ => return Err(wrong()),
                    }
                }
                Ok(())
            }
            _ => Err(wrong()),
        }
    }
}

/// Where a token keeps permissions, scopes and roles, and what roles grant.
///
/// Effective permissions = direct permission claims ∪ scopes ∪ permissions of roles through the
/// [`RolePolicy`]. A role never grants a permission of its own name unless the policy says so.
/// The default reads `permissions` (array), `scope` and `scp` (string or array) and `roles` (array).
#[derive(Clone, Debug)]
pub struct ClaimsMapping {
    permissions: Vec<ClaimSource>,
    scopes: Vec<ClaimSource>,
    roles: Vec<ClaimSource>,
    policy: RolePolicy,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        ClaimsMapping {
            permissions: vec![ClaimSource::new("permissions", ClaimShape::Array)],
            scopes: vec![
                ClaimSource::new("scope", ClaimShape::SpaceDelimitedOrArray),
                ClaimSource::new("scp", ClaimShape::SpaceDelimitedOrArray),
            ],
            roles: vec![ClaimSource::new("roles", ClaimShape::Array)],
            policy: RolePolicy::empty(),
        }
    }
}

impl ClaimsMapping {
    /// A mapping that reads nothing: add sources with the `with_*` methods.
    pub fn none() -> Self {
        ClaimsMapping {
            permissions: Vec::new(),
            scopes: Vec::new(),
            roles: Vec::new(),
            policy: RolePolicy::empty(),
        }
    }

    /// Also read direct permissions from `source`.
    pub fn with_permissions(mut self, source: ClaimSource) -> Self {
        self.permissions.push(source);
        self
    }

    /// Also read scopes from `source`.
    pub fn with_scopes(mut self, source: ClaimSource) -> Self {
        self.scopes.push(source);
        self
    }

    /// Also read roles from `source`.
    pub fn with_roles(mut self, source: ClaimSource) -> Self {
        self.roles.push(source);
        self
    }

    /// Roles grant permissions through `policy`.
    pub fn with_role_policy(mut self, policy: RolePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The principal these verified claims describe. `sub` must be a string.
    pub fn principal(&self, claims: Map<String, Value>) -> Result<Principal, AuthError> {
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                return Err(AuthError::ClaimType {
                    claim: "sub".into(),
                    expected: "a non-empty string",
                })
            }
            None => return Err(AuthError::MissingClaim("sub".into())),
        };
        let mut permissions = Vec::new();
        for source in &self.permissions {
            source.read(&claims, &mut permissions)?;
        }
        let mut scopes = Vec::new();
        for source in &self.scopes {
            source.read(&claims, &mut scopes)?;
        }
        let mut roles = Vec::new();
        for source in &self.roles {
            source.read(&claims, &mut roles)?;
        }
        let granted: PermissionSet = self.policy.permissions_of(roles.iter().map(String::as_str));
        let mut builder = Principal::builder(subject)
            .permissions(permissions.iter().map(String::as_str))
            .permission_set(&granted)
            .scopes(scopes)
            .roles(roles);
        if let Some(Value::String(iss)) = claims.get("iss") {
            builder = builder.issuer(iss.clone());
        }
        Ok(builder.claims(claims).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Role;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn union_of_permissions_scopes_and_roles() {
        let policy = RolePolicy::new([Role::new("user").grants(["User.Write"])]).unwrap();
        let mapping = ClaimsMapping::default().with_role_policy(policy);
        let p = mapping
            .principal(claims(json!({"sub": "u1", "iss": "i", "permissions": ["A"], "scope": "b c", "scp": ["d"], "roles": ["user", "Admin.Write"]})))
            .unwrap();
        for name in ["A", "b", "c", "d", "User.Write"] {
            assert!(p.has_permission(name), "{name}");
        }
        assert!(
            !p.has_permission("Admin.Write"),
            "a role's name is not a permission"
        );
        assert!(!p.has_permission("user"));
        assert_eq!(p.issuer(), Some("i"));
        assert_eq!(p.roles(), ["user", "Admin.Write"]);
    }

    #[test]
    fn wrong_types_are_errors_not_grants() {
        let mapping = ClaimsMapping::default();
        for bad in [
            json!({"sub": "u", "permissions": "Admin.Write"}),
            json!({"sub": "u", "permissions": [1]}),
            json!({"sub": "u", "scope": 5}),
            json!({"sub": "u", "roles": {"admin": true}}),
            json!({"sub": 7}),
            json!({"permissions": ["A"]}),
        ] {
            assert!(mapping.principal(claims(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let mapping = ClaimsMapping::none()
            .with_roles(ClaimSource::new("realm_access.roles", ClaimShape::Array));
        let p = mapping
            .principal(claims(
                json!({"sub": "u", "realm_access": {"roles": ["x"]}}),
            ))
            .unwrap();
        assert_eq!(p.roles(), ["x"]);
    }
}
