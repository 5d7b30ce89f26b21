//! The permission surface of a server as data: every tool and prompt with its access rule.

use std::collections::BTreeMap;
use std::fmt;

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;

use crate::guard::{access_of_prompt, access_of_tool};

/// Item name → canonical access rule (`public`, `Admin.Write`, `any(A, B)`, …), for tools and
/// prompts. Items no guard wrapped show as `unguarded` (and are refused at call time).
///
/// Every `#[mcp_rbac::tool_router]` writes a `{router}_manifest()` function returning one.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    /// Tool name → rule.
    pub tools: BTreeMap<String, String>,
    /// Prompt name → rule.
    pub prompts: BTreeMap<String, String>,
}

const UNGUARDED: &str = "unguarded";

impl Manifest {
    /// The tools of a router.
    pub fn from_tools<S: Send + Sync + 'static>(router: &ToolRouter<S>) -> Self {
        let tools = router
            .list_all()
            .iter()
            .map(|t| {
                let rule =
                    access_of_tool(t).map_or_else(|| UNGUARDED.to_owned(), |a| a.to_string());
                (t.name.to_string(), rule)
            })
            .collect();
        Manifest {
            tools,
            prompts: BTreeMap::new(),
        }
    }

    /// The prompts of a router.
    pub fn from_prompts<S: Send + Sync + 'static>(router: &PromptRouter<S>) -> Self {
        let prompts = router
            .list_all()
            .iter()
            .map(|p| {
                let rule =
                    access_of_prompt(p).map_or_else(|| UNGUARDED.to_owned(), |a| a.to_string());
                (p.name.clone(), rule)
            })
            .collect();
        Manifest {
            tools: BTreeMap::new(),
            prompts,
        }
    }

    /// This manifest and `other`'s items together.
    pub fn merge(mut self, other: Manifest) -> Self {
        self.tools.extend(other.tools);
        self.prompts.extend(other.prompts);
        self
    }

    /// Pretty JSON: `{"tools": {name: rule}, "prompts": {name: rule}}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for Manifest {
    /// One line per item: `tool list_products: Guest.Read`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, rule) in &self.tools {
            writeln!(f, "tool {name}: {rule}")?;
        }
        for (name, rule) in &self.prompts {
            writeln!(f, "prompt {name}: {rule}")?;
        }
        Ok(())
    }
}
