//! A role policy of a thousand roles, and decisions on a principal holding 500 permissions.
//!
//! The policy: 200 teams × 5 levels (`team{t}_l{l}`). Each level inherits the level below of
//! its own team and of the next team, so inheritance is five roles deep and the closure merges
//! overlapping parents; levels grant exact names, level 2 also `Reports{t}.*` and level 4
//! `Svc{t}.*`.
//!
//! - `policy_load`: `RolePolicy::from_toml_str` of that policy (TOML parse, validation and the
//!   closure of every role).
//! - `decision_500`: `Requirement::is_met_by` on a set of 500 exact names, and on the set a
//!   principal holding top-level roles of the policy gets (about 500 exact names, and
//!   wildcards), next to each other. `any_of_3` is met by its last member only, so it looks up
//!   two missing names first.
//!
//! `cargo bench -p mcp-rbac --bench scale_policy`

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mcp_rbac::{PermissionSet, Requirement, RolePolicy};

const TEAMS: usize = 200;
const LEVELS: usize = 5;

fn policy_toml() -> String {
    let mut toml = String::new();
    for t in 0..TEAMS {
        for l in 0..LEVELS {
            let next = (t + 1) % TEAMS;
            writeln!(toml, "[roles.team{t}_l{l}]").unwrap();
            let mut grants = vec![
                format!("\"Svc{t}.L{l}.Read\""),
                format!("\"Svc{t}.L{l}.Write\""),
                format!("\"Shared{}.L{l}.Use\"", t % 20),
            ];
            match l {
                2 => grants.push(format!("\"Reports{t}.*\"")),
                4 => grants.push(format!("\"Svc{t}.*\"")),
                _ => {}
            }
            writeln!(toml, "permissions = [{}]", grants.join(", ")).unwrap();
            if l > 0 {
                let below = l - 1;
                writeln!(
                    toml,
                    "inherits = [\"team{t}_l{below}\", \"team{next}_l{below}\"]"
                )
                .unwrap();
            }
            toml.push('\n');
        }
    }
    toml
}

fn policy_load(c: &mut Criterion) {
    let toml = policy_toml();
    let policy = RolePolicy::from_toml_str(&toml).expect("policy");
    assert_eq!(policy.roles().len(), TEAMS * LEVELS);
    // Depth 5: the top role of team 0 reaches level 0 of teams 0..=4, and its wildcards.
    let top = policy.permissions_of(["team0_l4"]);
    assert!(top.contains("Svc4.L0.Read") && !top.contains("Svc5.L0.Read"));
    assert!(top.contains("Svc0.Anything") && top.contains("Reports2.Q3"));
    println!(
        "policy: {} roles, {} bytes of TOML",
        TEAMS * LEVELS,
        toml.len()
    );
    let mut group = c.benchmark_group("policy_load");
    group.bench_function("toml_1000_roles", |b| {
        b.iter(|| RolePolicy::from_toml_str(black_box(&toml)).map(|p| p.has_role("team0_l0")))
    });
    group.finish();
}

/// 500 exact names in the style of the other benches, `User.Read`, `User.Write` and
/// `Admin.Write` among them.
fn exact_500() -> PermissionSet {
    let mut names: Vec<String> = (0..497).map(|i| format!("Area{i}.Read")).collect();
    names.extend([
        "User.Read".into(),
        "User.Write".into(),
        "Admin.Write".into(),
    ]);
    PermissionSet::from_names(names.iter().map(String::as_str))
}

/// The permissions of top-level roles of the policy (of every fifth team, so their closures do
/// not overlap), as many as it takes for 500 exact names; wildcards come with them.
fn from_policy() -> (PermissionSet, Vec<String>) {
    let policy = RolePolicy::from_toml_str(&policy_toml()).expect("policy");
    let mut roles = Vec::new();
    loop {
        roles.push(format!("team{}_l4", roles.len() * 5));
        let set = policy.permissions_of(roles.iter().map(String::as_str));
        if counts(&set).0 >= 500 {
            return (set, roles);
        }
    }
}

/// (exact names, wildcard grants) of `set`.
fn counts(set: &PermissionSet) -> (usize, usize) {
    let names = set.names();
    let wildcards = names.iter().filter(|n| n.ends_with('*')).count();
    (names.len() - wildcards, wildcards)
}

fn decision(c: &mut Criterion) {
    let p = Requirement::permission;
    let exact = exact_500();
    assert_eq!(counts(&exact), (500, 0));
    let (granted, roles) = from_policy();
    let (names, wildcards) = counts(&granted);
    assert!((500..=550).contains(&names), "{names} names");
    println!(
        "principal of {} roles: {names} exact names, {wildcards} wildcards",
        roles.len()
    );
    let cases = [
        (
            "exact_500",
            &exact,
            p("Admin.Write"),
            Requirement::any([p("Billing.Write"), p("Ops.Write"), p("Admin.Write")]),
        ),
        (
            "policy_500",
            &granted,
            p("Svc30.L1.Write"),
            // Two names the roles do not grant, then one a wildcard (`Svc50.*`) grants.
            Requirement::any([p("Billing.Write"), p("Ops.Write"), p("Svc50.Deploy")]),
        ),
    ];
    let mut group = c.benchmark_group("decision_500");
    for (set_name, set, single, any_of_3) in &cases {
        for (name, requirement) in [("single", single), ("any_of_3", any_of_3)] {
            assert!(requirement.is_met_by(set), "{set_name}/{name} must be met");
            group.bench_function(format!("{name}/{set_name}"), |b| {
                b.iter(|| black_box(requirement).is_met_by(black_box(set)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, policy_load, decision);
criterion_main!(benches);
