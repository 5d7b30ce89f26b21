//! The authorization decision alone, and claims → principal mapping.
//!
//! `cargo bench -p mcp-rbac --bench authorization`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mcp_rbac::{ClaimsMapping, PermissionSet, Requirement, Role, RolePolicy};
use serde_json::json;

fn permissions(n: usize) -> PermissionSet {
    // Realistic names: `Area{i}.Verb`, with the ones the requirements ask for among them.
    let mut names: Vec<String> = (0..n.saturating_sub(3))
        .map(|i| format!("Area{i}.Read"))
        .collect();
    names.extend([
        "User.Read".into(),
        "User.Write".into(),
        "Admin.Write".into(),
    ]);
    PermissionSet::from_names(names.iter().map(String::as_str))
}

fn decision(c: &mut Criterion) {
    let p = Requirement::permission;
    let cases = [
        ("single", p("Admin.Write")),
        (
            "any_of_3",
            Requirement::any([p("Billing.Write"), p("Ops.Write"), p("Admin.Write")]),
        ),
        (
            "all_of_3",
            Requirement::all([p("User.Read"), p("User.Write"), p("Admin.Write")]),
        ),
        (
            "nested",
            Requirement::any([
                Requirement::all([p("Billing.Read"), p("Billing.Write")]),
                Requirement::all([p("User.Write"), p("Admin.Write")]),
            ]),
        ),
    ];
    let mut group = c.benchmark_group("decision");
    for size in [3, 50] {
        let set = permissions(size);
        for (name, requirement) in &cases {
            assert!(
                requirement.is_met_by(&set),
                "{name} must be met for the bench to measure the whole walk"
            );
            group.bench_function(format!("{name}/{size}_permissions"), |b| {
                b.iter(|| black_box(requirement).is_met_by(black_box(&set)))
            });
        }
    }
    group.finish();
}

fn mapping(c: &mut Criterion) {
    let policy = RolePolicy::new([
        Role::new("guest").grants(["Guest.Read"]),
        Role::new("user")
            .inherits(["guest"])
            .grants(["User.Read", "User.Write"]),
        Role::new("admin").inherits(["user"]).grants(["Admin.*"]),
    ])
    .expect("policy");
    let mapping = ClaimsMapping::default().with_role_policy(policy);
    let claims = json!({
        "sub": "alice", "iss": "https://issuer.example", "aud": "https://mcp.example/mcp", "exp": 2_000_000_000u64,
        "permissions": ["Reports.Read", "Reports.Write"], "scope": "openid profile mcp:tools", "roles": ["admin"],
    });
    // What the verifier does after the signature: the payload's JSON text to a principal.
    let payload = serde_json::to_vec(&claims).expect("json");
    c.bench_function("claims_to_principal/json", |b| {
        b.iter(|| {
            mapping
                .principal_from_json(black_box(&payload))
                .map(|p| p.permissions().is_empty())
        })
    });
    // Claims another verifier parsed already (introspection); the clone is part of the cost.
    let claims = claims.as_object().cloned().expect("object");
    c.bench_function("claims_to_principal/map", |b| {
        b.iter(|| {
            mapping
                .principal(black_box(claims.clone()))
                .map(|p| p.permissions().is_empty())
        })
    });
}

criterion_group!(benches, decision, mapping);
criterion_main!(benches);
