//! Who is calling: the verified subject and what they may do.

mod extract;

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

pub(crate) use extract::principal_in;
pub use extract::{principal_from_context, OptionalPrincipal};

use crate::client_policy::ClientPolicy;
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
    client: Option<String>,
    actors: Vec<Actor>,
    /// The token's `cnf.jkt` (RFC 9449 §6): the thumbprint of the key it is bound to.
    confirmation_jkt: Option<Box<str>>,
    /// Set when a client ceiling applies: what the user holds before it, and the ceiling.
    capped: Option<Box<Capped>>,
}

#[derive(Debug)]
struct Capped {
    uncapped: PermissionSet,
    ceiling: PermissionSet,
}

/// One party of a token's actor chain (RFC 8693 §4.1 `act`): who acts for the subject.
///
/// [`Principal::actors`] lists them from the current actor outward (the token's `act`, then that
/// claim's own `act`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    subject: String,
    client_id: Option<String>,
    issuer: Option<String>,
}

impl Actor {
    /// An actor identified by `subject` (the `act` claim's `sub`).
    pub fn new(subject: impl Into<String>) -> Self {
        Actor {
            subject: subject.into(),
            client_id: None,
            issuer: None,
        }
    }

    /// Sets the OAuth client the actor used (the `act` claim's `client_id`).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the issuer of the actor's identity (the `act` claim's `iss`).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The actor's `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The actor's `client_id`, when the claim names one.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The actor's `iss`, when the claim names one.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

/// The verified claims, as a map built on first use: most requests never look at them, and
/// parsing a whole token payload into a map costs more than an HMAC signature check.
#[derive(Clone)]
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
            client: None,
            actors: Vec::new(),
            confirmation_jkt: None,
            client_policy: None,
        }
    }

    /// The JWK SHA-256 thumbprint (RFC 7638) the token is bound to, from its `cnf.jkt` claim
    /// (RFC 9449 §6): such a token is used only with a DPoP proof signed by that key.
    pub fn confirmation_jkt(&self) -> Option<&str> {
        self.0.confirmation_jkt.as_deref()
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The token's `iss`, when it came from a token.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// Effective permissions: direct permission claims ∪ scopes ∪ what the role policy grants,
    /// then ∩ the ceilings of the [client policy](crate::ClientPolicy), if one applies.
    pub fn permissions(&self) -> &PermissionSet {
        &self.0.permissions
    }

    /// What the user holds before client ceilings: [`permissions`](Self::permissions) when no
    /// ceiling applies.
    pub fn uncapped_permissions(&self) -> &PermissionSet {
        match &self.0.capped {
            Some(capped) => &capped.uncapped,
            None => &self.0.permissions,
        }
    }

    /// The ceiling the [client policy](crate::ClientPolicy) put on this principal (its client's,
    /// ∩ those of the clients in its actor chain), or `None` when nothing caps it.
    pub fn client_ceiling(&self) -> Option<&PermissionSet> {
        self.0.capped.as_ref().map(|capped| &capped.ceiling)
    }

    /// The OAuth client the token was issued to: `azp`, else `client_id`.
    pub fn client(&self) -> Option<&str> {
        self.0.client.as_deref()
    }

    /// The actor chain of a delegated token (RFC 8693 `act`), current actor first; empty when
    /// the token acts for nobody else.
    pub fn actors(&self) -> &[Actor] {
        &self.0.actors
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

    /// This principal under `policy`'s ceilings, in place of any applied before: for a verifier
    /// that does not apply a client policy itself.
    pub fn with_client_policy(&self, policy: &ClientPolicy) -> Principal {
        let inner = &self.0;
        PrincipalBuilder {
            subject: inner.subject.clone(),
            issuer: inner.issuer.clone(),
            permissions: self.uncapped_permissions().clone(),
            roles: inner.roles.clone(),
            scopes: inner.scopes.clone(),
            claims: inner.claims.clone(),
            client: inner.client.clone(),
            actors: inner.actors.clone(),
            confirmation_jkt: inner.confirmation_jkt.clone(),
            client_policy: Some(policy.clone()),
        }
        .build()
    }

    /// Whether the effective permissions hold `permission` (exact, or under a policy wildcard):
    /// the user holds it and every client ceiling allows it.
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
    client: Option<String>,
    actors: Vec<Actor>,
    confirmation_jkt: Option<Box<str>>,
    client_policy: Option<ClientPolicy>,
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

    /// Sets the OAuth client the token was issued to (`azp`, else `client_id`).
    pub fn client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
        self
    }

    /// Sets the actor chain (RFC 8693 `act`), current actor first.
    pub fn actors(mut self, actors: impl IntoIterator<Item = Actor>) -> Self {
        self.actors = actors.into_iter().collect();
        self
    }

    /// Binds the principal's token to a DPoP key: `jkt` is its RFC 7638 thumbprint (the
    /// token's `cnf.jkt`, RFC 9449 §6). The bearer layer then asks for a proof signed by it.
    pub fn confirmation_jkt(mut self, jkt: impl Into<String>) -> Self {
        self.confirmation_jkt = Some(jkt.into().into_boxed_str());
        self
    }

    /// Caps the permissions with `policy`'s ceilings for the client and the actor chain, when
    /// the principal is built (so after every grant).
    pub fn client_policy(mut self, policy: &ClientPolicy) -> Self {
        self.client_policy = Some(policy.clone());
        self
    }

    /// The principal.
    pub fn build(self) -> Principal {
        let ceiling = self.client_policy.as_ref().and_then(|policy| {
            let actor_clients = self.actors.iter().filter_map(Actor::client_id);
            policy.ceiling_of(self.client.as_deref(), actor_clients)
        });
        let (permissions, capped) = match ceiling {
            Some(ceiling) => (
                self.permissions.intersection(&ceiling),
                Some(Box::new(Capped {
                    uncapped: self.permissions,
                    ceiling,
                })),
            ),
            None => (self.permissions, None),
        };
        Principal(Arc::new(Inner {
            subject: self.subject,
            issuer: self.issuer,
            permissions,
            roles: self.roles,
            scopes: self.scopes,
            claims: self.claims,
            client: self.client,
            actors: self.actors,
            confirmation_jkt: self.confirmation_jkt,
            capped,
        }))
    }
}
