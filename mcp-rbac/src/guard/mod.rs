//! The check between principal and tool: every route the macros build checks its access rule before
//! rmcp reads its arguments, and the handler methods filter lists through the same rule
//! ([`Listing`] says whether lists hide or show what the caller may not call). Resources, which
//! rmcp routes by hand, go through a [`ResourceGuard`].

pub(crate) mod built_once;
pub(crate) mod condition;
pub(crate) mod handler;
mod listing;
mod marker;
mod resource;
pub(crate) mod route;
mod uri_template;

use std::sync::Arc;

use rmcp::service::RequestContext;
use rmcp::RoleServer;

use crate::audit;
use crate::authorizer::{Authorization, Query, Verdict};
use crate::denial;
use crate::item::ItemKind;
use crate::metrics::{self, Decision};
use crate::principal::{principal_from_context, Principal};
use crate::requirement::Access;

pub use listing::{ListMode, Listing, ALLOWED_KEY, REQUIRES_KEY};
pub use marker::{access_of_prompt, access_of_tool, condition_of_prompt, condition_of_tool};
pub use resource::ResourceGuard;
pub use route::{guard_prompt, guard_tool};

/// One item's access rule, with its canonical text computed once.
#[derive(Debug)]
pub(crate) struct Gate {
    kind: ItemKind,
    name: Arc<str>,
    access: Access,
    required: Arc<str>,
    granted: metrics::ItemMetrics,
}

impl Gate {
    /// A gate for the item `name`.
    pub(crate) fn new(kind: ItemKind, name: &str, access: Access) -> Self {
        let required = access.to_string().into();
        Gate {
            kind,
            name: name.into(),
            access,
            required,
            granted: metrics::ItemMetrics::default(),
        }
    }

    /// Allows the request's principal through, or says why not as a JSON-RPC error
    /// (401 without a principal, 403 without the permission). Every outcome is audited and
    /// counted.
    pub(crate) fn check<'c>(
        &self,
        context: &'c RequestContext<RoleServer>,
        arguments: Option<&rmcp::model::JsonObject>,
    ) -> Result<&'c Principal, rmcp::ErrorData> {
        let started = std::time::Instant::now();
        let counted_from = metrics::start();
        let counted = |decision, reason| {
            metrics::decision(
                self.kind.as_str(),
                &self.name,
                decision,
                reason,
                counted_from,
            );
        };
        let scope = audit::Scope::of_request(context);
        let Some(principal) = principal_from_context(context) else {
            audit::unauthenticated(scope, self.kind, &self.name);
            counted(Decision::Deny, "no_principal");
            return Err(denial::unauthenticated());
        };
        let authorization = Authorization::of_request(context);
        let checks_requirement = authorization.is_none_or(Authorization::checks_requirements);
        let allowed = !checks_requirement || allows(&self.access, principal);
        let refused_by_ceiling = !allowed && ceiling_refuses(&self.access, principal);
        let reason = if refused_by_ceiling {
            denial::CLIENT_CEILING
        } else {
            "missing_permission"
        };
        if allowed {
            if let Some(authorization) = authorization {
                let query = Query::new(principal, self.kind, &self.name, arguments);
                if let Verdict::Deny { reason, message } =
                    authorization.authorizer.authorize(&query)
                {
                    audit::refused(
                        scope,
                        self.kind,
                        &self.name,
                        principal,
                        &self.required,
                        reason,
                        arguments,
                        started,
                    );
                    counted(Decision::Deny, reason);
                    return Err(denial::refused(self.kind, &self.name, reason, &message));
                }
            }
        }
        audit::decided(
            scope,
            self.kind,
            &self.name,
            principal,
            &self.required,
            allowed,
            reason,
            arguments,
            started,
        );
        if allowed {
            let server = metrics::ServerId::of(
                context
                    .extensions
                    .get::<http::request::Parts>()
                    .map(|parts| &parts.extensions),
            );
            self.granted
                .granted(server, self.kind.as_str(), &self.name, counted_from);
            Ok(principal)
        } else if refused_by_ceiling {
            counted(Decision::Deny, reason);
            Err(denial::client_ceiling(
                self.kind,
                &self.name,
                &self.required,
                principal.client(),
            ))
        } else {
            counted(Decision::Deny, reason);
            Err(denial::forbidden(self.kind, &self.name, &self.required))
        }
    }
}

/// Whether a refusal is the client ceiling's alone: what the user holds, uncapped, meets the rule.
pub(crate) fn ceiling_refuses(access: &Access, principal: &Principal) -> bool {
    match access {
        Access::Public => false,
        Access::Requires(req) => {
            principal.client_ceiling().is_some() && req.is_met_by(principal.uncapped_permissions())
        }
    }
}

impl Gate {
    /// [`permits`] for this gate's item.
    pub(crate) fn permits(
        &self,
        authorization: Option<&Authorization>,
        principal: &Principal,
    ) -> bool {
        permits(
            authorization,
            self.kind,
            &self.name,
            &self.access,
            principal,
        )
    }
}

/// Whether `principal` may use the item (for lists: no arguments), by the requirement and the
/// server's authorizer as placed.
pub(crate) fn permits(
    authorization: Option<&Authorization>,
    kind: ItemKind,
    name: &str,
    access: &Access,
    principal: &Principal,
) -> bool {
    let Some(authorization) = authorization else {
        return allows(access, principal);
    };
    if authorization.checks_requirements() && !allows(access, principal) {
        return false;
    }
    let query = Query::new(principal, kind, name, None);
    authorization.authorizer.authorize(&query).is_allow()
}

/// The one rule: public items need only a principal, the rest need their requirement met.
pub(crate) fn allows(access: &Access, principal: &Principal) -> bool {
    match access {
        Access::Public => true,
        Access::Requires(req) => req.is_met_by(principal.permissions()),
    }
}
