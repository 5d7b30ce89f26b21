//! Guarding MCP resources: rmcp has no resource router to wrap, so a server declares each resource
//! (or URI template) once, with the same requirement grammar as tools, and its `read_resource` /
//! `list_resources` ask this guard first. Denials are the tools' denials (`code` 403 with
//! `data: {"resource": uri, "required": …}`, 401 without a principal).

use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, Resource, ResourceTemplate, ResultType,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::json;

use super::handler::{cache_hints, list_principal, require_principal};
use super::uri_template::UriTemplate;
use super::{Gate, Listing};
use crate::audit;
use crate::authorizer::Authorization;
use crate::item::ItemKind;
use crate::metrics::{self, Decision};
use crate::principal::Principal;
use crate::requirement::{Access, Requirement};

/// The resources of a server with their access rules.
///
/// ```
/// use mcp_rbac::guard::{Listing, ResourceGuard};
/// use mcp_rbac::Requirement;
/// use rmcp::model::{ListResourcesResult, ReadResourceRequestParams, ReadResourceResult,
///     Resource, ResourceContents, ResourceTemplate};
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer};
///
/// fn resources() -> ResourceGuard {
///     ResourceGuard::new()
///         .requires(Resource::new("products://catalog", "catalog"), Requirement::permission("Guest.Read"))
///         .requires(Resource::new("products://audit", "audit"), Requirement::permission("Admin.Read"))
///         .requires_template(
///             ResourceTemplate::new("products://product/{id}", "product"),
///             Requirement::permission("Guest.Read"),
///         )
/// }
///
/// // In `impl ServerHandler`:
/// async fn read_resource(
///     guard: &ResourceGuard,
///     request: ReadResourceRequestParams,
///     context: RequestContext<RoleServer>,
/// ) -> Result<ReadResourceResult, ErrorData> {
///     guard.check(&request.uri, &context)?; // 401, 403 or not found before anything is read
///     Ok(ReadResourceResult::new(vec![ResourceContents::text("…", request.uri)]))
/// }
///
/// async fn list_resources(
///     guard: &ResourceGuard,
///     context: RequestContext<RoleServer>,
/// ) -> Result<ListResourcesResult, ErrorData> {
///     guard.list(&context, Listing::default()) // only what this caller may read
/// }
/// ```
#[derive(Debug, Default)]
pub struct ResourceGuard {
    resources: Vec<(Resource, Gate)>,
    templates: Vec<(ResourceTemplate, UriTemplate, Gate)>,
}

impl ResourceGuard {
    /// No resources: every URI is "not found".
    pub fn new() -> Self {
        Self::default()
    }

    /// `resource` (matched by its exact URI) needs `requirement`. A second rule for the same URI
    /// replaces the first.
    pub fn requires(self, resource: Resource, requirement: impl Into<Requirement>) -> Self {
        self.resource(resource, Access::Requires(requirement.into()))
    }

    /// `resource` needs only an authenticated caller.
    pub fn public(self, resource: Resource) -> Self {
        self.resource(resource, Access::Public)
    }

    /// Every URI matching `template` (RFC 6570 simple `{name}` expressions, each standing for one
    /// or more characters other than `/`, `?` and `#`) needs `requirement`. Exact resources are
    /// matched first, then templates in the order given.
    pub fn requires_template(
        self,
        template: ResourceTemplate,
        requirement: impl Into<Requirement>,
    ) -> Self {
        self.template(template, Access::Requires(requirement.into()))
    }

    /// Every URI matching `template` needs only an authenticated caller.
    pub fn public_template(self, template: ResourceTemplate) -> Self {
        self.template(template, Access::Public)
    }

    /// `resource` with any [`Access`].
    pub fn resource(mut self, resource: Resource, access: Access) -> Self {
        let gate = Gate::new(ItemKind::Resource, &resource.uri, access);
        self.resources.retain(|(r, _)| r.uri != resource.uri);
        self.resources.push((resource, gate));
        self
    }

    /// `template` with any [`Access`].
    pub fn template(mut self, template: ResourceTemplate, access: Access) -> Self {
        let gate = Gate::new(ItemKind::Resource, &template.uri_template, access);
        let pattern = UriTemplate::new(&template.uri_template);
        self.templates
            .retain(|(t, _, _)| t.uri_template != template.uri_template);
        self.templates.push((template, pattern, gate));
        self
    }

    fn gate_of(&self, uri: &str) -> Option<&Gate> {
        let exact = self.resources.iter().find(|(r, _)| r.uri == uri);
        exact.map(|(_, gate)| gate).or_else(|| {
            self.templates
                .iter()
                .find(|(_, pattern, _)| pattern.matches(uri))
                .map(|(_, _, gate)| gate)
        })
    }

    /// Before reading `uri`: the caller, or the denial to return (401 without a principal, 403
    /// without the permission, `resource_not_found` for a URI no rule covers, so nothing
    /// undeclared is ever read).
    pub fn check<'c>(
        &self,
        uri: &str,
        context: &'c RequestContext<RoleServer>,
    ) -> Result<&'c Principal, ErrorData> {
        match self.gate_of(uri) {
            Some(gate) => gate.check(context, None),
            None => {
                let started = metrics::start();
                require_principal(context, ItemKind::Resource, uri).inspect_err(|_| {
                    let kind = ItemKind::Resource.as_str();
                    metrics::decision(kind, "unknown", Decision::Deny, "no_principal", started);
                })?;
                Err(ErrorData::resource_not_found(
                    "resource not found",
                    Some(json!({ "uri": uri })),
                ))
            }
        }
    }

    /// `resources/list`: the resources this caller may read (all, under [`Listing::show`]).
    pub fn list(
        &self,
        context: &RequestContext<RoleServer>,
        listing: Listing,
    ) -> Result<ListResourcesResult, ErrorData> {
        let principal = list_principal(context, ItemKind::Resource, "resources/list")?;
        let authorization = Authorization::of_request(context);
        let resources = self
            .resources
            .iter()
            .filter_map(|(resource, gate)| {
                let mut resource = resource.clone();
                let allowed = gate.permits(authorization, &principal);
                listing
                    .present(&gate.access, allowed, &mut resource.meta)
                    .then_some(resource)
            })
            .collect::<Vec<_>>();
        let hidden = self.resources.len() - resources.len();
        let scope = audit::Scope::of_request(context);
        audit::listed(scope, "resources/list", &principal, resources.len(), hidden);
        let (ttl_ms, cache_scope) = cache_hints(context, listing);
        Ok(ListResourcesResult {
            result_type: Some(ResultType::COMPLETE),
            resources,
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        })
    }

    /// `resources/templates/list`, like [`list`](Self::list).
    pub fn list_templates(
        &self,
        context: &RequestContext<RoleServer>,
        listing: Listing,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let principal = list_principal(context, ItemKind::Resource, "resources/templates/list")?;
        let authorization = Authorization::of_request(context);
        let resource_templates = self
            .templates
            .iter()
            .filter_map(|(template, _, gate)| {
                let mut template = template.clone();
                let allowed = gate.permits(authorization, &principal);
                listing
                    .present(&gate.access, allowed, &mut template.meta)
                    .then_some(template)
            })
            .collect::<Vec<_>>();
        let hidden = self.templates.len() - resource_templates.len();
        let scope = audit::Scope::of_request(context);
        audit::listed(
            scope,
            "resources/templates/list",
            &principal,
            resource_templates.len(),
            hidden,
        );
        let (ttl_ms, cache_scope) = cache_hints(context, listing);
        Ok(ListResourceTemplatesResult {
            result_type: Some(ResultType::COMPLETE),
            resource_templates,
            meta: None,
            next_cursor: None,
            ttl_ms,
            cache_scope,
        })
    }

    /// URI or URI template → canonical rule, for review (like a router's manifest) and for
    /// [`ProtectedResource::scopes_from_resources`](crate::metadata::ProtectedResource::scopes_from_resources).
    pub fn rules(&self) -> Vec<(&str, &Access)> {
        let resources = self
            .resources
            .iter()
            .map(|(r, g)| (r.uri.as_str(), &g.access));
        let templates = self
            .templates
            .iter()
            .map(|(t, _, g)| (t.uri_template.as_str(), &g.access));
        resources.chain(templates).collect()
    }
}
