//! Typed permissions (`permissions = Perm`: the rule as bits of `Perm`, the caller's permissions
//! turned into bits once and cached in its `PermissionSet`) against the string check
//! (`Requirement::is_met_by`, a hash lookup per name), on the same rules and sets.
//!
//! `cargo bench -p mcp-rbac --bench typed_permissions`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mcp_rbac::__private::{bits_of, BitCheck};
use mcp_rbac::{Access, PermissionSet, Requirement};

mcp_rbac::permissions! {
    /// The server's permissions: the ones the rules name, and some they don't.
    enum Perm {
        "Guest.Read", "User.Read", "User.Write", "Admin.Read", "Admin.Write",
        "Billing.Read", "Billing.Write", "Ops.Write", "Reports.Read", "Reports.Write",
    }
}

mcp_rbac::permissions! {
    /// Another set, to keep `Perm`'s bits out of the cache (the "cold" case).
    enum Other { "Admin.Write" }
}

fn permissions(n: usize) -> PermissionSet {
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

fn check(c: &mut Criterion) {
    let p = |name: Perm| Requirement::from(name);
    let cases = [
        ("single", p(Perm::AdminWrite)),
        (
            "any_of_3",
            Requirement::any([
                p(Perm::BillingWrite),
                p(Perm::OpsWrite),
                p(Perm::AdminWrite),
            ]),
        ),
        (
            "all_of_3",
            Requirement::all([p(Perm::UserRead), p(Perm::UserWrite), p(Perm::AdminWrite)]),
        ),
        (
            "nested",
            Requirement::any([
                Requirement::all([p(Perm::BillingRead), p(Perm::BillingWrite)]),
                Requirement::all([p(Perm::UserWrite), p(Perm::AdminWrite)]),
            ]),
        ),
    ];
    let mut group = c.benchmark_group("typed_vs_string");
    for size in [3, 50] {
        let set = permissions(size);
        let cold = permissions(size);
        bits_of::<Other>(&cold); // `Other` holds the slot: `Perm`'s bits are computed every time
        for (name, requirement) in &cases {
            let typed = BitCheck::new::<Perm>(&Access::Requires(requirement.clone()))
                .expect("every name is in Perm");
            assert!(requirement.is_met_by(&set) && typed.allows(&set) && typed.allows(&cold));
            group.bench_function(format!("{name}/{size}_permissions/string"), |b| {
                b.iter(|| black_box(requirement).is_met_by(black_box(&set)))
            });
            group.bench_function(format!("{name}/{size}_permissions/typed"), |b| {
                b.iter(|| black_box(&typed).allows(black_box(&set)))
            });
            group.bench_function(format!("{name}/{size}_permissions/typed_uncached"), |b| {
                b.iter(|| black_box(&typed).allows(black_box(&cold)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
