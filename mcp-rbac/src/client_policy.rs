//! Client ceilings: what an OAuth client (an AI agent, an IDE plug-in, a script) may do for its
//! user, whatever the user may do.
//!
//! A token names the client it was issued to (`azp`, else `client_id`) and, after a token
//! exchange, the parties acting for the user (RFC 8693 `act`). A [`ClientPolicy`] gives each
//! client it names a ceiling, a list of permissions (`Prefix.*` wildcards allowed, as in a
//! [`RolePolicy`](crate::RolePolicy)), and says what clients it does not name get: no ceiling,
//! or nothing. The principal's effective permissions are then
//!
//! > what the user holds ∩ the ceiling of the token's client ∩ the ceiling of every client named
//! > by a `client_id` in the actor chain.
//!
//! A token that names no client at all is judged as a client the policy does not name. An actor
//! without a `client_id` names no client and adds no ceiling. Every check (requirements, `any(..)`
//! alternatives, list filtering, [`Principal::has_permission`](crate::Principal::has_permission))
//! sees the capped set, so each permission is judged against what the user holds and what every
//! ceiling allows.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::permissions::PermissionSet;
use crate::policy::location;

/// The ceiling of clients a [`ClientPolicy`] does not name (and of tokens that name no client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultCeiling {
    /// Not capped: they hold what their user holds. TOML: `default = "unlimited"`.
    Unlimited,
    /// Capped at nothing: they hold no permission (items marked `public` stay open to them, as
    /// to every authenticated caller). TOML: `default = "none"`.
    Nothing,
}

/// One client of a [`ClientPolicy`]: its id and its ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    id: String,
    ceiling: Vec<String>,
}

impl Client {
    /// The client `id` (as tokens name it in `azp` or `client_id`), capped at nothing yet.
    pub fn new(id: impl Into<String>) -> Self {
        Client {
            id: id.into(),
            ceiling: Vec::new(),
        }
    }

    /// Permissions the client may use for its user; `Prefix.*` covers every name under `Prefix.`.
    pub fn ceiling(mut self, permissions: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.ceiling.extend(permissions.into_iter().map(Into::into));
        self
    }
}

/// Why a client policy does not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is named in its variant's message
pub enum ClientPolicyError {
    /// A ceiling entry that cannot name a permission (empty, whitespace, `*` anywhere but a
    /// trailing `.*`).
    #[error("client `{client}` ceiling names `{permission}`, which is not a permission name or a `Prefix.*` wildcard")]
    InvalidPermission { client: String, permission: String },
    /// The same client id twice.
    #[error("client `{0}` is defined twice")]
    DuplicateClient(String),
    /// An empty client id.
    #[error("a client id is empty")]
    EmptyClientId,
    /// A TOML policy that does not parse, has a key the format does not know, or a bad entry.
    /// `line` and `column` count from 1, columns in characters.
    #[error("client policy TOML{}: {message}", location(*.line, *.column))]
    Toml {
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    /// A policy file that cannot be read.
    #[error("cannot read client policy file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Client ids → ceilings, resolved once. Cheap to clone.
///
/// ```
/// use mcp_rbac::{Client, ClientPolicy, DefaultCeiling, Principal};
///
/// let policy = ClientPolicy::new(
///     DefaultCeiling::Unlimited,
///     [Client::new("readonly-agent").ceiling(["Guest.Read"])],
/// )?;
/// let admin = |client: &str| {
///     Principal::builder("alice")
///         .permissions(["Guest.Read", "Admin.Write"])
///         .client(client)
///         .client_policy(&policy)
///         .build()
/// };
/// assert!(!admin("readonly-agent").has_permission("Admin.Write"));
/// assert!(admin("readonly-agent").has_permission("Guest.Read"));
/// assert!(admin("ide").has_permission("Admin.Write"), "clients not named are not capped");
/// # Ok::<(), mcp_rbac::ClientPolicyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientPolicy(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    clients: BTreeMap<String, PermissionSet>,
    default: DefaultCeiling,
    nothing: PermissionSet,
}

impl Default for ClientPolicy {
    /// Caps no client.
    fn default() -> Self {
        ClientPolicy::unlimited()
    }
}

impl ClientPolicy {
    /// A policy that caps no client.
    pub fn unlimited() -> Self {
        ClientPolicy(Arc::new(Inner {
            clients: BTreeMap::new(),
            default: DefaultCeiling::Unlimited,
            nothing: PermissionSet::new(),
        }))
    }

    /// Validates `clients`; those it does not name get `default`.
    pub fn new(
        default: DefaultCeiling,
        clients: impl IntoIterator<Item = Client>,
    ) -> Result<Self, ClientPolicyError> {
        let mut resolved = BTreeMap::new();
        for client in clients {
            if client.id.is_empty() {
                return Err(ClientPolicyError::EmptyClientId);
            }
            let mut set = PermissionSet::new();
            for permission in &client.ceiling {
                if !crate::policy::valid_grant(permission) {
                    return Err(ClientPolicyError::InvalidPermission {
                        client: client.id.clone(),
                        permission: permission.clone(),
                    });
                }
                match permission.strip_suffix('*') {
                    Some(prefix) => set.insert_prefix(prefix),
                    None => set.insert(permission),
                }
            }
            if resolved.contains_key(&client.id) {
                return Err(ClientPolicyError::DuplicateClient(client.id));
            }
            resolved.insert(client.id, set);
        }
        Ok(ClientPolicy(Arc::new(Inner {
            clients: resolved,
            default,
            nothing: PermissionSet::new(),
        })))
    }

    /// The ceiling of `client`: its own when the policy names it, else the default (`None`:
    /// not capped).
    pub fn ceiling(&self, client: &str) -> Option<&PermissionSet> {
        self.lookup(Some(client))
    }

    /// What clients the policy does not name get.
    pub fn default_ceiling(&self) -> DefaultCeiling {
        self.0.default
    }

    /// Every client the policy names, sorted.
    pub fn clients(&self) -> Vec<&str> {
        self.0.clients.keys().map(String::as_str).collect()
    }

    fn lookup(&self, client: Option<&str>) -> Option<&PermissionSet> {
        match client.and_then(|id| self.0.clients.get(id)) {
            Some(set) => Some(set),
            None => match self.0.default {
                DefaultCeiling::Unlimited => None,
                DefaultCeiling::Nothing => Some(&self.0.nothing),
            },
        }
    }

    /// The combined ceiling of a token issued to `client` whose actor chain names the clients
    /// `actor_clients` (`None`: nothing caps it).
    pub(crate) fn ceiling_of<'a>(
        &self,
        client: Option<&'a str>,
        actor_clients: impl Iterator<Item = &'a str>,
    ) -> Option<PermissionSet> {
        if self.0.clients.is_empty() && self.0.default == DefaultCeiling::Unlimited {
            return None;
        }
        let mut combined: Option<PermissionSet> = None;
        let named = std::iter::once(client).chain(actor_clients.map(Some));
        for client in named {
            if let Some(ceiling) = self.lookup(client) {
                combined = Some(match combined {
                    None => ceiling.clone(),
                    Some(so_far) => so_far.intersection(ceiling),
                });
            }
        }
        combined
    }

    /// Loads a policy written in TOML: `default` (`"unlimited"` or `"none"`, required: a
    /// deployment says what unknown clients get) and one `[clients.<id>]` table per client with
    /// its `permissions` (the ceiling; `Prefix.*` allowed). Unknown keys and entries that are
    /// not permission names are errors with line and column.
    ///
    /// ```
    /// use mcp_rbac::{ClientPolicy, DefaultCeiling};
    ///
    /// let policy = ClientPolicy::from_toml_str(
    ///     r#"
    ///     default = "none"
    ///
    ///     [clients.readonly-agent]
    ///     permissions = ["Guest.Read"]
    ///
    ///     [clients.ide]
    ///     permissions = ["Guest.*", "User.*"]
    ///     "#,
    /// )?;
    /// assert_eq!(policy.clients(), ["ide", "readonly-agent"]);
    /// assert_eq!(policy.default_ceiling(), DefaultCeiling::Nothing);
    /// assert!(policy.ceiling("ide").unwrap().contains("User.Write"));
    /// assert!(policy.ceiling("unknown").unwrap().is_empty());
    ///
    /// let typo = ClientPolicy::from_toml_str("default = \"none\"\n[clients.x]\npermission = []\n");
    /// assert_eq!(
    ///     typo.unwrap_err().to_string(),
    ///     "client policy TOML at line 3, column 1: unknown field `permission`, expected `permissions`"
    /// );
    /// # Ok::<(), mcp_rbac::ClientPolicyError>(())
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml_str(toml: &str) -> Result<Self, ClientPolicyError> {
        let at = |message: String, offset: Option<usize>| {
            let (line, column) = match offset {
                Some(offset) => {
                    let (line, column) = crate::policy::line_column(toml, offset);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ClientPolicyError::Toml {
                message,
                line,
                column,
            }
        };
        let file: toml_format::PolicyFile = ::toml::from_str(toml)
            .map_err(|e| at(e.message().trim_end().to_owned(), e.span().map(|s| s.start)))?;
        let mut clients = Vec::new();
        for (id, entry) in file.clients {
            if id.is_empty() {
                return Err(ClientPolicyError::EmptyClientId);
            }
            let mut ceiling = Vec::new();
            for permission in entry.permissions {
                let span = permission.span();
                let permission = permission.into_inner();
                if !crate::policy::valid_grant(&permission) {
                    return Err(at(
                        format!(
                            "client `{id}` ceiling names `{permission}`, which is not a permission \
                             name or a `Prefix.*` wildcard"
                        ),
                        Some(span.start),
                    ));
                }
                ceiling.push(permission);
            }
            clients.push(Client::new(id).ceiling(ceiling));
        }
        let default = match file.default {
            toml_format::Default::Unlimited => DefaultCeiling::Unlimited,
            toml_format::Default::Nothing => DefaultCeiling::Nothing,
        };
        ClientPolicy::new(default, clients)
    }

    /// Reads and loads a TOML policy file (see [`from_toml_str`](Self::from_toml_str)).
    #[cfg(feature = "toml")]
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<Self, ClientPolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ClientPolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }
}

#[cfg(feature = "toml")]
mod toml_format {
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct PolicyFile {
        pub(super) default: Default,
        #[serde(default)]
        pub(super) clients: BTreeMap<String, ClientEntry>,
    }

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub(super) enum Default {
        Unlimited,
        #[serde(rename = "none")]
        Nothing,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct ClientEntry {
        pub(super) permissions: Vec<toml::Spanned<String>>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Actor;
    use crate::{Principal, Requirement};

    fn policy() -> ClientPolicy {
        ClientPolicy::new(
            DefaultCeiling::Unlimited,
            [
                Client::new("readonly-agent").ceiling(["Guest.Read"]),
                Client::new("ops-agent").ceiling(["Svc.Deploy.*", "Reports.*"]),
                Client::new("writer").ceiling(["User.*"]),
            ],
        )
        .unwrap()
    }

    fn principal(held: &[&str], wildcards: &[&str], client: Option<&str>) -> Principal {
        let roles =
            crate::RolePolicy::new([crate::Role::new("r").grants(wildcards.iter().copied())])
                .unwrap();
        let mut builder = Principal::builder("alice")
            .permissions(held.iter().copied())
            .permission_set(&roles.permissions_of(["r"]))
            .client_policy(&policy());
        if let Some(client) = client {
            builder = builder.client(client);
        }
        builder.build()
    }

    #[test]
    fn wildcards_intersect_both_ways() {
        // The user's wildcard, the client's exact name.
        let p = principal(&[], &["Guest.*", "Admin.*"], Some("readonly-agent"));
        assert!(p.has_permission("Guest.Read"));
        assert!(!p.has_permission("Guest.Write"));
        assert!(!p.has_permission("Admin.Write"));
        assert!(p.uncapped_permissions().contains("Admin.Write"));
        assert_eq!(p.permissions().names(), ["Guest.Read"]);
        // The client's wildcard, the user's exact names and a wider wildcard.
        let p = principal(
            &["Svc.Deploy.Prod", "Svc.Read"],
            &["Reports.Q3.*"],
            Some("ops-agent"),
        );
        assert!(p.has_permission("Svc.Deploy.Prod"));
        assert!(!p.has_permission("Svc.Read"), "outside the ceiling");
        assert!(p.has_permission("Reports.Q3.Eu"));
        assert!(
            !p.has_permission("Reports.Q4.Eu"),
            "outside what the user holds"
        );
        assert_eq!(p.permissions().names(), ["Svc.Deploy.Prod", "Reports.Q3.*"]);
        // Nested wildcards: the narrower one is what both hold.
        let p = principal(&[], &["Svc.*"], Some("ops-agent"));
        assert!(p.has_permission("Svc.Deploy.Prod.Eu"));
        assert!(!p.has_permission("Svc.Deploy"));
        assert!(!p.has_permission("Svc.Stop"));
    }

    #[test]
    fn any_is_judged_leaf_by_leaf() {
        let create: Requirement = "any(User.Write, Admin.Write)".parse().unwrap();
        // The user meets it with Admin.Write only, the client allows User.* only: neither
        // alternative is held on both sides, though each side alone meets `any`.
        let p = principal(&["Admin.Write"], &[], Some("writer"));
        assert!(create.is_met_by(p.uncapped_permissions()));
        assert!(create.is_met_by(p.client_ceiling().unwrap()));
        assert!(!create.is_met_by(p.permissions()));
        // With User.Write held too, that alternative passes.
        let p = principal(&["Admin.Write", "User.Write"], &[], Some("writer"));
        assert!(create.is_met_by(p.permissions()));
        let all: Requirement = "all(User.Write, Admin.Write)".parse().unwrap();
        assert!(!all.is_met_by(p.permissions()));
        assert!(all.is_met_by(p.uncapped_permissions()));
    }

    #[test]
    fn the_actor_chain_adds_its_clients_ceilings() {
        let policy = policy();
        let build = |client: Option<&str>, actors: Vec<Actor>| {
            let mut b = Principal::builder("alice")
                .permissions(["Guest.Read", "User.Write", "Admin.Write"])
                .actors(actors)
                .client_policy(&policy);
            if let Some(client) = client {
                b = b.client(client);
            }
            b.build()
        };
        let direct = build(Some("ide"), vec![]);
        assert!(direct.client_ceiling().is_none());
        assert!(direct.has_permission("Admin.Write"));
        let through_agent = build(
            Some("ide"),
            vec![
                Actor::new("svc-1"),
                Actor::new("agent-7").with_client_id("readonly-agent"),
            ],
        );
        assert_eq!(through_agent.permissions().names(), ["Guest.Read"]);
        // Two capped clients: the intersection of both ceilings.
        let both = build(
            Some("writer"),
            vec![Actor::new("agent-7").with_client_id("readonly-agent")],
        );
        assert!(both.permissions().is_empty());
        assert!(both.client_ceiling().unwrap().is_empty());
    }

    #[test]
    fn deny_by_default_caps_unnamed_and_clientless_tokens() {
        let policy = ClientPolicy::new(
            DefaultCeiling::Nothing,
            [Client::new("ide").ceiling(["User.*"])],
        )
        .unwrap();
        let build = |client: Option<&str>| {
            let mut b = Principal::builder("alice")
                .permissions(["User.Write"])
                .client_policy(&policy);
            if let Some(client) = client {
                b = b.client(client);
            }
            b.build()
        };
        assert!(build(Some("ide")).has_permission("User.Write"));
        assert!(!build(Some("stranger")).has_permission("User.Write"));
        assert!(!build(None).has_permission("User.Write"));
        assert!(build(None).uncapped_permissions().contains("User.Write"));
        // An unlimited policy caps nothing, whatever the client.
        let p = Principal::builder("alice")
            .permissions(["User.Write"])
            .client("stranger")
            .client_policy(&ClientPolicy::unlimited())
            .build();
        assert!(p.client_ceiling().is_none());
    }

    #[test]
    fn reapplying_a_policy_starts_from_the_uncapped_set() {
        let capped = principal(&["Admin.Write", "Guest.Read"], &[], Some("readonly-agent"));
        let loosened = capped.with_client_policy(&ClientPolicy::unlimited());
        assert!(loosened.has_permission("Admin.Write"));
        assert_eq!(loosened.client(), Some("readonly-agent"));
        let again = loosened.with_client_policy(&policy());
        assert_eq!(again.permissions().names(), ["Guest.Read"]);
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["", "A B", "*.Write", "Adm*n", "A*"] {
            let err =
                ClientPolicy::new(DefaultCeiling::Unlimited, [Client::new("c").ceiling([bad])])
                    .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("client `c` ceiling names `{bad}`, which is not a permission name or a `Prefix.*` wildcard")
            );
        }
        let err = ClientPolicy::new(
            DefaultCeiling::Unlimited,
            [Client::new("c"), Client::new("c")],
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "client `c` is defined twice");
        let err = ClientPolicy::new(DefaultCeiling::Unlimited, [Client::new("")]).unwrap_err();
        assert_eq!(err.to_string(), "a client id is empty");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_errors_name_the_key_or_the_permission() {
        let cases = [
            (
                "default = \"none\"\n[clients.agent]\npermissions = [\"Guest.Read\", \"Guest Read\"]\n",
                "client policy TOML at line 3, column 30: client `agent` ceiling names `Guest Read`, which is not a permission name or a `Prefix.*` wildcard",
            ),
            (
                "default = \"none\"\n[clients.agent]\npermissions = [\"Admin*\"]\n",
                "client policy TOML at line 3, column 16: client `agent` ceiling names `Admin*`, which is not a permission name or a `Prefix.*` wildcard",
            ),
            (
                "default = \"none\"\n[clients.agent]\npermissions = []\nroles = [\"x\"]\n",
                "client policy TOML at line 4, column 1: unknown field `roles`, expected `permissions`",
            ),
            (
                "default = \"none\"\n[client.agent]\npermissions = []\n",
                "client policy TOML at line 2, column 2: unknown field `client`, expected `default` or `clients`",
            ),
            (
                "[clients.agent]\npermissions = []\n",
                "client policy TOML at line 1, column 1: missing field `default`",
            ),
            (
                "default = \"deny\"\n",
                "client policy TOML at line 1, column 11: unknown variant `deny`, expected `unlimited` or `none`",
            ),
            (
                "default = \"none\"\n[clients.agent]\n",
                "client policy TOML at line 2, column 1: missing field `permissions`",
            ),
            (
                "default = \"none\"\n[clients.\"\"]\npermissions = []\n",
                "a client id is empty",
            ),
        ];
        for (toml, expected) in cases {
            let err = ClientPolicy::from_toml_str(toml).unwrap_err();
            assert_eq!(err.to_string(), expected, "{toml}");
        }
    }

    #[cfg(feature = "toml")]
    #[test]
    fn toml_policy_resolves_like_the_builder() {
        let policy = ClientPolicy::from_toml_str(
            "default = \"unlimited\"\n[clients.readonly-agent]\npermissions = [\"Guest.Read\"]\n[clients.ops]\npermissions = [\"Svc.*\"]\n",
        )
        .unwrap();
        assert_eq!(policy.clients(), ["ops", "readonly-agent"]);
        assert_eq!(policy.default_ceiling(), DefaultCeiling::Unlimited);
        assert_eq!(
            policy.ceiling("readonly-agent").unwrap().names(),
            ["Guest.Read"]
        );
        assert_eq!(policy.ceiling("ops").unwrap().names(), ["Svc.*"]);
        assert!(policy.ceiling("other").is_none());
        let empty = ClientPolicy::from_toml_str("default = \"none\"\n").unwrap();
        assert!(empty.clients().is_empty());
        assert!(empty.ceiling("x").unwrap().is_empty());
    }
}
