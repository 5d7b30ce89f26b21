//! Reading the principal out of an rmcp request, and the tool-parameter extractors.

use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::Principal;
use crate::denial;

/// The caller of this request, if authenticated.
///
/// Looks in the request context's extensions (where a stdio or custom transport can put one),
/// then in the HTTP request parts that rmcp's streamable HTTP service forwards (where the
/// [bearer layer](crate::bearer::BearerAuthLayer) puts one).
pub fn principal_from_context(context: &RequestContext<RoleServer>) -> Option<&Principal> {
    context.extensions.get::<Principal>().or_else(|| {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>())
    })
}

/// [`principal_from_context`] for a caller that looked up the HTTP request's `parts` already.
pub(crate) fn principal_in<'a>(
    context: &'a RequestContext<RoleServer>,
    parts: Option<&'a http::request::Parts>,
) -> Option<&'a Principal> {
    context
        .extensions
        .get::<Principal>()
        .or_else(|| parts.and_then(|parts| parts.extensions.get::<Principal>()))
}

impl<C: AsRequestContext> FromContextPart<C> for Principal {
    fn from_context_part(context: &mut C) -> Result<Self, rmcp::ErrorData> {
        principal_from_context(context.as_request_context())
            .cloned()
            .ok_or_else(denial::unauthenticated)
    }
}

/// The extractor behind an `Option<Principal>` tool parameter: `#[mcp_rbac::tool_router]`
/// rewrites `caller: Option<Principal>` to `OptionalPrincipal::<Principal>(caller):
/// OptionalPrincipal<Principal>`, because rmcp's extractor trait cannot be implemented for
/// `Option<Principal>` here. The parameter keeps naming the user's `Principal` path, so their
/// import stays used.
#[derive(Clone, Debug)]
pub struct OptionalPrincipal<P = Principal>(pub Option<P>);

impl<C: AsRequestContext> FromContextPart<C> for OptionalPrincipal<Principal> {
    fn from_context_part(context: &mut C) -> Result<Self, rmcp::ErrorData> {
        Ok(OptionalPrincipal(
            principal_from_context(context.as_request_context()).cloned(),
        ))
    }
}
