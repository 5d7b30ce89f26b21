//! `examples/products.cedar` and the native check (the TOML role policy and the code's
//! requirements, plus update_product's price limit) agree on random principals: random role sets
//! (with roles no policy knows), random direct permissions, every tool, prompt and resource, with
//! and without arguments.
//!
//! The Cedar principal carries the roles and only the direct permissions: the file must encode
//! the role policy itself, not lean on it.

use std::sync::LazyLock;

use mcp_rbac::authorizer::{Authorizer, Query};
use mcp_rbac::cedar::{CedarAuthorizer, POLICY_DENIED, POLICY_ERROR};
use mcp_rbac::{Access, ItemKind, PermissionSet, Principal, RolePolicy};
use mcp_rbac_examples::products::policy::{role_policy, Perm};
use mcp_rbac_examples::products::{cedar_authorizer_of, Products};
use proptest::prelude::*;
use serde_json::json;

const POLICIES: &str = include_str!("../../examples/products.cedar");
const PRICE_LIMIT: u64 = 100_000;

static CEDAR: LazyLock<CedarAuthorizer> =
    LazyLock::new(|| cedar_authorizer_of(POLICIES).expect("examples/products.cedar is valid"));
static ROLES: LazyLock<RolePolicy> = LazyLock::new(role_policy);

/// Every item with its rule.
static ITEMS: LazyLock<Vec<(ItemKind, String, Access)>> = LazyLock::new(|| {
    let manifest = Products::manifest();
    let parse = |rule: &String| rule.parse::<Access>().expect("a manifest rule parses");
    let tools = manifest
        .tools
        .iter()
        .map(|(n, r)| (ItemKind::Tool, n.clone(), parse(r)));
    let prompts = manifest
        .prompts
        .iter()
        .map(|(n, r)| (ItemKind::Prompt, n.clone(), parse(r)));
    let resources = Products::resources()
        .rules()
        .into_iter()
        .map(|(uri, access)| (ItemKind::Resource, uri.to_owned(), access.clone()));
    tools.chain(prompts).chain(resources).collect()
});

const ROLE_NAMES: [&str; 4] = ["admin", "user", "guest", "auditor"];

fn native(
    roles: &[&str],
    direct: &[&str],
    access: &Access,
    name: &str,
    price: Option<u64>,
) -> bool {
    let mut effective = ROLES.permissions_of(roles.iter().copied());
    effective.extend(&PermissionSet::from_names(direct.iter().copied()));
    let holds = match access {
        Access::Public => true,
        Access::Requires(requirement) => requirement.is_met_by(&effective),
    };
    let over_limit = name == "update_product" && price.is_some_and(|p| p > PRICE_LIMIT);
    holds && (!over_limit || effective.contains("Admin.Write"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cedar_and_the_native_check_agree(
        role_bits in 0u8..16,
        permission_bits in 0u8..32,
        item in 0usize..64,
        price in proptest::option::of(0u64..200_000),
        with_arguments in any::<bool>(),
    ) {
        let roles: Vec<&str> = ROLE_NAMES.iter().enumerate()
            .filter(|(i, _)| role_bits & (1 << i) != 0).map(|(_, r)| *r).collect();
        let direct: Vec<&str> = Perm::ALL.iter().enumerate()
            .filter(|(i, _)| permission_bits & (1 << i) != 0).map(|(_, p)| p.as_str()).collect();
        let (kind, name, access) = &ITEMS[item % ITEMS.len()];
        let principal = Principal::builder("someone").roles(roles.iter().copied()).permissions(direct.iter().copied()).build();
        let price = price.filter(|_| with_arguments && *kind == ItemKind::Tool);
        let arguments = match (kind, with_arguments) {
            (ItemKind::Tool, true) => Some(json!({"id": 1, "name": "x", "price_cents": price})),
            (ItemKind::Prompt, true) => Some(json!({"id": "1"})),
            _ => None,
        };
        let arguments = arguments.and_then(|a| a.as_object().cloned());
        let cedar = CEDAR.authorize(&Query::new(&principal, *kind, name, arguments.as_ref())).is_allow();
        let expected = native(&roles, &direct, access, name, price);
        prop_assert_eq!(cedar, expected, "{:?} {} roles {:?} permissions {:?} price {:?}", kind, name, roles, direct, price);
    }
}

/// A price argument: absent, in range, above any limit, or of a type the schema refuses (a
/// string, a float, beyond 64 bits) so that the decision errs.
fn price_argument() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        (0u64..200_000).prop_map(|p| json!(p)),
        Just(json!(u64::MAX)),
        Just(json!("cheap")),
        Just(json!(1.5)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The policies selected per item (by scope and by a leading `resource ==`/`in`
    /// condition) decide as the whole set does: same verdict, same reason (denied or in error),
    /// for listed items and for names the server does not list.
    #[test]
    fn the_policies_selected_per_item_decide_as_all_of_them(
        role_bits in 0u8..16,
        permission_bits in 0u8..32,
        item in 0usize..80,
        price in price_argument(),
        with_arguments in any::<bool>(),
    ) {
        let roles: Vec<&str> = ROLE_NAMES.iter().enumerate()
            .filter(|(i, _)| role_bits & (1 << i) != 0).map(|(_, r)| *r).collect();
        let direct: Vec<&str> = Perm::ALL.iter().enumerate()
            .filter(|(i, _)| permission_bits & (1 << i) != 0).map(|(_, p)| p.as_str()).collect();
        let unlisted = [
            (ItemKind::Tool, "drop_table".to_owned()),
            (ItemKind::Prompt, "secret".to_owned()),
            (ItemKind::Resource, "products://product/7".to_owned()),
        ];
        let (kind, name) = match ITEMS.get(item % (ITEMS.len() + unlisted.len())) {
            Some((kind, name, _)) => (*kind, name.clone()),
            None => unlisted[item % (ITEMS.len() + unlisted.len()) - ITEMS.len()].clone(),
        };
        let principal = Principal::builder("someone").roles(roles.iter().copied()).permissions(direct.iter().copied()).build();
        let arguments = match (kind, with_arguments) {
            (ItemKind::Tool, true) => Some(json!({"id": 1, "name": "x", "price_cents": price})),
            (ItemKind::Prompt, true) => Some(json!({"id": "1"})),
            _ => None,
        };
        let arguments = arguments.and_then(|a| a.as_object().cloned());
        let query = Query::new(&principal, kind, &name, arguments.as_ref());
        let selected = CEDAR.authorize(&query);
        let every = CEDAR.authorize_with_every_policy(&query);
        prop_assert_eq!(selected, every, "{:?} {} roles {:?} permissions {:?} arguments {:?}", kind, name, roles, direct, arguments);
    }
}

#[test]
fn the_selection_sees_allows_denials_and_errors() {
    // The three outcomes the property compares all occur on update_product.
    let user = Principal::builder("u").roles(["user"]).build();
    let update = |price: serde_json::Value| {
        let arguments = json!({"id": 1, "price_cents": price});
        let arguments = arguments.as_object().cloned();
        let query = Query::new(&user, ItemKind::Tool, "update_product", arguments.as_ref());
        (
            CEDAR.authorize(&query),
            CEDAR.authorize_with_every_policy(&query),
        )
    };
    for (price, expected) in [
        (json!(5), None),
        (json!(200_000), Some(POLICY_DENIED)),
        (json!("cheap"), Some(POLICY_ERROR)),
    ] {
        let (selected, every) = update(price.clone());
        assert_eq!(selected, every, "{price}");
        assert_eq!(selected.denial_reason(), expected, "{price}");
    }
}

#[test]
fn every_item_is_covered_and_both_answers_occur() {
    // The strategy reaches each item (64 slots over fewer items) and the policy names them all.
    assert!(ITEMS.len() <= 64 && ITEMS.len() >= 8, "{}", ITEMS.len());
    let admin = Principal::builder("a").roles(["admin"]).build();
    let nobody = Principal::builder("n").build();
    for (kind, name, _) in ITEMS.iter() {
        let query = |p| {
            CEDAR
                .authorize(&Query::new(p, *kind, name, None))
                .is_allow()
        };
        assert!(query(&admin), "admin may use {name}");
        if name != "whoami" {
            assert!(
                !query(&nobody),
                "a caller without roles or permissions may not use {name}"
            );
        }
    }
}
