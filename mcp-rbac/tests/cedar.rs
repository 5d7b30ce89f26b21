//! `CedarAuthorizer`: the start-up checks name what is wrong, and decisions see roles,
//! permissions and arguments.

use std::sync::Arc;

use mcp_rbac::authorizer::{Authorizer, Query, Verdict};
use mcp_rbac::cedar::{CedarAuthorizer, CedarError, POLICY_DENIED, POLICY_ERROR};
use mcp_rbac::{ItemKind, Principal};
use rmcp::model::{JsonObject, Prompt, PromptArgument, Tool};
use serde_json::{json, Value};

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

fn tools() -> Vec<Tool> {
    let schema = |v: Value| Arc::new(object(v));
    vec![
        Tool::new(
            "update_product",
            "",
            schema(json!({"type": "object", "properties": {
                "id": {"type": "integer", "format": "uint64", "minimum": 0},
                "name": {"type": ["string", "null"]},
                "price_cents": {"type": ["integer", "null"], "format": "uint64"},
            }, "required": ["id"]})),
        ),
        Tool::new(
            "delete_product",
            "",
            schema(json!({"type": "object", "properties": {"id": {"type": "integer"}}})),
        ),
        Tool::new("whoami", "", schema(json!({"type": "object"}))),
    ]
}

fn prompts() -> Vec<Prompt> {
    vec![Prompt::new(
        "product_brief",
        Some("A brief"),
        Some(vec![PromptArgument::new("id").with_required(true)]),
    )]
}

fn build(policies: &str) -> Result<CedarAuthorizer, CedarError> {
    CedarAuthorizer::builder(policies)
        .tools(tools())
        .prompts(prompts())
        .string_claim("email")
        .build()
}

const POLICIES: &str = r#"
@id("write")
permit (principal, action == Action::"call_tool", resource == Tool::"update_product")
when { principal in Role::"user" || principal.permissions.contains("Admin.Write") };

@id("price_limit")
forbid (principal, action == Action::"call_tool", resource == Tool::"update_product")
when { context has price_cents && context.price_cents > 100000 }
unless { principal.permissions.contains("Admin.Write") };

permit (principal, action == Action::"get_prompt", resource == Prompt::"product_brief")
when { context has id && context.id == "1" && principal has claim_email && principal.claim_email like "*@example.com" };
"#;

fn user() -> Principal {
    Principal::builder("alice").roles(["user"]).build()
}

fn decide(
    cedar: &CedarAuthorizer,
    who: &Principal,
    kind: ItemKind,
    name: &str,
    args: Option<Value>,
) -> Verdict {
    let args = args.map(object);
    cedar.authorize(&Query::new(who, kind, name, args.as_ref()))
}

#[test]
fn roles_permissions_and_arguments_decide() {
    let cedar = build(POLICIES).expect("valid policies");
    let admin = Principal::builder("root")
        .permissions(["Admin.Write"])
        .build();
    let tool = ItemKind::Tool;
    let call =
        |who: &Principal, args: Value| decide(&cedar, who, tool, "update_product", Some(args));

    assert_eq!(
        call(&user(), json!({"id": 1, "price_cents": 100000})),
        Verdict::Allow
    );
    assert_eq!(
        call(&user(), json!({"id": 1, "price_cents": 100001})).denial_reason(),
        Some(POLICY_DENIED)
    );
    assert_eq!(
        call(&admin, json!({"id": 1, "price_cents": 100001})),
        Verdict::Allow
    );
    // A null optional argument is an absent one.
    assert_eq!(
        call(&user(), json!({"id": 1, "price_cents": null, "extra": [1]})),
        Verdict::Allow
    );
    // Lists ask without arguments: the forbid on an argument does not hide the tool.
    assert_eq!(
        decide(&cedar, &user(), tool, "update_product", None),
        Verdict::Allow
    );
    // No permit: denied, by role or by tool.
    let guest = Principal::builder("g").roles(["guest"]).build();
    assert_eq!(
        call(&guest, json!({"id": 1})).denial_reason(),
        Some(POLICY_DENIED)
    );
    assert_eq!(
        decide(&cedar, &admin, tool, "delete_product", None).denial_reason(),
        Some(POLICY_DENIED)
    );
}

#[test]
fn arguments_of_the_wrong_type_deny_with_policy_error() {
    let cedar = build(POLICIES).expect("valid policies");
    for args in [
        json!({"id": 1, "price_cents": "cheap"}),
        json!({"id": 1, "price_cents": 1.5}),
        json!({"id": 1, "price_cents": u64::MAX}),
    ] {
        let verdict = decide(
            &cedar,
            &user(),
            ItemKind::Tool,
            "update_product",
            Some(args.clone()),
        );
        assert_eq!(verdict.denial_reason(), Some(POLICY_ERROR), "{args}");
    }
}

#[test]
fn prompts_see_their_arguments_and_claims_are_attributes() {
    let cedar = build(POLICIES).expect("valid policies");
    let with_email = |email: &str| {
        let claims = object(json!({"sub": "alice", "email": email}));
        Principal::builder("alice").claims(claims).build()
    };
    let brief = |who: &Principal, id: &str| {
        decide(
            &cedar,
            who,
            ItemKind::Prompt,
            "product_brief",
            Some(json!({"id": id})),
        )
    };
    assert_eq!(brief(&with_email("a@example.com"), "1"), Verdict::Allow);
    assert_eq!(
        brief(&with_email("a@example.com"), "2").denial_reason(),
        Some(POLICY_DENIED)
    );
    assert_eq!(
        brief(&with_email("a@evil.test"), "1").denial_reason(),
        Some(POLICY_DENIED)
    );
    assert_eq!(
        brief(&user(), "1").denial_reason(),
        Some(POLICY_DENIED),
        "no email claim"
    );
}

#[test]
fn an_unknown_tool_is_named_with_a_suggestion() {
    let error = build(
        r#"@id("delete") permit (principal, action == Action::"call_tool", resource == Tool::"delte_product");"#,
    )
    .expect_err("unknown tool");
    let text = error.to_string();
    assert!(matches!(error, CedarError::UnknownEntity { .. }), "{text}");
    assert!(text.contains(r#"Tool::"delte_product""#), "{text}");
    assert!(
        text.contains(r#"did you mean Tool::"delete_product""#),
        "{text}"
    );
    assert!(text.contains("policy `delete`"), "{text}");

    // Inside a condition too, and for prompts.
    for (policy, named) in [
        (
            r#"permit (principal, action == Action::"call_tool", resource) when { resource in [Tool::"whoami", Tool::"whomai"] };"#,
            r#"Tool::"whomai""#,
        ),
        (
            r#"permit (principal, action == Action::"get_prompt", resource == Prompt::"brief");"#,
            r#"Prompt::"brief""#,
        ),
    ] {
        let text = build(policy).expect_err(named).to_string();
        assert!(text.contains(named), "{text}");
    }
}

#[test]
fn an_unknown_argument_or_attribute_is_named() {
    for (policy, named) in [
        (
            r#"forbid (principal, action == Action::"call_tool", resource == Tool::"update_product") when { context has prize_cents && context.prize_cents > 1 };"#,
            "prize_cents",
        ),
        (
            r#"permit (principal, action == Action::"call_tool", resource) when { principal.permisions.contains("Admin.Write") };"#,
            "permisions",
        ),
        (
            r#"permit (principal, action == Action::"call_tool", resource) when { context.price_cents > 1 };"#,
            "price_cents",
        ),
        (
            r#"permit (principal, action == Action::"call_tools", resource);"#,
            "call_tools",
        ),
    ] {
        let error = build(policy).expect_err(named);
        let text = error.to_string();
        assert!(
            matches!(
                error,
                CedarError::Invalid(_) | CedarError::UnknownAttribute { .. }
            ),
            "{text}"
        );
        assert!(text.contains(named), "{named}: {text}");
    }
    let text = build("permit (principal, action, resource) when {")
        .expect_err("parse")
        .to_string();
    assert!(text.contains("do not parse"), "{text}");
}

#[test]
fn the_roles_named_are_listed_and_the_schema_is_shown() {
    let cedar = build(POLICIES).expect("valid policies");
    assert_eq!(cedar.roles(), ["user"]);
    let schema = cedar.schema_json();
    let context = &schema[""]["actions"]["call_tool"]["appliesTo"]["context"]["attributes"];
    assert_eq!(
        context["price_cents"],
        json!({"type": "Long", "required": false})
    );
    assert_eq!(
        context["name"],
        json!({"type": "String", "required": false})
    );
}

/// Every principal attribute a policy reads is built, whatever else the policies read; a policy
/// without a resource in its scope also decides items the server does not list, and one without
/// an action decides every kind.
#[test]
fn every_attribute_read_is_built_and_unscoped_policies_apply_everywhere() {
    let cedar = build(
        r#"
permit (principal, action == Action::"call_tool", resource)
when {
  principal.sub == "alice" && principal has iss && principal.iss == "https://issuer.example" &&
  principal.scopes.contains("products") && principal.roles.contains("user")
};

permit (principal, action == Action::"get_prompt", resource);

forbid (principal, action, resource) when { principal.sub == "mallory" };
"#,
    )
    .expect("valid policies");
    let alice = Principal::builder("alice")
        .issuer("https://issuer.example")
        .roles(["user"])
        .scopes(["products"])
        .build();
    let tool = ItemKind::Tool;
    assert_eq!(decide(&cedar, &alice, tool, "whoami", None), Verdict::Allow);
    assert_eq!(
        decide(&cedar, &alice, tool, "not_a_listed_tool", None),
        Verdict::Allow
    );
    assert_eq!(
        decide(&cedar, &alice, ItemKind::Prompt, "product_brief", None),
        Verdict::Allow
    );
    let no_scope = Principal::builder("alice")
        .issuer("https://issuer.example")
        .roles(["user"])
        .build();
    assert_eq!(
        decide(&cedar, &no_scope, tool, "whoami", None).denial_reason(),
        Some(POLICY_DENIED)
    );
    let no_issuer = Principal::builder("alice")
        .roles(["user"])
        .scopes(["products"])
        .build();
    assert_eq!(
        decide(&cedar, &no_issuer, tool, "whoami", None).denial_reason(),
        Some(POLICY_DENIED)
    );
    let mallory = Principal::builder("mallory")
        .issuer("https://issuer.example")
        .roles(["user"])
        .scopes(["products"])
        .build();
    for (kind, name) in [
        (tool, "whoami"),
        (tool, "not_a_listed_tool"),
        (ItemKind::Prompt, "product_brief"),
    ] {
        assert_eq!(
            decide(&cedar, &mallory, kind, name, None).denial_reason(),
            Some(POLICY_DENIED),
            "{name}"
        );
    }
}
