//! Verified claims → [`Principal`]: where permissions, scopes and roles live in a token, and the
//! role policy that turns roles into permissions.

mod view;

use serde_json::{Map, Value};

use crate::client_policy::ClientPolicy;
use crate::error::AuthError;
use crate::policy::RolePolicy;
use crate::principal::{Actor, Principal, PrincipalBuilder};

pub(crate) use view::{ClaimObject, ClaimValue};

/// How a claim's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimShape {
    /// A JSON array of strings (`"permissions": ["A", "B"]`).
    Array,
    /// A space-delimited string or an array of strings (`"scope": "a b"`, `"scp": ["a"]`).
    SpaceDelimitedOrArray,
    /// A space-delimited string only (`"scope": "openid profile"`), as OAuth's `scope` is.
    SpaceDelimited,
}

impl ClaimShape {
    fn expected(self) -> &'static str {
        match self {
            ClaimShape::Array => "an array of strings",
            ClaimShape::SpaceDelimitedOrArray => "a space-delimited string or an array of strings",
            ClaimShape::SpaceDelimited => "a space-delimited string",
        }
    }
}

/// One place to read names from: a path of object keys into the claims.
///
/// [`ClaimSource::new`] takes a dotted path (`realm_access.roles`). A key that itself contains
/// dots is found too: at each level the longest key the path spells is tried first, so
/// `https://mcp.example/roles` (an Auth0-style namespaced claim) reads that top-level claim.
/// [`ClaimSource::from_segments`] takes the keys one by one and never splits them, for names
/// you do not control (a Keycloak client id such as `mcp-products.api`).
///
/// ```
/// use mcp_rbac::{ClaimShape, ClaimSource, ClaimsMapping};
/// use serde_json::json;
///
/// let mapping = ClaimsMapping::none()
///     .with_roles(ClaimSource::new("realm_access.roles", ClaimShape::Array))
///     .with_roles(ClaimSource::from_segments(
///         ["resource_access", "mcp-products.api", "roles"],
///         ClaimShape::Array,
///     ));
/// let claims = json!({
///     "sub": "alice",
///     "realm_access": {"roles": ["user"]},
///     "resource_access": {"mcp-products.api": {"roles": ["admin"]}},
/// });
/// let alice = mapping.principal(claims.as_object().unwrap().clone()).unwrap();
/// assert_eq!(alice.roles(), ["user", "admin"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSource {
    path: ClaimPath,
    shape: ClaimShape,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ClaimPath {
    /// Dots separate keys; keys containing dots are matched longest first.
    Dotted(String),
    /// Exact keys, outermost first.
    Segments(Vec<String>),
}

impl ClaimSource {
    /// Names at the dotted `path` (dots separate nested object keys; a key containing dots is
    /// matched whole when the claims have it) of the given shape.
    pub fn new(path: impl Into<String>, shape: ClaimShape) -> Self {
        ClaimSource {
            path: ClaimPath::Dotted(path.into()),
            shape,
        }
    }

    /// Names under exactly these object keys, outermost first; no key is split at dots.
    pub fn from_segments(
        segments: impl IntoIterator<Item = impl Into<String>>,
        shape: ClaimShape,
    ) -> Self {
        ClaimSource {
            path: ClaimPath::Segments(segments.into_iter().map(Into::into).collect()),
            shape,
        }
    }

    /// The path as errors name it: keys joined by dots.
    pub fn path(&self) -> String {
        match &self.path {
            ClaimPath::Dotted(path) => path.clone(),
            ClaimPath::Segments(segments) => segments.join("."),
        }
    }

    /// The shape the value must have.
    pub fn shape(&self) -> ClaimShape {
        self.shape
    }

    /// The value at the path: `None` when absent (or `null` on the way), an error when a key on
    /// the way holds something other than an object.
    fn find<'c, 'j>(
        &self,
        claims: &'c ClaimObject<'j>,
    ) -> Result<Option<&'c ClaimValue<'j>>, AuthError> {
        match &self.path {
            ClaimPath::Dotted(path) => find_dotted(claims, path, path),
            ClaimPath::Segments(segments) => {
                let Some((last, parents)) = segments.split_last() else {
                    return Ok(None);
                };
                let mut object = claims;
                for (depth, key) in parents.iter().enumerate() {
                    match object.get(key) {
                        None | Some(ClaimValue::Null) => return Ok(None),
                        Some(ClaimValue::Object(inner)) => object = inner,
                        Some(_) => return Err(not_an_object(segments[..=depth].join("."))),
                    }
                }
                Ok(object.get(last))
            }
        }
    }

    /// Reads the names; an absent claim is empty, a claim of the wrong type is an error
    /// (fail closed: a `"permissions": "Admin.Write"` string must not look like a grant).
    fn read<'c>(
        &self,
        claims: &'c ClaimObject<'_>,
        out: &mut Vec<&'c str>,
    ) -> Result<(), AuthError> {
        let Some(value) = self.find(claims)? else {
            return Ok(());
        };
        let wrong = || AuthError::ClaimType {
            claim: self.path(),
            expected: self.shape.expected(),
        };
        match (value, self.shape) {
            (ClaimValue::Null, _) => Ok(()),
            (
                ClaimValue::String(s),
                ClaimShape::SpaceDelimitedOrArray | ClaimShape::SpaceDelimited,
            ) => {
                out.extend(s.split(' ').filter(|p| !p.is_empty()));
                Ok(())
            }
            (ClaimValue::Array(items), ClaimShape::Array | ClaimShape::SpaceDelimitedOrArray) => {
                for item in items {
                    match item {
                        ClaimValue::String(s) if !s.is_empty() => out.push(s),
                        _ => return Err(wrong()),
                    }
                }
                Ok(())
            }
            _ => Err(wrong()),
        }
    }
}

/// `rest` is the part of `full` still to walk from `object`. The whole remaining key is tried
/// first, then ever shorter dotted prefixes of it, each continuing into a nested object.
fn find_dotted<'c, 'j>(
    object: &'c ClaimObject<'j>,
    rest: &str,
    full: &str,
) -> Result<Option<&'c ClaimValue<'j>>, AuthError> {
    if let Some(value) = object.get(rest) {
        return Ok(Some(value));
    }
    for (dot, _) in rest.rmatch_indices('.') {
        let (key, tail) = (&rest[..dot], &rest[dot + 1..]);
        match object.get(key) {
            None | Some(ClaimValue::Null) => {}
            Some(ClaimValue::Object(inner)) => {
                if let Some(found) = find_dotted(inner, tail, full)? {
                    return Ok(Some(found));
                }
            }
            Some(_) => {
                let walked = full.len() - rest.len() + dot;
                return Err(not_an_object(full[..walked].to_owned()));
            }
        }
    }
    Ok(None)
}

fn not_an_object(claim: String) -> AuthError {
    AuthError::ClaimType {
        claim,
        expected: "an object",
    }
}

/// Which claims tell an access token from an ID token (or a refresh token) of the same issuer
/// and audience. See [`ClaimsMapping`], "Access tokens only".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenUse {
    /// No OpenID Connect ID-token claim (`nonce`, `at_hash`, `c_hash`), no `token_use` other
    /// than `access`, no `typ` claim naming another kind of token.
    Oidc,
    /// Keycloak: `typ` is `Bearer`.
    Keycloak,
    /// Cognito: `token_use` is `access`, and the OIDC rule.
    Cognito,
    /// Entra ID: `azp` (v2) or `appid` (v1) names the client, and the OIDC rule.
    EntraId,
    /// Okta: `cid` names the client, and the OIDC rule.
    Okta,
    /// Not checked ([`ClaimsMapping::accept_id_tokens`]).
    Off,
}

/// Claims only OpenID Connect ID tokens carry (OpenID Connect Core 1.0 §2, §3.1.3.6, §3.3.2.11).
const ID_TOKEN_CLAIMS: [&str; 3] = ["nonce", "at_hash", "c_hash"];

impl TokenUse {
    fn check(self, claims: &ClaimObject<'_>) -> Result<(), AuthError> {
        let text = |name: &str| match claims.get(name) {
            Some(ClaimValue::String(s)) => Some(&**s),
            _ => None,
        };
        let is = |name: &str, want: &str| text(name).is_some_and(|v| v.eq_ignore_ascii_case(want));
        let oidc = || {
            let id_claim = ID_TOKEN_CLAIMS.iter().any(|c| claims.contains_key(c));
            let other_use = claims.contains_key("token_use") && !is("token_use", "access");
            let other_typ = ["ID", "Refresh", "Offline", "Logout"]
                .iter()
                .any(|t| is("typ", t));
            !(id_claim || other_use || other_typ)
        };
        let ok = match self {
            TokenUse::Off => true,
            TokenUse::Oidc => oidc(),
            // Keycloak access tokens may carry the login's `nonce`; `typ` is what tells them.
            TokenUse::Keycloak => is("typ", "Bearer"),
            TokenUse::Cognito => is("token_use", "access") && oidc(),
            TokenUse::EntraId => (text("azp").is_some() || text("appid").is_some()) && oidc(),
            TokenUse::Okta => text("cid").is_some() && oidc(),
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::NotAnAccessToken)
        }
    }
}

/// Where a token keeps permissions, scopes and roles, and what roles grant.
///
/// Effective permissions = direct permission claims ∪ scopes ∪ permissions of roles through the
/// [`RolePolicy`]. A role never grants a permission of its own name unless the policy says so.
/// The default reads `permissions` (array), `scope` and `scp` (string or array) and `roles` (array);
/// presets read where an identity provider puts them: [`keycloak`](Self::keycloak),
/// [`entra_id`](Self::entra_id), [`auth0`](Self::auth0), [`okta`](Self::okta),
/// [`cognito`](Self::cognito).
///
/// ```
/// use mcp_rbac::{ClaimsMapping, Role, RolePolicy};
/// use serde_json::json;
///
/// let policy = RolePolicy::new([
///     Role::new("guest").grants(["Guest.Read"]),
///     Role::new("admin").inherits(["guest"]).grants(["Admin.*"]),
/// ])
/// .unwrap();
/// let mapping = ClaimsMapping::cognito().with_role_policy(policy);
/// let claims = json!({
///     "sub": "7f3c…",
///     "token_use": "access",
///     "cognito:groups": ["admin"],
///     "scope": "products/read",
/// });
/// let caller = mapping.principal(claims.as_object().unwrap().clone()).unwrap();
/// assert!(caller.has_permission("Admin.Write") && caller.has_permission("Guest.Read"));
/// assert!(caller.has_permission("products/read")); // a scope is a permission of its name
/// ```
///
/// # Access tokens only
///
/// An identity provider signs its ID tokens with the same keys as its access tokens, and when
/// the client and the API are one registration (Entra ID with one app, a Keycloak client that
/// is its own audience) an ID token can name this server as its audience. So every mapping
/// also checks the claims that mark an access token, and refuses anything else as
/// [`AuthError::NotAnAccessToken`]:
///
/// - [`default`](Self::default), [`none`](Self::none), [`auth0`](Self::auth0): no OpenID
///   Connect ID-token claim (`nonce`, `at_hash`, `c_hash`), no `token_use` other than `access`,
///   no `typ` claim of `ID`, `Refresh`, `Offline` or `Logout`;
/// - [`keycloak`](Self::keycloak): the `typ` claim is `Bearer` (Keycloak's ID tokens say `ID`,
///   its refresh tokens `Refresh`; its access tokens may carry the login's `nonce`);
/// - [`cognito`](Self::cognito): `token_use` is `access` (ID tokens say `id`), and the rule
///   of the default;
/// - [`entra_id`](Self::entra_id): `azp` (v2.0 tokens) or `appid` (v1.0) names the client the
///   token was issued to, which Entra ID puts only in access tokens, and the rule of the default;
/// - [`okta`](Self::okta): `cid` names the client (only in Okta access tokens), and the rule
///   of the default.
///
/// String comparisons ignore ASCII case. [`accept_id_tokens`](Self::accept_id_tokens) turns the
/// check off, for an issuer whose access tokens break these rules.
#[derive(Clone, Debug)]
pub struct ClaimsMapping {
    permissions: Vec<ClaimSource>,
    scopes: Vec<ClaimSource>,
    roles: Vec<ClaimSource>,
    policy: RolePolicy,
    clients: Option<ClientPolicy>,
    token_use: TokenUse,
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
            clients: None,
            token_use: TokenUse::Oidc,
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
            clients: None,
            token_use: TokenUse::Oidc,
        }
    }

    /// Keycloak access tokens: roles from `realm_access.roles` and from
    /// `resource_access.<client_id>.roles` (the roles of the client this server is, its id taken
    /// whole, dots and dashes included), scopes from the space-delimited `scope`.
    ///
    /// Realm and client roles land in one list, so a realm role and a client role of the same
    /// name are one role to the [`RolePolicy`]. Other clients' roles (`account`, …) are ignored.
    ///
    /// ```
    /// use mcp_rbac::{ClaimsMapping, Role, RolePolicy};
    ///
    /// let policy = RolePolicy::new([Role::new("admin").grants(["Admin.*"])]).unwrap();
    /// let mapping = ClaimsMapping::keycloak("mcp-products.api").with_role_policy(policy);
    /// # let _ = mapping;
    /// ```
    pub fn keycloak(client_id: impl Into<String>) -> Self {
        ClaimsMapping::none()
            .with_roles(ClaimSource::from_segments(
                ["realm_access", "roles"],
                ClaimShape::Array,
            ))
            .with_roles(ClaimSource::from_segments(
                [
                    "resource_access".to_owned(),
                    client_id.into(),
                    "roles".to_owned(),
                ],
                ClaimShape::Array,
            ))
            .with_scopes(ClaimSource::new("scope", ClaimShape::SpaceDelimited))
            .with_token_use(TokenUse::Keycloak)
    }

    /// Microsoft Entra ID (Azure AD) access tokens: app roles from `roles` (an array), delegated
    /// scopes from `scp` (a space-delimited string).
    pub fn entra_id() -> Self {
        ClaimsMapping::none()
            .with_roles(ClaimSource::new("roles", ClaimShape::Array))
            .with_scopes(ClaimSource::new("scp", ClaimShape::SpaceDelimited))
            .with_token_use(TokenUse::EntraId)
    }

    /// Auth0 access tokens: permissions from `permissions` (an array, present when the API's
    /// RBAC setting "Add Permissions in the Access Token" is on), scopes from `scope`. Auth0
    /// puts no roles in access tokens; an Action can add a namespaced claim, read with
    /// `.with_roles(ClaimSource::new("https://your.namespace/roles", ClaimShape::Array))`.
    pub fn auth0() -> Self {
        ClaimsMapping::none()
            .with_permissions(ClaimSource::new("permissions", ClaimShape::Array))
            .with_scopes(ClaimSource::new("scope", ClaimShape::SpaceDelimited))
    }

    /// Okta access tokens: scopes from `scp` (an array), roles from `groups` (an array; the
    /// claim exists when the authorization server has a groups claim configured).
    pub fn okta() -> Self {
        ClaimsMapping::none()
            .with_roles(ClaimSource::new("groups", ClaimShape::Array))
            .with_scopes(ClaimSource::new("scp", ClaimShape::Array))
            .with_token_use(TokenUse::Okta)
    }

    /// Amazon Cognito access tokens: roles from the user pool groups in `cognito:groups`,
    /// scopes from `scope` (a space-delimited string).
    ///
    /// Cognito access tokens have no `aud`: pair this preset with
    /// [`JwtVerifierBuilder::audience_claim("client_id")`](crate::verify::JwtVerifierBuilder::audience_claim).
    pub fn cognito() -> Self {
        ClaimsMapping::none()
            .with_roles(ClaimSource::from_segments(
                ["cognito:groups"],
                ClaimShape::Array,
            ))
            .with_scopes(ClaimSource::new("scope", ClaimShape::SpaceDelimited))
            .with_token_use(TokenUse::Cognito)
    }

    fn with_token_use(mut self, token_use: TokenUse) -> Self {
        self.token_use = token_use;
        self
    }

    /// Accepts tokens whatever their claims say they are: turns off the access-token check
    /// (see "Access tokens only" above). Only for an issuer whose access tokens carry
    /// ID-token claims or lack the preset's markers, and whose ID tokens can never name this
    /// server as their audience.
    pub fn accept_id_tokens(self) -> Self {
        self.with_token_use(TokenUse::Off)
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

    /// The role policy roles are resolved through.
    pub fn role_policy(&self) -> &RolePolicy {
        &self.policy
    }

    /// Caps each principal with `policy`'s ceilings for its client and actor chain (see
    /// [`ClientPolicy`]).
    pub fn with_client_policy(mut self, policy: ClientPolicy) -> Self {
        self.clients = Some(policy);
        self
    }

    /// The client policy principals are capped with, if any.
    pub fn client_policy(&self) -> Option<&ClientPolicy> {
        self.clients.as_ref()
    }

    /// The principal these verified claims describe. `sub` must be a string.
    pub fn principal(&self, claims: Map<String, Value>) -> Result<Principal, AuthError> {
        let builder = self.principal_builder(&ClaimObject::from(&claims))?;
        Ok(builder.claims(claims).build())
    }

    /// The principal of a verified payload, the claims' JSON text: what a verifier of your own
    /// calls once it has checked the token's signature (and the registered claims). Reads the
    /// claims in place and keeps the text; [`Principal::claims`] parses it on first use.
    ///
    /// ```
    /// use mcp_rbac::ClaimsMapping;
    ///
    /// let payload = br#"{"sub": "alice", "scope": "products:read", "jti": "t-1"}"#;
    /// let alice = ClaimsMapping::default().principal_from_json(payload).unwrap();
    /// assert!(alice.has_permission("products:read"));
    /// assert_eq!(alice.claims()["jti"], "t-1");
    /// // Not a JSON object: an error, like a claim of the wrong type.
    /// assert!(ClaimsMapping::default().principal_from_json(b"[1]").is_err());
    /// ```
    pub fn principal_from_json(&self, json: &[u8]) -> Result<Principal, AuthError> {
        let claims = ClaimObject::parse(json).map_err(|_| AuthError::Malformed)?;
        let builder = self.principal_builder(&claims)?;
        Ok(builder.claims_json(json.to_vec()).build())
    }

    /// The principal of `claims` without its full claims map, which the caller attaches
    /// (the verifier attaches the payload, parsed into a map only if the application asks).
    pub(crate) fn principal_builder(
        &self,
        claims: &ClaimObject<'_>,
    ) -> Result<PrincipalBuilder, AuthError> {
        let subject = match claims.get("sub") {
            Some(ClaimValue::String(s)) if !s.is_empty() => s.to_string(),
            Some(_) => {
                return Err(AuthError::ClaimType {
                    claim: "sub".into(),
                    expected: "a non-empty string",
                })
            }
            None => return Err(AuthError::MissingClaim("sub".into())),
        };
        self.token_use.check(claims)?;
        let mut permissions = Vec::new();
        for source in &self.permissions {
            source.read(claims, &mut permissions)?;
        }
        let mut scopes = Vec::new();
        for source in &self.scopes {
            source.read(claims, &mut scopes)?;
        }
        let mut roles = Vec::new();
        for source in &self.roles {
            source.read(claims, &mut roles)?;
        }
        // Two sources may name the same role or scope (a Keycloak realm and client role).
        dedup(&mut scopes);
        dedup(&mut roles);
        let mut builder = Principal::builder(subject)
            .reserve_permissions(permissions.len() + scopes.len())
            .permissions(permissions)
            .scopes(scopes);
        if !roles.is_empty() {
            builder = builder
                .grant(|set| self.policy.grant_to(roles.iter().copied(), set))
                .roles(roles);
        }
        if let Some(ClaimValue::String(iss)) = claims.get("iss") {
            builder = builder.issuer(iss.to_string());
        }
        if let Some(client) = client_of(claims)? {
            builder = builder.client(client);
        }
        if claims.contains_key("act") {
            builder = builder.actors(actors_of(claims)?);
        }
        if let Some(jkt) = confirmation_jkt(claims)? {
            builder = builder.confirmation_jkt(jkt);
        }
        if let Some(policy) = &self.clients {
            builder = builder.client_policy(policy);
        }
        Ok(builder)
    }
}

/// The deepest actor chain a token may carry: delegation is a few hops, and a longer chain is
/// refused rather than walked.
pub const MAX_ACTORS: usize = 16;

/// The client a token was issued to: `azp` (OpenID Connect), else `client_id` (RFC 9068,
/// RFC 7662). A present claim that is not a non-empty string refuses the token.
fn client_of(claims: &ClaimObject<'_>) -> Result<Option<String>, AuthError> {
    for claim in ["azp", "client_id"] {
        match claims.get(claim) {
            None => {}
            Some(ClaimValue::String(id)) if !id.is_empty() => return Ok(Some(id.to_string())),
            Some(_) => {
                return Err(AuthError::ClaimType {
                    claim: claim.into(),
                    expected: "a non-empty string",
                })
            }
        }
    }
    Ok(None)
}

/// The DPoP key a token is bound to: `cnf.jkt` (RFC 9449 §6.1, §6.2). Fail closed: a `cnf` that
/// is not an object, or a `jkt` that is not a non-empty string, refuses the token (read as
/// unbound, it would be accepted without a proof). Other confirmation methods (`x5t#S256`) are
/// not read.
fn confirmation_jkt(claims: &ClaimObject<'_>) -> Result<Option<String>, AuthError> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let ClaimValue::Object(cnf) = cnf else {
        return Err(AuthError::ClaimType {
            claim: "cnf".into(),
            expected: "an object",
        });
    };
    match cnf.get("jkt") {
        None => Ok(None),
        Some(ClaimValue::String(jkt)) if !jkt.is_empty() => Ok(Some(jkt.to_string())),
        Some(_) => Err(AuthError::ClaimType {
            claim: "cnf.jkt".into(),
            expected: "a non-empty string",
        }),
    }
}

/// The actor chain of RFC 8693 §4.1: `act` is an object naming the current actor (`sub`, and
/// optionally `client_id` and `iss`), whose own `act` names the actor before it. Fail closed: a
/// chain that is not made of such objects, or longer than [`MAX_ACTORS`], refuses the token,
/// since a ceiling it names would otherwise be skipped.
fn actors_of(claims: &ClaimObject<'_>) -> Result<Vec<Actor>, AuthError> {
    let mut actors = Vec::new();
    let mut path = String::from("act");
    let mut next = claims.get("act");
    while let Some(value) = next {
        let ClaimValue::Object(act) = value else {
            return Err(AuthError::ClaimType {
                claim: path,
                expected: "an object naming the actor's `sub`",
            });
        };
        if actors.len() == MAX_ACTORS {
            return Err(AuthError::ClaimType {
                claim: path,
                expected: "absent: the actor chain is longer than mcp_rbac::claims::MAX_ACTORS",
            });
        }
        let string = |name: &str| match act.get(name) {
            None => Ok(None),
            Some(ClaimValue::String(s)) if !s.is_empty() => Ok(Some(s.to_string())),
            Some(_) => Err(AuthError::ClaimType {
                claim: format!("{path}.{name}"),
                expected: "a non-empty string",
            }),
        };
        let Some(subject) = string("sub")? else {
            return Err(AuthError::MissingClaim(format!("{path}.sub")));
        };
        let mut actor = Actor::new(subject);
        if let Some(client_id) = string("client_id")? {
            actor = actor.with_client_id(client_id);
        }
        if let Some(issuer) = string("iss")? {
            actor = actor.with_issuer(issuer);
        }
        actors.push(actor);
        next = act.get("act");
        path.push_str(".act");
    }
    Ok(actors)
}

/// Drops repeated names, keeping the first of each in order.
fn dedup(names: &mut Vec<&str>) {
    // Tokens carry a few names: comparing each with those kept beats hashing copies of them.
    if names.len() <= 16 {
        let mut kept = 0;
        for i in 0..names.len() {
            if !names[..kept].contains(&names[i]) {
                names.swap(kept, i);
                kept += 1;
            }
        }
        names.truncate(kept);
    } else {
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        names.retain(|name| seen.insert(*name));
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

    /// The roles of the example server: admin ⊃ user ⊃ guest.
    fn products_policy() -> RolePolicy {
        RolePolicy::new([
            Role::new("guest").grants(["Guest.Read"]),
            Role::new("user")
                .inherits(["guest"])
                .grants(["User.Read", "User.Write"]),
            Role::new("admin").inherits(["user"]).grants(["Admin.*"]),
        ])
        .unwrap()
    }

    fn fixture(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    const KEYCLOAK: &str = include_str!("../../testdata/claims/keycloak.json");
    const ENTRA_ID: &str = include_str!("../../testdata/claims/entra_id.json");
    const AUTH0: &str = include_str!("../../testdata/claims/auth0.json");
    const OKTA: &str = include_str!("../../testdata/claims/okta.json");
    const COGNITO: &str = include_str!("../../testdata/claims/cognito.json");

    fn with(mut claims: Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
        claims.insert(key.to_owned(), value);
        claims
    }

    #[test]
    fn keycloak_reads_realm_and_client_roles() {
        let mapping =
            ClaimsMapping::keycloak("mcp-products.api").with_role_policy(products_policy());
        let p = mapping.principal(fixture(KEYCLOAK)).unwrap();
        assert_eq!(p.subject(), "f3c2a1b0-6d5e-4c3b-8a9f-0e1d2c3b4a59");
        assert_eq!(p.issuer(), Some("https://sso.example.com/realms/acme"));
        assert_eq!(
            p.roles(),
            [
                "offline_access",
                "default-roles-acme",
                "uma_authorization",
                "user",
                "admin"
            ]
        );
        assert_eq!(p.scopes(), ["openid", "profile", "email"]);
        assert_eq!(
            p.permissions().names(),
            [
                "Guest.Read",
                "User.Read",
                "User.Write",
                "email",
                "openid",
                "profile",
                "Admin.*"
            ]
        );
        assert!(p.has_permission("Admin.Write"));
        assert!(!p.has_permission("manage-account"), "another client's role");
        assert_eq!(p.claims()["azp"], "mcp-inspector");

        // Another client id reads only the realm roles.
        let p = ClaimsMapping::keycloak("mcp-inspector")
            .with_role_policy(products_policy())
            .principal(fixture(KEYCLOAK))
            .unwrap();
        assert_eq!(
            p.roles(),
            [
                "offline_access",
                "default-roles-acme",
                "uma_authorization",
                "user"
            ]
        );
        assert!(!p.has_permission("Admin.Write"));
        assert!(p.has_permission("User.Write"));
    }

    #[test]
    fn keycloak_wrong_types_are_claim_type_errors() {
        let mapping = ClaimsMapping::keycloak("mcp-products.api");
        let cases = [
            (
                with(fixture(KEYCLOAK), "realm_access", json!(["admin"])),
                "realm_access",
                "an object",
            ),
            (
                with(
                    fixture(KEYCLOAK),
                    "resource_access",
                    json!({"mcp-products.api": {"roles": "admin"}}),
                ),
                "resource_access.mcp-products.api.roles",
                "an array of strings",
            ),
            (
                with(
                    fixture(KEYCLOAK),
                    "resource_access",
                    json!({"mcp-products.api": ["admin"]}),
                ),
                "resource_access.mcp-products.api",
                "an object",
            ),
            (
                with(fixture(KEYCLOAK), "scope", json!(["openid"])),
                "scope",
                "a space-delimited string",
            ),
        ];
        for (claims, claim, expected) in cases {
            assert_eq!(
                mapping.principal(claims).unwrap_err(),
                AuthError::ClaimType {
                    claim: claim.into(),
                    expected
                }
            );
        }
        // Absent sections are empty, not errors.
        let mut claims = fixture(KEYCLOAK);
        claims.remove("resource_access");
        claims.remove("realm_access");
        let p = mapping.principal(claims).unwrap();
        assert!(p.roles().is_empty());
    }

    #[test]
    fn entra_id_reads_roles_and_scp() {
        let mapping = ClaimsMapping::entra_id().with_role_policy(products_policy());
        let p = mapping.principal(fixture(ENTRA_ID)).unwrap();
        assert_eq!(p.subject(), "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ");
        assert_eq!(p.roles(), ["user"]);
        assert_eq!(p.scopes(), ["Products.Read", "Products.Write"]);
        assert_eq!(
            p.permissions().names(),
            [
                "Guest.Read",
                "Products.Read",
                "Products.Write",
                "User.Read",
                "User.Write"
            ]
        );
        assert!(!p.has_permission("Admin.Write"));
        assert_eq!(
            mapping
                .principal(with(fixture(ENTRA_ID), "scp", json!(["Products.Read"])))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "scp".into(),
                expected: "a space-delimited string"
            }
        );
        assert_eq!(
            mapping
                .principal(with(fixture(ENTRA_ID), "roles", json!("user")))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "roles".into(),
                expected: "an array of strings"
            }
        );
    }

    #[test]
    fn auth0_reads_permissions_and_scope() {
        let p = ClaimsMapping::auth0()
            .with_role_policy(products_policy())
            .principal(fixture(AUTH0))
            .unwrap();
        assert_eq!(p.subject(), "auth0|64f1c2b3a4d5e6f7a8b9c0d1");
        assert!(p.roles().is_empty(), "Auth0 puts no roles in access tokens");
        assert_eq!(p.scopes(), ["openid", "profile", "email", "read:products"]);
        assert_eq!(
            p.permissions().names(),
            [
                "create:products",
                "delete:products",
                "email",
                "openid",
                "profile",
                "read:products"
            ]
        );

        // A namespaced roles claim added by an Action: its name is full of dots.
        let p = ClaimsMapping::auth0()
            .with_roles(ClaimSource::new(
                "https://mcp.example.com/roles",
                ClaimShape::Array,
            ))
            .with_role_policy(products_policy())
            .principal(fixture(AUTH0))
            .unwrap();
        assert_eq!(p.roles(), ["admin"]);
        assert!(p.has_permission("Admin.Write") && p.has_permission("delete:products"));

        assert_eq!(
            ClaimsMapping::auth0()
                .principal(with(
                    fixture(AUTH0),
                    "permissions",
                    json!("delete:products")
                ))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "permissions".into(),
                expected: "an array of strings"
            }
        );
    }

    #[test]
    fn okta_reads_groups_and_scp_array() {
        let mapping = ClaimsMapping::okta().with_role_policy(products_policy());
        let p = mapping.principal(fixture(OKTA)).unwrap();
        assert_eq!(p.subject(), "carol@acme.example");
        assert_eq!(p.roles(), ["Everyone", "guest", "user"]);
        assert_eq!(
            p.scopes(),
            ["openid", "profile", "products.read", "products.write"]
        );
        assert_eq!(
            p.permissions().names(),
            [
                "Guest.Read",
                "User.Read",
                "User.Write",
                "openid",
                "products.read",
                "products.write",
                "profile"
            ]
        );
        assert_eq!(
            mapping
                .principal(with(fixture(OKTA), "scp", json!("openid products.read")))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "scp".into(),
                expected: "an array of strings"
            }
        );
        assert_eq!(
            mapping
                .principal(with(fixture(OKTA), "groups", json!(["user", 7])))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "groups".into(),
                expected: "an array of strings"
            }
        );
    }

    #[test]
    fn cognito_reads_groups_with_a_colon_in_the_claim_name() {
        let mapping = ClaimsMapping::cognito().with_role_policy(products_policy());
        let p = mapping.principal(fixture(COGNITO)).unwrap();
        assert_eq!(p.subject(), "94a8c4e8-70c1-7038-1c2e-5f4d3b2a1e0f");
        assert_eq!(p.roles(), ["admin", "eu-west-1_AbCdEfGhI_Google"]);
        assert_eq!(
            p.scopes(),
            ["products/read", "products/delete", "openid", "email"]
        );
        assert_eq!(
            p.permissions().names(),
            [
                "Guest.Read",
                "User.Read",
                "User.Write",
                "email",
                "openid",
                "products/delete",
                "products/read",
                "Admin.*"
            ]
        );
        assert_eq!(
            mapping
                .principal(with(fixture(COGNITO), "cognito:groups", json!("admin")))
                .unwrap_err(),
            AuthError::ClaimType {
                claim: "cognito:groups".into(),
                expected: "an array of strings"
            }
        );
    }

    /// Each preset's ID token, shaped as its identity provider issues them for the same
    /// client (and so the same audience when the client is also the API).
    #[test]
    fn an_id_token_of_each_preset_s_shape_is_refused_as_an_access_token() {
        let id_tokens = [
            (
                "keycloak",
                ClaimsMapping::keycloak("mcp-products.api"),
                json!({"iss": "https://sso.example.com/realms/acme", "aud": "mcp-products.api",
                       "sub": "f3c2", "typ": "ID", "azp": "mcp-products.api",
                       "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
                       "realm_access": {"roles": ["admin"]}}),
            ),
            (
                "entra_id",
                ClaimsMapping::entra_id(),
                json!({"iss": "https://login.microsoftonline.com/72f9/v2.0",
                       "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "sub": "AAAA",
                       "ver": "2.0", "tid": "72f9", "oid": "6902", "roles": ["admin"],
                       "preferred_username": "bob@contoso.example", "aio": "AWQA"}),
            ),
            (
                "auth0",
                ClaimsMapping::auth0(),
                json!({"iss": "https://acme.us.auth0.com/", "aud": "Xq3vL9kT", "sub": "auth0|64f1",
                       "nonce": "abc", "sid": "s1", "name": "Alice"}),
            ),
            (
                "okta",
                ClaimsMapping::okta(),
                json!({"iss": "https://acme.okta.com/oauth2/default", "aud": "0oa8f3k2",
                       "sub": "00u9", "ver": 1, "amr": ["pwd"], "idp": "00o1",
                       "auth_time": 1, "at_hash": "preview", "groups": ["admin"]}),
            ),
            (
                "cognito",
                ClaimsMapping::cognito(),
                json!({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
                       "aud": "3n4b5urk", "sub": "94a8", "token_use": "id",
                       "cognito:groups": ["admin"], "cognito:username": "dave"}),
            ),
            (
                "default",
                ClaimsMapping::default(),
                json!({"iss": "https://issuer", "aud": "client", "sub": "u", "nonce": "n",
                       "roles": ["admin"]}),
            ),
        ];
        for (name, mapping, id_token) in id_tokens {
            assert_eq!(
                mapping.principal(claims(id_token.clone())).map(|_| ()),
                Err(AuthError::NotAnAccessToken),
                "{name}"
            );
            let bytes = serde_json::to_vec(&id_token).unwrap();
            assert_eq!(
                mapping.principal_from_json(&bytes).map(|_| ()),
                Err(AuthError::NotAnAccessToken),
                "{name}"
            );
            assert!(
                mapping
                    .accept_id_tokens()
                    .principal(claims(id_token))
                    .is_ok(),
                "{name}: the opt-out accepts it"
            );
        }
        // Cognito's and Keycloak's markers are required, not merely "not wrong".
        let mut cognito = fixture(COGNITO);
        cognito.remove("token_use");
        assert!(ClaimsMapping::cognito().principal(cognito).is_err());
        let mut keycloak = fixture(KEYCLOAK);
        keycloak.insert("typ".into(), json!("Refresh"));
        assert!(ClaimsMapping::keycloak("x").principal(keycloak).is_err());
        // Keycloak access tokens may carry the login's nonce.
        let keycloak = with(fixture(KEYCLOAK), "nonce", json!("n-0S6"));
        assert!(ClaimsMapping::keycloak("x").principal(keycloak).is_ok());
        let mut okta = fixture(OKTA);
        okta.remove("cid");
        assert!(ClaimsMapping::okta().principal(okta).is_err());
        let mut entra = fixture(ENTRA_ID);
        entra.remove("azp");
        assert!(ClaimsMapping::entra_id().principal(entra.clone()).is_err());
        entra.insert("appid".into(), json!("a3b1c5d7"));
        assert!(ClaimsMapping::entra_id().principal(entra).is_ok(), "v1.0");
    }

    #[test]
    fn the_provider_shaped_access_tokens_pass_the_token_use_check() {
        let cases = [
            (ClaimsMapping::keycloak("mcp-products.api"), KEYCLOAK),
            (ClaimsMapping::entra_id(), ENTRA_ID),
            (ClaimsMapping::auth0(), AUTH0),
            (ClaimsMapping::okta(), OKTA),
            (ClaimsMapping::cognito(), COGNITO),
        ];
        for (mapping, json) in cases {
            assert!(mapping.principal(fixture(json)).is_ok(), "{json}");
            assert!(ClaimsMapping::default().principal(fixture(json)).is_ok());
        }
    }

    #[test]
    fn dotted_paths_try_the_longest_key_first() {
        let read = |path: &str, v: Value| {
            ClaimsMapping::none()
                .with_roles(ClaimSource::new(path, ClaimShape::Array))
                .principal(claims(v))
                .map(|p| p.roles().to_vec())
        };
        assert_eq!(
            read("a.b.c", json!({"sub": "u", "a.b": {"c": ["x"]}})).unwrap(),
            ["x"]
        );
        assert_eq!(
            read("a.b.c", json!({"sub": "u", "a": {"b.c": ["y"]}})).unwrap(),
            ["y"]
        );
        assert_eq!(
            read("a.b.c", json!({"sub": "u", "a": {"b": {"c": ["z"]}}})).unwrap(),
            ["z"]
        );
        // A literal key that leads nowhere falls back to the nested path.
        assert_eq!(
            read(
                "a.b.c",
                json!({"sub": "u", "a.b": {}, "a": {"b": {"c": ["w"]}}})
            )
            .unwrap(),
            ["w"]
        );
        assert_eq!(
            read("a.b.c", json!({"sub": "u", "a": {"b": 5}})).unwrap_err(),
            AuthError::ClaimType {
                claim: "a.b".into(),
                expected: "an object"
            }
        );
        assert_eq!(
            read("a.b", json!({"sub": "u", "a": null})).unwrap(),
            Vec::<String>::new()
        );
        let segments = ClaimSource::from_segments(["a.b", "c"], ClaimShape::Array);
        assert_eq!(segments.path(), "a.b.c");
        let p = ClaimsMapping::none()
            .with_roles(segments)
            .principal(claims(
                json!({"sub": "u", "a": {"b": {"c": ["nested"]}}, "a.b": {"c": ["literal"]}}),
            ))
            .unwrap();
        assert_eq!(p.roles(), ["literal"], "segments are never split");
    }

    fn principal_of(claims: serde_json::Value) -> Result<Principal, AuthError> {
        ClaimsMapping::default().principal(claims.as_object().unwrap().clone())
    }

    #[test]
    fn the_client_is_azp_else_client_id() {
        let p = principal_of(serde_json::json!({"sub": "a", "azp": "ide", "client_id": "x"}));
        assert_eq!(p.unwrap().client(), Some("ide"));
        let p = principal_of(serde_json::json!({"sub": "a", "client_id": "agent"})).unwrap();
        assert_eq!(p.client(), Some("agent"));
        assert!(principal_of(serde_json::json!({"sub": "a"}))
            .unwrap()
            .client()
            .is_none());
        for bad in [
            serde_json::json!(7),
            serde_json::json!(""),
            serde_json::json!(["ide"]),
        ] {
            let err = principal_of(serde_json::json!({"sub": "a", "azp": bad})).unwrap_err();
            assert_eq!(
                err.to_string(),
                "token claim `azp` must be a non-empty string"
            );
        }
    }

    #[test]
    fn the_dpop_key_binding_is_read_or_refuses_the_token() {
        let mapping = ClaimsMapping::default();
        let read = |claims: &str| mapping.principal_from_json(claims.as_bytes());
        let bound =
            read(r#"{"sub": "a", "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#);
        assert_eq!(
            bound.unwrap().confirmation_jkt(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
        assert_eq!(read(r#"{"sub": "a"}"#).unwrap().confirmation_jkt(), None);
        // Another confirmation method only: not DPoP-bound.
        let mtls = read(r#"{"sub": "a", "cnf": {"x5t#S256": "abc"}}"#);
        assert_eq!(mtls.unwrap().confirmation_jkt(), None);
        for (claims, path) in [
            (r#"{"sub": "a", "cnf": "jkt"}"#, "cnf"),
            (r#"{"sub": "a", "cnf": {"jkt": ""}}"#, "cnf.jkt"),
            (r#"{"sub": "a", "cnf": {"jkt": 5}}"#, "cnf.jkt"),
        ] {
            match read(claims) {
                Err(AuthError::ClaimType { claim, .. }) => assert_eq!(claim, path, "{claims}"),
                other => panic!("{claims}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_actor_chain_is_read_outward() {
        let p = principal_of(serde_json::json!({
            "sub": "alice",
            "client_id": "ide",
            "act": {
                "sub": "agent-7",
                "client_id": "readonly-agent",
                "act": {"sub": "gateway", "iss": "https://idp.example"},
            },
        }))
        .unwrap();
        assert_eq!(
            p.actors(),
            [
                Actor::new("agent-7").with_client_id("readonly-agent"),
                Actor::new("gateway").with_issuer("https://idp.example"),
            ]
        );
        assert!(principal_of(serde_json::json!({"sub": "a"}))
            .unwrap()
            .actors()
            .is_empty());
    }

    #[test]
    fn a_malformed_actor_chain_refuses_the_token() {
        let cases = [
            (
                serde_json::json!("agent"),
                "token claim `act` must be an object naming the actor's `sub`",
            ),
            (
                serde_json::json!(null),
                "token claim `act` must be an object naming the actor's `sub`",
            ),
            (
                serde_json::json!({"client_id": "x"}),
                "token lacks the `act.sub` claim",
            ),
            (
                serde_json::json!({"sub": 7}),
                "token claim `act.sub` must be a non-empty string",
            ),
            (
                serde_json::json!({"sub": "a", "act": {"sub": "b", "client_id": ["x"]}}),
                "token claim `act.act.client_id` must be a non-empty string",
            ),
            (
                serde_json::json!({"sub": "a", "act": []}),
                "token claim `act.act` must be an object naming the actor's `sub`",
            ),
        ];
        for (act, expected) in cases {
            let err = principal_of(serde_json::json!({"sub": "alice", "act": act})).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
        let mut act = serde_json::json!({"sub": "last"});
        for i in 0..MAX_ACTORS {
            act = serde_json::json!({"sub": format!("a{i}"), "act": act});
        }
        let err = principal_of(serde_json::json!({"sub": "alice", "act": act})).unwrap_err();
        assert!(
            matches!(&err, AuthError::ClaimType { claim, .. } if claim.matches("act").count() == MAX_ACTORS + 1),
            "{err}"
        );
    }

    #[test]
    fn a_mapping_with_a_client_policy_caps_its_principals() {
        use crate::client_policy::{Client, DefaultCeiling};
        let clients = ClientPolicy::new(
            DefaultCeiling::Unlimited,
            [Client::new("readonly-agent").ceiling(["Guest.Read"])],
        )
        .unwrap();
        let mapping = ClaimsMapping::default()
            .with_role_policy(products_policy())
            .with_client_policy(clients);
        let json = |claims: serde_json::Value| serde_json::to_vec(&claims).unwrap();
        let agent = mapping
            .principal_from_json(&json(
                serde_json::json!({"sub": "a", "azp": "readonly-agent", "roles": ["admin"]}),
            ))
            .unwrap();
        assert!(!agent.has_permission("Admin.Write"));
        assert!(agent.uncapped_permissions().contains("Admin.Write"));
        let delegated = mapping
            .principal_from_json(&json(serde_json::json!({
                "sub": "a", "azp": "ide", "roles": ["admin"],
                "act": {"sub": "bot", "client_id": "readonly-agent"},
            })))
            .unwrap();
        assert_eq!(delegated.permissions().names(), ["Guest.Read"]);
        let ide = mapping
            .principal_from_json(&json(
                serde_json::json!({"sub": "a", "azp": "ide", "roles": ["admin"]}),
            ))
            .unwrap();
        assert!(ide.has_permission("Admin.Write") && ide.client_ceiling().is_none());
    }
}
