//! One Cedar decision for the products server's policies (`examples/products.cedar`), with the
//! call's arguments as the context: what `--cedar` adds to each `tools/call`.
//!
//! `cargo bench -p mcp-rbac-examples --bench cedar`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mcp_rbac::authorizer::{Authorizer, Query, Verdict};
use mcp_rbac::{ItemKind, Principal};
use mcp_rbac_examples::products::cedar_authorizer_of;
use serde_json::{json, Value};

const POLICIES: &str = include_str!("../products.cedar");

fn object(value: Value) -> rmcp::model::JsonObject {
    match value {
        Value::Object(object) => object,
        _ => unreachable!("an object literal"),
    }
}

fn decision(c: &mut Criterion) {
    let cedar = cedar_authorizer_of(POLICIES).expect("examples/products.cedar is valid");
    let user = Principal::builder("alice")
        .issuer("https://issuer.example.com")
        .roles(["user"])
        .build();
    let admin = Principal::builder("root")
        .permissions(["Admin.Write", "User.Read"])
        .build();
    let within = object(json!({"id": 7, "name": "Widget", "price_cents": 100000}));
    let above = object(json!({"id": 7, "price_cents": 250000}));
    let delete = object(json!({"id": 3}));
    let cases = [
        (
            "user_update_within_limit",
            &user,
            "update_product",
            Some(&within),
            true,
        ),
        (
            "user_update_above_limit",
            &user,
            "update_product",
            Some(&above),
            false,
        ),
        (
            "permissions_update_above_limit",
            &admin,
            "update_product",
            Some(&above),
            true,
        ),
        ("user_delete", &user, "delete_product", Some(&delete), false),
        ("user_list_entry", &user, "update_product", None, true),
    ];
    let mut group = c.benchmark_group("cedar_decision");
    for (name, principal, tool, arguments, allowed) in cases {
        let query = Query::new(principal, ItemKind::Tool, tool, arguments);
        assert_eq!(
            cedar.authorize(&query) == Verdict::Allow,
            allowed,
            "{name}: the bench measures the decision the test expects"
        );
        group.bench_function(name, |b| b.iter(|| cedar.authorize(black_box(&query))));
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
