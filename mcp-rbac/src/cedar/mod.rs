//! Cedar policies as an [`Authorizer`]: the `cedar` guide (`mcp-rbac/docs/cedar.md`) describes
//! the entities, the context and the start-up checks.

mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, ResourceConstraint, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use rmcp::model::{JsonObject, Prompt, Tool};
use serde_json::Value;

use crate::authorizer::{Authorizer, Query, Verdict};
use crate::guard::ResourceGuard;
use crate::item::ItemKind;
use crate::permissions::PermissionSet;
use crate::principal::Principal;

use schema::{ArgType, Fields};

/// `data.reason` when the policies do not permit the request (no `permit` applies, or a `forbid`
/// does).
pub const POLICY_DENIED: &str = "policy_denied";
/// `data.reason` when the request could not be evaluated (an argument of the wrong type for the
/// schema, a policy that errs on it): denied, as every failure is.
pub const POLICY_ERROR: &str = "policy_error";

/// How many principals' entity stores are kept (each a few hundred bytes to a few kilobytes).
const PRINCIPAL_CACHE: usize = 4096;

/// Why a Cedar policy set was refused at start. The message names the policy, the tool, the
/// argument or the attribute at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CedarError {
    /// The text is not Cedar.
    #[error("the Cedar policies do not parse: {0}")]
    Parse(String),
    /// The schema made from the tools could not be built (a bug, or a tool schema Cedar cannot
    /// hold).
    #[error("the Cedar schema made from the tools is invalid: {0}")]
    Schema(String),
    /// The policies do not validate against the schema: an unknown argument field, principal
    /// attribute, action or entity type, or a type error.
    #[error("the Cedar policies do not validate against the server's schema: {0}")]
    Invalid(String),
    /// A policy reads an argument or a principal attribute the schema does not have (behind
    /// `has`, which Cedar's validator accepts as always false).
    #[error("policy `{policy}` reads {variable}.{attribute}, which {what}{hint}")]
    UnknownAttribute {
        /// The policy's id.
        policy: String,
        /// `context` or `principal`.
        variable: &'static str,
        /// The attribute.
        attribute: String,
        /// What is missing it.
        what: &'static str,
        /// A did-you-mean suggestion, or nothing.
        hint: String,
    },
    /// A policy names a tool, prompt or resource the server does not have.
    #[error("policy `{policy}` names {entity}, which this server does not have{hint}")]
    UnknownEntity {
        /// The policy's id (`policy0`, … in file order, or its `@id` annotation).
        policy: String,
        /// The entity, as Cedar writes it (`Tool::"delte_product"`).
        entity: String,
        /// A did-you-mean suggestion, or nothing.
        hint: String,
    },
}

/// Evaluates Cedar policies for every call, prompt and resource read, with the principal as
/// `User::"<sub>"` (its roles as parents `Role::"<role>"`), the action `Action::"call_tool"`,
/// `Action::"get_prompt"` or `Action::"read_resource"`, the item as `Tool::"<name>"`,
/// `Prompt::"<name>"` or `Resource::"<uri>"`, and the arguments as the context. Built with
/// [`CedarAuthorizer::builder`]; the policies are validated against a schema made from the
/// server's tools, prompts and resources, and checked for names the server does not have.
pub struct CedarAuthorizer {
    policies: PolicySet,
    schema_source: Value,
    actions: [EntityUid; 3],
    /// Per action (tool, prompt, resource): the policies that can apply to a request for an item
    /// the server does not list…
    by_action: [PolicySet; 3],
    /// …and, per listed item, the policies that can apply to a request for it: see [`subset`].
    by_item: [HashMap<String, PolicySet>; 3],
    resource_types: [EntityTypeName; 3],
    user_type: EntityTypeName,
    role_type: EntityTypeName,
    /// The principal attributes some policy may read: an attribute name no policy mentions
    /// (as `x.name` or `x has name`, on any expression) is not built.
    read: PrincipalReads,
    tool_fields: Fields,
    prompt_fields: Fields,
    /// The arguments some policy may read (as `x.name` or `x has name`), when no policy uses
    /// `context` whole (`context == {…}`): an argument no policy can observe is converted (a
    /// wrong type still errs) but left out of the context. `None`: every argument is put in.
    context_read: Option<HashSet<String>>,
    roles: Vec<String>,
    authorizer: cedar_policy::Authorizer,
    /// Each principal's one-entity store, so its transitive closure (`compute_tc`) and its
    /// attributes are built once per principal, not per decision. Keyed by everything the
    /// entity is built from, compared in full on a hit.
    principals: quick_cache::sync::Cache<PrincipalKey, Arc<PrincipalEntities>>,
}

/// A principal's entity in a store of its own, with its uid for the request.
struct PrincipalEntities {
    uid: EntityUid,
    entities: Entities,
}

/// What a principal's entity is built from (subject and roles always; each attribute only when
/// some policy reads it, else `None`): the key of [`CedarAuthorizer::principals`]. Looked up
/// with a borrowed [`PrincipalView`]; a hit compares every field, so principals whose keys
/// share a hash never share an entity.
#[derive(Debug, PartialEq, Eq)]
struct PrincipalKey {
    subject: String,
    roles: Vec<String>,
    issuer: Option<String>,
    permissions: Option<PermissionSet>,
    scopes: Option<Vec<String>>,
    /// The string claims read, in [`PrincipalReads::claims`] order (`None`: absent or not a
    /// string).
    claims: Vec<Option<String>>,
}

/// A [`PrincipalKey`] borrowed from a [`Principal`].
#[derive(Debug, PartialEq, Eq)]
struct PrincipalView<'a> {
    subject: &'a str,
    roles: &'a [String],
    issuer: Option<&'a str>,
    permissions: Option<&'a PermissionSet>,
    scopes: Option<&'a [String]>,
    claims: Vec<Option<&'a str>>,
}

impl PrincipalView<'_> {
    fn to_key(&self) -> PrincipalKey {
        PrincipalKey {
            subject: self.subject.to_owned(),
            roles: self.roles.to_vec(),
            issuer: self.issuer.map(str::to_owned),
            permissions: self.permissions.cloned(),
            scopes: self.scopes.map(<[String]>::to_vec),
            claims: self.claims.iter().map(|c| c.map(str::to_owned)).collect(),
        }
    }
}

impl PrincipalKey {
    fn view(&self) -> PrincipalView<'_> {
        PrincipalView {
            subject: &self.subject,
            roles: &self.roles,
            issuer: self.issuer.as_deref(),
            permissions: self.permissions.as_ref(),
            scopes: self.scopes.as_deref(),
            claims: self.claims.iter().map(Option::as_deref).collect(),
        }
    }
}

/// The permissions are left out of the hash (a set has no order to hash in) but not out of the
/// comparison: equal views and keys hash alike, as the cache needs.
impl Hash for PrincipalView<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.subject.hash(state);
        self.roles.hash(state);
        self.issuer.hash(state);
        self.scopes.hash(state);
        self.claims.hash(state);
    }
}

impl Hash for PrincipalKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.view().hash(state);
    }
}

impl quick_cache::Equivalent<PrincipalKey> for PrincipalView<'_> {
    fn equivalent(&self, key: &PrincipalKey) -> bool {
        *self == key.view()
    }
}

/// Which of the principal's attributes the policies mention.
#[derive(Debug, Default)]
struct PrincipalReads {
    sub: bool,
    iss: bool,
    permissions: bool,
    roles: bool,
    scopes: bool,
    /// The string claims read, with their attribute names.
    claims: Vec<(String, String)>,
}

impl std::fmt::Debug for CedarAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarAuthorizer")
            .field("policies", &self.policies.policies().count())
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Collects what a [`CedarAuthorizer`] checks its policies against.
#[derive(Debug)]
pub struct CedarAuthorizerBuilder {
    text: String,
    tools: Vec<Tool>,
    prompts: Vec<Prompt>,
    resources: Vec<String>,
    string_claims: Vec<String>,
}

impl CedarAuthorizer {
    /// Starts from the policies' text (the content of a `.cedar` file).
    pub fn builder(policies: impl Into<String>) -> CedarAuthorizerBuilder {
        CedarAuthorizerBuilder {
            text: policies.into(),
            tools: Vec::new(),
            prompts: Vec::new(),
            resources: Vec::new(),
            string_claims: Vec::new(),
        }
    }

    /// The roles the policies name (`Role::"admin"`), sorted: for a development issuer minting
    /// a token per role.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// The schema the policies were validated against, in Cedar's JSON schema format (for
    /// review, or for the Cedar CLI).
    pub fn schema_json(&self) -> Value {
        self.schema_source.clone()
    }

    /// Decides as [`Authorizer::authorize`] does, evaluating every policy instead of only those
    /// that can apply to the item: slower, and always the same verdict; the reference the
    /// per-item selection is tested against.
    pub fn authorize_with_every_policy(&self, query: &Query<'_>) -> Verdict {
        verdict(query, self.decide(query, Some(&self.policies)))
    }

    /// `policies`: the set to evaluate, `None` for the ones that can apply to the item.
    fn decide(&self, query: &Query<'_>, policies: Option<&PolicySet>) -> Result<bool, String> {
        let (index, fields) = match query.kind {
            ItemKind::Tool => (0, Some(&self.tool_fields)),
            ItemKind::Prompt => (1, Some(&self.prompt_fields)),
            ItemKind::Resource => (2, None),
        };
        let action = &self.actions[index];
        let policies = policies.unwrap_or_else(|| {
            self.by_item[index]
                .get(query.name)
                .unwrap_or(&self.by_action[index])
        });
        let principal = self.principal_entities(query.principal)?;
        let resource = EntityUid::from_type_name_and_id(
            self.resource_types[index].clone(),
            EntityId::new(query.name),
        );
        let context = match (fields, query.arguments) {
            (Some(fields), Some(arguments)) => {
                context_of(fields, self.context_read.as_ref(), arguments)?
            }
            _ => Context::empty(),
        };
        // Not validated against the schema again per request: the context holds only
        // arguments converted to their schema types, and the principal only its fixed
        // attributes (validating both each time costs most of a decision).
        let request = Request::new(
            principal.uid.clone(),
            action.clone(),
            resource,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let response = self
            .authorizer
            .is_authorized(&request, policies, &principal.entities);
        if let Some(error) = response.diagnostics().errors().next() {
            return Err(error.to_string());
        }
        Ok(response.decision() == Decision::Allow)
    }

    /// The principal's store, from the cache or built (and kept) on a miss. A failure is not
    /// kept: it recurs, and is reported, on every call.
    fn principal_entities(&self, principal: &Principal) -> Result<Arc<PrincipalEntities>, String> {
        let read = &self.read;
        let claims = principal.claims();
        let view = PrincipalView {
            subject: principal.subject(),
            roles: principal.roles(),
            issuer: principal.issuer().filter(|_| read.iss),
            permissions: read.permissions.then(|| principal.permissions()),
            scopes: read.scopes.then(|| principal.scopes()),
            claims: read
                .claims
                .iter()
                .map(|(name, _)| match claims.get(name) {
                    Some(Value::String(value)) => Some(value.as_str()),
                    _ => None,
                })
                .collect(),
        };
        if let Some(found) = self.principals.get(&view) {
            return Ok(found);
        }
        let entity = self.principal_entity(principal)?;
        let uid = entity.uid();
        let entities = Entities::from_entities([entity], None).map_err(|e| e.to_string())?;
        let built = Arc::new(PrincipalEntities { uid, entities });
        self.principals.insert(view.to_key(), Arc::clone(&built));
        Ok(built)
    }

    fn principal_entity(&self, principal: &Principal) -> Result<Entity, String> {
        let strings = |items: &[String]| {
            RestrictedExpression::new_set(
                items
                    .iter()
                    .map(|s| RestrictedExpression::new_string(s.clone())),
            )
        };
        let read = &self.read;
        let mut attrs = HashMap::with_capacity(5 + read.claims.len());
        if read.sub {
            attrs.insert(
                "sub".to_owned(),
                RestrictedExpression::new_string(principal.subject().to_owned()),
            );
        }
        if let (true, Some(issuer)) = (read.iss, principal.issuer()) {
            attrs.insert(
                "iss".to_owned(),
                RestrictedExpression::new_string(issuer.to_owned()),
            );
        }
        if read.permissions {
            attrs.insert(
                "permissions".to_owned(),
                strings(&principal.permissions().names()),
            );
        }
        if read.roles {
            attrs.insert("roles".to_owned(), strings(principal.roles()));
        }
        if read.scopes {
            attrs.insert("scopes".to_owned(), strings(principal.scopes()));
        }
        if !read.claims.is_empty() {
            let claims = principal.claims();
            for (name, attribute) in &read.claims {
                if let Some(Value::String(value)) = claims.get(name) {
                    attrs.insert(
                        attribute.clone(),
                        RestrictedExpression::new_string(value.clone()),
                    );
                }
            }
        }
        let parents: HashSet<EntityUid> = principal
            .roles()
            .iter()
            .map(|r| EntityUid::from_type_name_and_id(self.role_type.clone(), EntityId::new(r)))
            .collect();
        let user = EntityUid::from_type_name_and_id(
            self.user_type.clone(),
            EntityId::new(principal.subject()),
        );
        Entity::new(user, attrs, parents).map_err(|e| e.to_string())
    }
}

impl Authorizer for CedarAuthorizer {
    fn authorize(&self, query: &Query<'_>) -> Verdict {
        verdict(query, self.decide(query, None))
    }
}

fn verdict(query: &Query<'_>, decision: Result<bool, String>) -> Verdict {
    match decision {
        Ok(true) => Verdict::Allow,
        Ok(false) => Verdict::deny(POLICY_DENIED, "the authorization policy does not permit it"),
        Err(error) => {
            tracing::warn!(target: "mcp_rbac::audit", kind = query.kind.as_str(), name = query.name, error, "Cedar evaluation failed: denied");
            Verdict::deny(
                POLICY_ERROR,
                "the authorization policy could not be evaluated for this call",
            )
        }
    }
}

impl CedarAuthorizerBuilder {
    /// The server's tools (e.g. `Server::tool_router().list_all()`): each becomes a `Tool`
    /// entity, and their input schemas type the context of `call_tool`.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// The server's prompts: each becomes a `Prompt` entity, their arguments (strings) the
    /// context of `get_prompt`.
    pub fn prompts(mut self, prompts: impl IntoIterator<Item = Prompt>) -> Self {
        self.prompts.extend(prompts);
        self
    }

    /// The server's guarded resources: each URI (or URI template) becomes a `Resource` entity.
    pub fn resources(mut self, guard: &ResourceGuard) -> Self {
        self.resources
            .extend(guard.rules().into_iter().map(|(uri, _)| uri.to_owned()));
        self
    }

    /// A string claim of the token the policies may read, as the principal's optional attribute
    /// `claim_<name>` (e.g. `email` → `principal.claim_email`).
    pub fn string_claim(mut self, name: impl Into<String>) -> Self {
        self.string_claims.push(name.into());
        self
    }

    /// Parses and validates the policies (strict mode) against the schema made from what was
    /// given, and checks every `Tool::`, `Prompt::` and `Resource::` they name exists.
    pub fn build(self) -> Result<CedarAuthorizer, CedarError> {
        let policies =
            PolicySet::from_str(&self.text).map_err(|e| CedarError::Parse(render(&e)))?;
        let generated = schema::generate(&self.tools, &self.prompts, &self.string_claims);
        let schema = Schema::from_json_value(generated.json.clone())
            .map_err(|e| CedarError::Schema(render(&e)))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        let context_names: BTreeSet<&str> = generated
            .tool_fields
            .keys()
            .chain(generated.prompt_fields.keys())
            .map(String::as_str)
            .collect();
        let principal_names: BTreeSet<&str> = generated
            .principal_attributes
            .iter()
            .map(String::as_str)
            .collect();
        for policy in policies.policies() {
            let json = policy
                .to_json()
                .map_err(|e| CedarError::Parse(render(&e)))?;
            if let Some((variable, attribute)) =
                unknown_attribute(&json, &context_names, &principal_names)
            {
                let (names, what) = match variable {
                    "context" => (&context_names, "is not an argument of any tool or prompt"),
                    _ => (&principal_names, "is not an attribute of the principal"),
                };
                return Err(CedarError::UnknownAttribute {
                    policy: policy_name(policy),
                    variable,
                    hint: did_you_mean(&attribute, names)
                        .map(|n| format!(" (did you mean {variable}.{n}?)"))
                        .unwrap_or_default(),
                    attribute,
                    what,
                });
            }
        }
        // Warnings too: an impossible policy (a `forbid` that can never apply is a hole) or
        // confusable identifiers.
        if !validation.validation_passed_without_warnings() {
            let problems: Vec<String> = validation
                .validation_errors()
                .map(render_diagnostic)
                .chain(validation.validation_warnings().map(render_diagnostic))
                .collect();
            return Err(CedarError::Invalid(problems.join("; ")));
        }
        let known: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::from([
            ("Tool", self.tools.iter().map(|t| t.name.as_ref()).collect()),
            (
                "Prompt",
                self.prompts.iter().map(|p| p.name.as_str()).collect(),
            ),
            (
                "Resource",
                self.resources.iter().map(String::as_str).collect(),
            ),
        ]);
        let mut attributes = BTreeSet::new();
        let mut whole_context = false;
        for policy in policies.policies() {
            let json = policy
                .to_json()
                .map_err(|e| CedarError::Parse(render(&e)))?;
            attribute_names(&json, &mut attributes);
            whole_context |= uses_context_whole(&json);
        }
        let context_read = (!whole_context).then(|| attributes.iter().cloned().collect());
        let read = PrincipalReads {
            sub: attributes.contains("sub"),
            iss: attributes.contains("iss"),
            permissions: attributes.contains("permissions"),
            roles: attributes.contains("roles"),
            scopes: attributes.contains("scopes"),
            claims: self
                .string_claims
                .iter()
                .map(|name| (name.clone(), schema::claim_attribute(name)))
                .filter(|(_, attribute)| attributes.contains(attribute.as_str()))
                .collect(),
        };
        let mut roles = BTreeSet::new();
        for policy in policies.policies() {
            for entity in policy.entity_literals() {
                let kind = entity.type_name().to_string();
                let id = entity.id().unescaped().to_owned();
                if kind == "Role" {
                    roles.insert(id);
                    continue;
                }
                let Some(names) = known.get(kind.as_str()) else {
                    continue;
                };
                if !names.contains(id.as_str()) {
                    return Err(CedarError::UnknownEntity {
                        policy: policy_name(policy),
                        entity: entity.to_string(),
                        hint: did_you_mean(&id, names)
                            .map(|n| format!(" (did you mean {kind}::\"{n}\"?)"))
                            .unwrap_or_default(),
                    });
                }
            }
        }
        let actions = [
            uid("Action", "call_tool"),
            uid("Action", "get_prompt"),
            uid("Action", "read_resource"),
        ];
        let resource_types = ["Tool", "Prompt", "Resource"].map(type_name);
        let names: [Vec<&str>; 3] = [
            self.tools.iter().map(|t| t.name.as_ref()).collect(),
            self.prompts.iter().map(|p| p.name.as_str()).collect(),
            self.resources.iter().map(String::as_str).collect(),
        ];
        let mut by_action: [PolicySet; 3] = Default::default();
        let mut by_item: [HashMap<String, PolicySet>; 3] = Default::default();
        for index in 0..3 {
            by_action[index] = subset(&policies, &actions[index], None)?;
            for name in &names[index] {
                let resource = EntityUid::from_type_name_and_id(
                    resource_types[index].clone(),
                    EntityId::new(*name),
                );
                by_item[index].insert(
                    (*name).to_owned(),
                    subset(&policies, &actions[index], Some(&resource))?,
                );
            }
        }
        Ok(CedarAuthorizer {
            policies,
            schema_source: generated.json,
            actions,
            by_action,
            by_item,
            resource_types,
            user_type: type_name("User"),
            role_type: type_name("Role"),
            read,
            tool_fields: generated.tool_fields,
            prompt_fields: generated.prompt_fields,
            context_read,
            roles: roles.into_iter().collect(),
            authorizer: cedar_policy::Authorizer::new(),
            principals: quick_cache::sync::Cache::new(PRINCIPAL_CACHE),
        })
    }
}

fn type_name(kind: &str) -> EntityTypeName {
    // The type names are this module's constants, all valid Cedar identifiers.
    EntityTypeName::from_str(kind).unwrap_or_else(|_| unreachable!("{kind}"))
}

fn uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(kind), EntityId::new(id))
}

/// The policies that can apply to `action` on `resource` (a listed item), or on an item the
/// server does not list (`None`): all of them but
/// - those whose scope says `action == <another>` or `resource == <another>` (for an unlisted
///   item, `resource == <any>`): their scope is false;
/// - those whose first condition is a `when` whose left-most conjunct is `resource == E`,
///   `resource in E` or `resource in [E1, …]` with literal entities, none of them the item (for
///   an unlisted item, any such: the start-up check has made every `Tool::`, `Prompt::` and
///   `Resource::` literal a listed item). The request's resource has no ancestors (the entity
///   store holds only the principal), so `resource in E` holds only when it is E, and that
///   conjunct is false, without error, for every other item.
///
/// Cedar evaluates a policy as `scope && when₁ && … && !unless₁ && …`, left to right, and `&&`
/// stops at the first false without evaluating (or erring on) the rest: a left-out policy would
/// have been neither satisfied nor in error, so leaving it out changes neither the decision nor
/// the errors.
///
/// For a listed item, each policy kept is also specialised to it: a scope `action == A` or
/// `resource == E` naming it, and a leading `resource ==`/`in` conjunct naming it, are true for
/// every request the set serves, and are dropped (see [`specialise`]). Cedar's `true && X` is
/// `X`, with the same errors (the `&&` joining `X` to the rest of the condition still requires a
/// boolean), so the decision and the errors stay the same, with fewer expressions evaluated.
fn subset(
    policies: &PolicySet,
    action: &EntityUid,
    resource: Option<&EntityUid>,
) -> Result<PolicySet, CedarError> {
    let mut set = PolicySet::new();
    for policy in policies.policies() {
        let action_matches = match policy.action_constraint() {
            ActionConstraint::Eq(other) => &other == action,
            _ => true,
        };
        let resource_matches = match policy.resource_constraint() {
            ResourceConstraint::Eq(other) => resource == Some(&other),
            _ => true,
        };
        let json = policy
            .to_json()
            .map_err(|e| CedarError::Parse(render(&e)))?;
        let condition_matches = match leading_resource_condition(&json) {
            Some(entities) => resource.is_some_and(|r| entities.contains(r)),
            None => true,
        };
        if action_matches && resource_matches && condition_matches {
            let policy = match resource {
                Some(_) => {
                    let mut json = json;
                    specialise(&mut json);
                    cedar_policy::Policy::from_json(Some(policy.id().clone()), json)
                        .map_err(|e| CedarError::Parse(render(&e)))?
                }
                None => policy.clone(),
            };
            set.add(policy).map_err(|e| CedarError::Parse(render(&e)))?;
        }
    }
    Ok(set)
}

/// A policy's JSON form, kept for a listed item by [`subset`], without what is true for every
/// request for that item: the scope's `action ==` and `resource ==` (the only ones the item's set
/// keeps name its action and the item) become unconstrained, and the first `when` loses its
/// left-most conjunct if that is a `resource ==`/`in` of literal entities (one of which is the
/// item, else the policy would have been left out), or the whole condition if it is only that.
fn specialise(json: &mut Value) {
    for scope in ["action", "resource"] {
        if let Some(constraint) = json.get_mut(scope) {
            if constraint.get("op").and_then(Value::as_str) == Some("==") {
                *constraint = serde_json::json!({"op": "All"});
            }
        }
    }
    if leading_resource_condition(json).is_none() {
        return;
    }
    let Some(Value::Array(conditions)) = json.get_mut("conditions") else {
        return;
    };
    let Some(body) = conditions.first_mut().and_then(|c| c.get_mut("body")) else {
        return;
    };
    match without_leading_conjunct(body) {
        Some(rest) => *body = rest,
        None => {
            conditions.remove(0);
        }
    }
}

/// `expr` (a chain of `&&`) without its left-most conjunct; `None` when `expr` is that conjunct
/// alone.
fn without_leading_conjunct(expr: &Value) -> Option<Value> {
    let and = expr.get("&&")?;
    let (Some(left), Some(right)) = (and.get("left"), and.get("right")) else {
        return Some(expr.clone());
    };
    Some(match without_leading_conjunct(left) {
        None => right.clone(),
        Some(rest) => serde_json::json!({"&&": {"left": rest, "right": right}}),
    })
}

/// The entities the left-most conjunct of a policy's first condition requires the resource to be,
/// when that condition is a `when` and the conjunct `resource == E`, `resource in E` or
/// `resource in [E1, …]` with literal entities only; `None` for any other start.
fn leading_resource_condition(json: &Value) -> Option<Vec<EntityUid>> {
    let first = json.get("conditions")?.as_array()?.first()?;
    if first.get("kind")?.as_str()? != "when" {
        return None;
    }
    let mut conjunct = first.get("body")?;
    while let Some(and) = conjunct.get("&&") {
        conjunct = and.get("left")?;
    }
    let object = conjunct.as_object().filter(|o| o.len() == 1)?;
    let (operator, operands) = object.iter().next()?;
    if operands.get("left")?.get("Var")?.as_str()? != "resource" {
        return None;
    }
    let right = operands.get("right")?;
    let literals: Vec<&Value> = match (operator.as_str(), right.get("Set")) {
        ("in", Some(Value::Array(items))) => items.iter().collect(),
        ("in" | "==", _) => vec![right],
        _ => return None,
    };
    literals
        .into_iter()
        .map(|literal| {
            let entity = literal.get("Value")?.get("__entity")?;
            EntityUid::from_json(serde_json::json!({ "__entity": entity })).ok()
        })
        .collect()
}

/// Every attribute name a policy's JSON form reads (`x.name`, `x has name`, on any expression).
fn attribute_names(json: &Value, names: &mut BTreeSet<String>) {
    match json {
        Value::Object(object) => {
            for key in ["has", "."] {
                if let Some(Value::Object(access)) = object.get(key) {
                    match access.get("attr") {
                        Some(Value::String(a)) => {
                            names.insert(a.clone());
                        }
                        Some(Value::Array(path)) => {
                            names.extend(path.iter().filter_map(Value::as_str).map(str::to_owned));
                        }
                        _ => {}
                    }
                }
            }
            for value in object.values() {
                attribute_names(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| attribute_names(v, names)),
        _ => {}
    }
}

/// Whether a policy's JSON form uses `context` other than as the record of an attribute read
/// (`context.x`, `context has x`): compared, put in a set, or the like.
fn uses_context_whole(json: &Value) -> bool {
    match json {
        Value::Object(object) => {
            if object.get("Var").and_then(Value::as_str) == Some("context") {
                return true;
            }
            object
                .iter()
                .any(|(key, value)| match (key.as_str(), value) {
                    ("." | "has", Value::Object(access)) => access.iter().any(|(part, value)| {
                        let read_of_context = part == "left"
                            && value.get("Var").and_then(Value::as_str) == Some("context");
                        !read_of_context && uses_context_whole(value)
                    }),
                    _ => uses_context_whole(value),
                })
        }
        Value::Array(items) => items.iter().any(uses_context_whole),
        _ => false,
    }
}

/// The context of a call: each argument the schema types, converted to it; the others left out
/// (the tool's own parsing refuses what its schema does not allow), and so are those not in
/// `read` (when given) once converted.
fn context_of(
    fields: &Fields,
    read: Option<&HashSet<String>>,
    arguments: &JsonObject,
) -> Result<Context, String> {
    let mut pairs = Vec::with_capacity(arguments.len());
    for (name, value) in arguments {
        let Some(ty) = fields.get(name) else {
            continue;
        };
        let value = convert(ty, value).map_err(|e| format!("argument `{name}`: {e}"))?;
        if let (Some(value), true) = (value, read.is_none_or(|read| read.contains(name))) {
            pairs.push((name.clone(), value));
        }
    }
    Context::from_pairs(pairs).map_err(|e| e.to_string())
}

/// `value` as `ty`; `None` for JSON `null` (an absent optional field).
fn convert(ty: &ArgType, value: &Value) -> Result<Option<RestrictedExpression>, String> {
    Ok(Some(match (ty, value) {
        (_, Value::Null) => return Ok(None),
        (ArgType::Long, Value::Number(n)) => {
            let long = n
                .as_i64()
                .ok_or_else(|| format!("{n} is not a 64-bit signed integer"))?;
            RestrictedExpression::new_long(long)
        }
        (ArgType::String, Value::String(s)) => RestrictedExpression::new_string(s.clone()),
        (ArgType::Bool, Value::Bool(b)) => RestrictedExpression::new_bool(*b),
        (ArgType::Set(element), Value::Array(items)) => {
            let mut converted = Vec::with_capacity(items.len());
            for item in items {
                converted.extend(convert(element, item)?);
            }
            RestrictedExpression::new_set(converted)
        }
        (ArgType::Record(fields), Value::Object(object)) => {
            let mut pairs = Vec::with_capacity(object.len());
            for (name, value) in object {
                if let Some(ty) = fields.get(name) {
                    if let Some(value) = convert(ty, value)? {
                        pairs.push((name.clone(), value));
                    }
                }
            }
            RestrictedExpression::new_record(pairs).map_err(|e| e.to_string())?
        }
        (ty, value) => return Err(format!("expected {}, got {value}", ty.describe())),
    }))
}

/// The closest name within edit distance 2, if any.
fn did_you_mean<'a>(name: &str, known: &BTreeSet<&'a str>) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// An error with its causes (Cedar's top-level messages are often generic).
fn render(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A policy's `@id` annotation, else Cedar's id (`policy0`, … in file order).
fn policy_name(policy: &cedar_policy::Policy) -> String {
    policy
        .annotation("id")
        .map_or_else(|| policy.id().to_string(), str::to_owned)
}

/// The first `context.x` / `context has x` (or the same on `principal`) in a policy's JSON form
/// whose attribute the schema does not have.
fn unknown_attribute(
    json: &Value,
    context: &BTreeSet<&str>,
    principal: &BTreeSet<&str>,
) -> Option<(&'static str, String)> {
    match json {
        Value::Object(object) => {
            for key in ["has", "."] {
                let Some(Value::Object(access)) = object.get(key) else {
                    continue;
                };
                let attribute = match access.get("attr") {
                    Some(Value::String(a)) => Some(a.as_str()),
                    Some(Value::Array(path)) => path.first().and_then(Value::as_str),
                    _ => None,
                };
                let variable = access
                    .get("left")
                    .and_then(|l| l.get("Var"))
                    .and_then(Value::as_str);
                let known = match variable {
                    Some("context") => Some(("context", context)),
                    Some("principal") => Some(("principal", principal)),
                    _ => None,
                };
                if let (Some((variable, known)), Some(attribute)) = (known, attribute) {
                    if !known.contains(attribute) {
                        return Some((variable, attribute.to_owned()));
                    }
                }
            }
            object
                .values()
                .find_map(|v| unknown_attribute(v, context, principal))
        }
        Value::Array(items) => items
            .iter()
            .find_map(|v| unknown_attribute(v, context, principal)),
        _ => None,
    }
}

/// A validation error or warning with its hint (Cedar gives did-you-mean suggestions as
/// `miette` help).
fn render_diagnostic(error: &(impl miette::Diagnostic + ?Sized)) -> String {
    let mut text = error.to_string();
    if let Some(help) = error.help() {
        text.push_str(&format!(" ({help})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(name: &str) -> Tool {
        let schema = json!({"type": "object", "properties": {
            "price_cents": {"type": ["integer", "null"]},
            "name": {"type": "string"},
        }});
        let Value::Object(schema) = schema else {
            unreachable!("an object literal")
        };
        Tool::new(name.to_owned(), "", Arc::new(schema))
    }

    fn build(policies: &str) -> CedarAuthorizer {
        CedarAuthorizer::builder(policies)
            .tools(["list", "get", "update", "delete"].map(tool))
            .build()
            .expect("the test policies are valid")
    }

    fn ids(set: &PolicySet) -> BTreeSet<String> {
        set.policies().map(policy_name).collect()
    }

    #[test]
    fn a_leading_resource_condition_naming_other_items_leaves_the_policy_out() {
        let cedar = build(
            r#"
            @id("read")
            permit (principal, action == Action::"call_tool", resource)
            when { resource in [Tool::"list", Tool::"get"] && principal in Role::"guest" };
            @id("update_only")
            permit (principal, action == Action::"call_tool", resource)
            when { resource == Tool::"update" && principal in Role::"user" };
            @id("in_one")
            permit (principal, action == Action::"call_tool", resource)
            when { resource in Tool::"delete" };
            @id("not_left_most")
            permit (principal, action == Action::"call_tool", resource)
            when { principal in Role::"user" && resource == Tool::"delete" };
            @id("unless_first")
            forbid (principal, action == Action::"call_tool", resource)
            unless { resource == Tool::"list" };
            @id("any")
            permit (principal, action == Action::"call_tool", resource)
            when { principal in Role::"admin" };
            @id("chain")
            forbid (principal, action == Action::"call_tool", resource)
            when { resource == Tool::"get" && principal in Role::"a" && principal in Role::"b" }
            unless { principal in Role::"c" };
            "#,
        );
        let tools = &cedar.by_item[0];
        let expect = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let kept = ["not_left_most", "unless_first", "any"];
        assert_eq!(
            ids(&tools["list"]),
            expect(&[&kept[..], &["read"]].concat())
        );
        assert_eq!(
            ids(&tools["get"]),
            expect(&[&kept[..], &["read", "chain"]].concat())
        );
        assert_eq!(
            ids(&tools["update"]),
            expect(&[&kept[..], &["update_only"]].concat())
        );
        assert_eq!(
            ids(&tools["delete"]),
            expect(&[&kept[..], &["in_one"]].concat())
        );
        // An item the server does not list: none of the listed names is it.
        assert_eq!(ids(&cedar.by_action[0]), expect(&kept));
        // The other actions: scopes naming call_tool are out.
        assert!(ids(&cedar.by_action[1]).is_empty());

        // What is true for every request for the item is gone from its policies.
        let json_of = |set: &PolicySet, id: &str| {
            let policy = set.policies().find(|p| policy_name(p) == id);
            policy.and_then(|p| p.to_json().ok())
        };
        let expected = |text: &str| {
            let policy = cedar_policy::Policy::from_str(text).expect("the test policy parses");
            Some(policy.to_json().expect("its JSON form"))
        };
        assert_eq!(
            json_of(&tools["update"], "update_only"),
            expected(
                r#"@id("update_only") permit (principal, action, resource)
                when { principal in Role::"user" };"#
            )
        );
        assert_eq!(
            json_of(&tools["delete"], "in_one"),
            expected(r#"@id("in_one") permit (principal, action, resource);"#)
        );
        assert_eq!(
            json_of(&tools["get"], "chain"),
            expected(
                r#"@id("chain") forbid (principal, action, resource)
                when { principal in Role::"a" && principal in Role::"b" }
                unless { principal in Role::"c" };"#
            )
        );
        assert_eq!(
            json_of(&tools["delete"], "not_left_most"),
            expected(
                r#"@id("not_left_most") permit (principal, action, resource)
                when { principal in Role::"user" && resource == Tool::"delete" };"#
            )
        );
        // For an item the server does not list, the policies stay as written.
        assert_eq!(
            json_of(&cedar.by_action[0], "any"),
            json_of(&cedar.policies, "any")
        );
    }

    #[test]
    fn only_literal_entities_at_the_left_most_conjunct_count() {
        let start = |condition: &str| {
            let text = format!(
                "permit (principal, action, resource) when {{ {condition} }} unless {{ false }};"
            );
            let policy = cedar_policy::Policy::from_str(&text).expect("the test policy parses");
            let json = policy.to_json().expect("its JSON form");
            leading_resource_condition(&json)
                .map(|entities| entities.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        let named = |names: &[&str]| Some(names.iter().map(|n| (*n).to_owned()).collect());
        assert_eq!(
            start(r#"resource == Tool::"a" && context.x"#),
            named(&[r#"Tool::"a""#])
        );
        assert_eq!(
            start(r#"resource in [Tool::"a", Tool::"b"] && context.x && context.y"#),
            named(&[r#"Tool::"a""#, r#"Tool::"b""#])
        );
        assert_eq!(start(r#"resource in Tool::"a""#), named(&[r#"Tool::"a""#]));
        assert_eq!(start(r#"context.x && resource == Tool::"a""#), None);
        assert_eq!(start(r#"resource == Tool::"a" || context.x"#), None);
        assert_eq!(start(r#"resource in [Tool::"a", principal]"#), None);
        assert_eq!(start(r#"resource != Tool::"a""#), None);
        assert_eq!(start(r#"principal == Tool::"a""#), None);
        assert_eq!(start(r#"resource.owner == Tool::"a""#), None);
    }

    #[test]
    fn principals_differing_only_in_roles_or_one_permission_get_their_own_decisions() {
        let cedar = build(
            r#"
            permit (principal, action == Action::"call_tool", resource == Tool::"update")
            when { principal in Role::"user" || principal.permissions.contains("Admin.Write") };
            "#,
        );
        let user = Principal::builder("alice").roles(["user"]).build();
        let no_role = Principal::builder("alice").build();
        // Differing only in their permissions, these two hash alike in the cache (a set is
        // not hashed): the full comparison on a hit is what tells them apart.
        let writer = Principal::builder("bob")
            .permissions(["Admin.Write", "Guest.Read"])
            .build();
        let reader = Principal::builder("bob")
            .permissions(["Guest.Read"])
            .build();
        for (allowed, denied) in [(&user, &no_role), (&writer, &reader)] {
            for order in [[allowed, denied], [denied, allowed]] {
                for _ in 0..2 {
                    for principal in order {
                        let query = Query::new(principal, ItemKind::Tool, "update", None);
                        assert_eq!(
                            cedar.authorize(&query).is_allow(),
                            std::ptr::eq(principal, allowed),
                            "{principal:?}"
                        );
                    }
                }
            }
        }
        assert_eq!(cedar.principals.len(), 4);
        // The same content in another `Principal` is a hit.
        let again = Principal::builder("alice").roles(["user"]).build();
        let query = Query::new(&again, ItemKind::Tool, "update", None);
        assert!(cedar.authorize(&query).is_allow());
        assert_eq!(cedar.principals.len(), 4);
    }

    fn update(cedar: &CedarAuthorizer, arguments: Value) -> Verdict {
        let principal = Principal::builder("dave").build();
        let Value::Object(arguments) = arguments else {
            unreachable!("an object literal")
        };
        cedar.authorize(&Query::new(
            &principal,
            ItemKind::Tool,
            "update",
            Some(&arguments),
        ))
    }

    #[test]
    fn arguments_no_policy_reads_are_type_checked_and_left_out() {
        let cedar = build(
            r#"
            permit (principal, action == Action::"call_tool", resource == Tool::"update")
            when { context has price_cents && context.price_cents < 10 };
            "#,
        );
        assert_eq!(
            cedar
                .context_read
                .as_ref()
                .map(|read| read.contains("name")),
            Some(false)
        );
        assert_eq!(
            update(&cedar, json!({"price_cents": 5})).denial_reason(),
            None
        );
        assert_eq!(
            update(&cedar, json!({"price_cents": 5, "name": "x"})).denial_reason(),
            None
        );
        assert_eq!(
            update(&cedar, json!({"price_cents": 50, "name": "x"})).denial_reason(),
            Some(POLICY_DENIED)
        );
        // Not read, and still of the wrong type: the decision errs, as when it was put in.
        assert_eq!(
            update(&cedar, json!({"price_cents": 5, "name": 7})).denial_reason(),
            Some(POLICY_ERROR)
        );
    }

    #[test]
    fn a_policy_using_the_whole_context_gets_every_argument() {
        // Strict validation refuses most uses of the whole record (its type has every
        // argument, optional ones included); those it accepts turn the selection off.
        let cedar = build(
            r#"
            permit (principal, action == Action::"call_tool", resource == Tool::"update")
            when { context == context && context has price_cents };
            "#,
        );
        assert!(cedar.context_read.is_none());
        assert_eq!(
            update(&cedar, json!({"price_cents": 5, "name": "x"})).denial_reason(),
            None
        );
    }

    #[test]
    fn only_attribute_reads_of_the_context_leave_arguments_out() {
        let whole = |condition: &str| {
            let text = format!("permit (principal, action, resource) when {{ {condition} }};");
            let policy = cedar_policy::Policy::from_str(&text).expect("the test policy parses");
            uses_context_whole(&policy.to_json().expect("its JSON form"))
        };
        assert!(!whole("context.a.b == 1 && context has c && principal.x"));
        assert!(!whole(r#"context["a"] like "x*""#));
        assert!(whole("context == {}"));
        assert!(whole("[context].isEmpty()"));
        assert!(whole("context.a == 1 || {a: context} == {a: {}}"));
    }

    #[test]
    fn the_key_holds_every_attribute_read_and_nothing_else() {
        let cedar = build(
            r#"
            permit (principal, action == Action::"call_tool", resource == Tool::"update")
            when { principal.scopes.contains("write") };
            "#,
        );
        let query = |principal: &Principal| {
            cedar
                .authorize(&Query::new(principal, ItemKind::Tool, "update", None))
                .is_allow()
        };
        let writer = Principal::builder("carol").scopes(["write"]).build();
        let reader = Principal::builder("carol").scopes(["read"]).build();
        assert!(query(&writer));
        assert!(!query(&reader));
        assert!(query(&writer));
        assert_eq!(cedar.principals.len(), 2);
        // The issuer and permissions are not read: a principal differing only in them shares
        // the entity.
        let other_issuer = Principal::builder("carol")
            .issuer("https://other.example.com")
            .permissions(["Admin.Write"])
            .scopes(["write"])
            .build();
        assert!(query(&other_issuer));
        assert_eq!(cedar.principals.len(), 2);
    }
}
