//! The check between principal and tool: every route the macros build runs [`Gate::check`] before
//! rmcp reads its arguments, and the handler methods filter lists through the same rule
//! ([`Listing`] says whether lists hide or show what the caller may not call). Resources, which
//! rmcp routes by hand, go through a [`ResourceGuard`].

pub(crate) mod built_once;
pub mod denial;
mod handler;
mod listing;
mod marker;
mod resource;
pub(crate) mod route;
mod uri_template;

use std::sync::Arc;

use rmcp::service::RequestContext;
use rmcp::RoleServer;

use crate::audit;
use crate::principal::{principal_from_context, Principal};
use crate::requirement::Access;
use crate::typed::BitCheck;

pub use handler::{
    call_tool, get_prompt, get_tool, list_prompts, list_tools, list_tools_built_once,
};
pub use listing::{ListMode, Listing, ALLOWED_KEY, REQUIRES_KEY};
pub use marker::{access_of_prompt, access_of_tool};
pub use resource::ResourceGuard;
pub use route::{guard_prompt, guard_tool};

/// Whether the guarded item is a tool, a prompt or a resource (it names the item in errors and
/// audit events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A tool (`tools/call`).
    Tool,
    /// A prompt (`prompts/get`).
    Prompt,
    /// A resource (`resources/read`), named by its URI.
    Resource,
}

impl ItemKind {
    /// `"tool"`, `"prompt"` or `"resource"`: the key of the item's name in a denial's `data`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Tool => "tool",
            ItemKind::Prompt => "prompt",
            ItemKind::Resource => "resource",
        }
    }
}

/// One item's access rule, with its canonical text computed once.
#[derive(Debug)]
pub struct Gate {
    kind: ItemKind,
    name: Arc<str>,
    access: Access,
    required: Arc<str>,
    /// The same rule as bits of a typed permission set, when the router declared one.
    bits: Option<BitCheck>,
}

impl Gate {
    /// A gate for the item `name`.
    pub fn new(kind: ItemKind, name: &str, access: Access) -> Self {
        Self::with_bits(kind, name, access, None)
    }

    /// A gate that checks `bits` (the same rule as `access`, as bits of a typed permission set).
    pub(crate) fn with_bits(
        kind: ItemKind,
        name: &str,
        access: Access,
        bits: Option<BitCheck>,
    ) -> Self {
        let required = access.to_string().into();
        Gate {
            kind,
            name: name.into(),
            access,
            required,
            bits,
        }
    }

    /// Allows the request's principal through, or says why not as a JSON-RPC error
    /// (401 without a principal, 403 without the permission). Every outcome is audited.
    pub fn check<'c>(
        &self,
        context: &'c RequestContext<RoleServer>,
    ) -> Result<&'c Principal, rmcp::ErrorData> {
        let Some(principal) = principal_from_context(context) else {
            audit::unauthenticated(self.kind, &self.name);
            return Err(denial::unauthenticated());
        };
        let allowed = match &self.bits {
            Some(bits) => bits.allows(principal.permissions()),
            None => allows(&self.access, principal),
        };
        if allowed {
            audit::allowed(self.kind, &self.name, principal, &self.required);
            Ok(principal)
        } else {
            audit::denied(self.kind, &self.name, principal, &self.required);
            Err(denial::forbidden(self.kind, &self.name, &self.required))
        }
    }
}

/// The one rule: public items need only a principal, the rest need their requirement met.
pub fn allows(access: &Access, principal: &Principal) -> bool {
    match access {
        Access::Public => true,
        Access::Requires(req) => req.is_met_by(principal.permissions()),
    }
}
