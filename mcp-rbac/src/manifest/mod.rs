//! The permission surface of a server as data: every tool, prompt and resource with its access
//! rule and argument condition, and ([`AccessMatrix`]) which role of a
//! [`RolePolicy`](crate::RolePolicy) may call each of them.

mod matrix;

use std::collections::BTreeMap;
use std::fmt;

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;

use crate::guard::{
    access_of_prompt, access_of_tool, condition_of_prompt, condition_of_tool, ResourceGuard,
};

pub use matrix::{AccessMatrix, MatrixError};

/// Item name → canonical access rule (`public`, `Admin.Write`, `any(A, B)`, …), for tools,
/// prompts and resources, and the argument condition each tool or prompt names. Items no guard
/// wrapped show as `unguarded` (and are refused at call time).
///
/// Every `#[mcp_rbac::tool_router]` writes a `{router}_manifest()` function returning one. It
/// serializes to JSON and reads back, so a command can review a manifest another program printed:
///
/// ```
/// use mcp_rbac::Manifest;
///
/// let manifest = Manifest::from_json(r#"{"tools": {"delete_product": "Admin.Write", "whoami": "public"}}"#)?;
/// assert_eq!(manifest.tools["delete_product"], "Admin.Write");
/// assert!(manifest.prompts.is_empty());
/// assert_eq!(Manifest::from_json(&manifest.to_json())?, manifest);
/// // A misspelled key is an error rather than an empty manifest.
/// assert!(Manifest::from_json(r#"{"tool": {}}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Tool name → rule.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    /// Prompt name → rule.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
    /// Resource URI or URI template → rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, String>,
    /// The argument conditions (`authorize = ..`) tools and prompts name, checked after their
    /// rule and the parsing of their arguments.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

/// Item name → the path of its argument condition as written (`Self::may_update`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Tool name → condition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, String>,
    /// Prompt name → condition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompts: BTreeMap<String, String>,
}

impl Conditions {
    fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.prompts.is_empty()
    }
}

/// The rule of an item no guard wrapped: nobody may call it.
pub(crate) const UNGUARDED: &str = "unguarded";

impl Manifest {
    /// The tools of a router.
    pub fn from_tools<S: Send + Sync + 'static>(router: &ToolRouter<S>) -> Self {
        let mut manifest = Manifest::default();
        for tool in router.list_all() {
            let rule =
                access_of_tool(&tool).map_or_else(|| UNGUARDED.to_owned(), |a| a.to_string());
            if let Some(condition) = condition_of_tool(&tool) {
                let condition = condition.to_owned();
                manifest
                    .conditions
                    .tools
                    .insert(tool.name.to_string(), condition);
            }
            manifest.tools.insert(tool.name.to_string(), rule);
        }
        manifest
    }

    /// The prompts of a router.
    pub fn from_prompts<S: Send + Sync + 'static>(router: &PromptRouter<S>) -> Self {
        let mut manifest = Manifest::default();
        for prompt in router.list_all() {
            let rule =
                access_of_prompt(&prompt).map_or_else(|| UNGUARDED.to_owned(), |a| a.to_string());
            if let Some(condition) = condition_of_prompt(&prompt) {
                let condition = condition.to_owned();
                manifest
                    .conditions
                    .prompts
                    .insert(prompt.name.clone(), condition);
            }
            manifest.prompts.insert(prompt.name, rule);
        }
        manifest
    }

    /// The resources and resource templates of a guard.
    pub fn from_resources(guard: &ResourceGuard) -> Self {
        let resources = guard
            .rules()
            .into_iter()
            .map(|(uri, access)| (uri.to_owned(), access.to_string()))
            .collect();
        Manifest {
            resources,
            ..Manifest::default()
        }
    }

    /// This manifest and `other`'s items together.
    pub fn merge(mut self, other: Manifest) -> Self {
        self.tools.extend(other.tools);
        self.prompts.extend(other.prompts);
        self.resources.extend(other.resources);
        self.conditions.tools.extend(other.conditions.tools);
        self.conditions.prompts.extend(other.conditions.prompts);
        self
    }

    /// The version of the rules decisions are made under, as audit records carry it: a SHA-256
    /// digest (hex, first 16 bytes) over every item's rule and every role's effective
    /// permissions (`policy`, sorted), so it changes when a requirement or the role policy
    /// does, and only then.
    pub fn policy_version(&self, policy: Option<&crate::RolePolicy>) -> String {
        let mut canonical = serde_json::to_string(self).unwrap_or_default();
        if let Some(policy) = policy {
            let mut roles = policy.roles();
            roles.sort_unstable();
            for role in roles {
                let mut names = policy.permissions_of([role]).names();
                names.sort_unstable();
                canonical.push('\n');
                canonical.push_str(role);
                canonical.push('=');
                canonical.push_str(&names.join(","));
            }
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        crate::audit::hex(&digest.as_ref()[..16])
    }

    /// Pretty JSON: `{"tools": {name: rule}, "prompts": {name: rule}, "resources": {uri: rule},
    /// "conditions": {"tools": {name: condition}, "prompts": {..}}}` (the last two when not empty).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads the JSON [`to_json`](Self::to_json) writes. Either map may be absent; any other key
    /// is an error. Rules are checked when a matrix is built ([`AccessMatrix::new`]).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

impl fmt::Display for Manifest {
    /// One line per item: `tool list_products: Guest.Read`, `tool update_product:
    /// any(User.Write, Admin.Write) if Self::may_update`, `resource products://audit: Admin.Read`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, kind, name, rule, condition: Option<&String>| {
            match condition {
                Some(condition) => writeln!(f, "{kind} {name}: {rule} if {condition}"),
                None => writeln!(f, "{kind} {name}: {rule}"),
            }
        };
        for (name, rule) in &self.tools {
            line(f, "tool", name, rule, self.conditions.tools.get(name))?;
        }
        for (name, rule) in &self.prompts {
            line(f, "prompt", name, rule, self.conditions.prompts.get(name))?;
        }
        for (uri, rule) in &self.resources {
            line(f, "resource", uri, rule, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, RolePolicy};

    fn manifest(rule: &str) -> Manifest {
        Manifest {
            tools: BTreeMap::from([("delete".to_owned(), rule.to_owned())]),
            ..Manifest::default()
        }
    }

    fn policy(grants: &[&str]) -> RolePolicy {
        RolePolicy::new([
            Role::new("admin")
                .grants(grants.iter().copied())
                .inherits(["user"]),
            Role::new("user").grants(["User.Read"]),
        ])
        .unwrap()
    }

    #[test]
    fn the_policy_version_follows_the_rules_and_only_them() {
        let base = manifest("Admin.Write").policy_version(Some(&policy(&["Admin.Write"])));
        // The same rules built again, roles in another order: the same version.
        let reordered = RolePolicy::new([
            Role::new("user").grants(["User.Read"]),
            Role::new("admin")
                .inherits(["user"])
                .grants(["Admin.Write"]),
        ])
        .unwrap();
        assert_eq!(
            base,
            manifest("Admin.Write").policy_version(Some(&reordered))
        );
        // A requirement changed, a grant changed: another version each.
        let requirement = manifest("Admin.Delete").policy_version(Some(&policy(&["Admin.Write"])));
        let grant = manifest("Admin.Write").policy_version(Some(&policy(&["Admin.Delete"])));
        assert_ne!(base, requirement);
        assert_ne!(base, grant);
        assert_ne!(requirement, grant);
        assert_eq!(base.len(), 32);
    }
}
