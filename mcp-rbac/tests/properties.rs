//! Property tests: the requirement evaluator and the role policy's precomputed closure against
//! naive reference implementations written here, on random inputs.

use std::collections::{BTreeMap, BTreeSet};

use mcp_rbac::{PermissionSet, PolicyError, Requirement, Role, RolePolicy};
use proptest::prelude::*;

/// Names with shared prefixes, so `A.*` against `AB.x` and `A.B` against `A.B.A` get tried.
const NAMES: [&str; 9] = ["A", "AB", "A.B", "A.A", "AB.A", "A.B.A", "A.BA", "B", "B.A"];
/// Wildcard grants, written as a policy writes them.
const WILDCARDS: [&str; 4] = ["A.*", "AB.*", "A.B.*", "B.*"];

// ---------------------------------------------------------------------------------------------
// Requirements

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(&NAMES[..]).prop_map(str::to_owned)
}

/// Requirements of depth ≤ 4 (a leaf is depth 1), built from the raw variants, empty
/// combinators included (they are never met: fail closed).
fn requirement() -> impl Strategy<Value = Requirement> {
    let leaf = name().prop_map(Requirement::permission);
    leaf.prop_recursive(3, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Requirement::Any),
            prop::collection::vec(inner, 0..4).prop_map(Requirement::All),
        ]
    })
}

fn depth(req: &Requirement) -> usize {
    match req {
        Requirement::Permission(_) => 1,
        Requirement::Any(parts) | Requirement::All(parts) => {
            1 + parts.iter().map(depth).max().unwrap_or(0)
        }
    }
}

/// What a caller holds: exact names (from a token) and policy grants (exact or wildcard).
#[derive(Debug, Clone)]
struct Holdings {
    direct: Vec<String>,
    granted: Vec<String>,
}

fn holdings() -> impl Strategy<Value = Holdings> {
    let granted = prop::sample::select(
        NAMES
            .iter()
            .chain(WILDCARDS.iter())
            .copied()
            .collect::<Vec<_>>(),
    )
    .prop_map(str::to_owned);
    (
        prop::collection::vec(name(), 0..4),
        prop::collection::vec(granted, 0..4),
    )
        .prop_map(|(direct, granted)| Holdings { direct, granted })
}

impl Holdings {
    /// The set the library checks: a one-role policy grants `granted`, the token adds `direct`.
    fn set(&self) -> PermissionSet {
        let policy = RolePolicy::new([Role::new("r").grants(self.granted.clone())]).unwrap();
        let mut set = policy.permissions_of(["r"]);
        set.extend(&PermissionSet::from_names(
            self.direct.iter().map(String::as_str),
        ));
        set
    }

    /// Naive: held exactly, or under a `P.*` grant with something after `P.`.
    fn holds(&self, name: &str) -> bool {
        self.direct
            .iter()
            .chain(&self.granted)
            .any(|g| match g.strip_suffix('*') {
                Some(prefix) => name.len() > prefix.len() && name.starts_with(prefix),
                None => g == name,
            })
    }
}

/// The reference evaluator: `any` needs one part, `all` needs every part and at least one.
fn naive(req: &Requirement, held: &Holdings) -> bool {
    match req {
        Requirement::Permission(name) => held.holds(name),
        Requirement::Any(parts) => parts.iter().any(|p| naive(p, held)),
        Requirement::All(parts) => !parts.is_empty() && parts.iter().all(|p| naive(p, held)),
    }
}

/// The same tree through the public constructors, which flatten and dedupe (canonical form).
fn canonical(req: &Requirement) -> Requirement {
    match req {
        Requirement::Permission(_) => req.clone(),
        Requirement::Any(parts) => Requirement::any(parts.iter().map(canonical)),
        Requirement::All(parts) => Requirement::all(parts.iter().map(canonical)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn is_met_by_equals_the_naive_evaluator(req in requirement(), held in holdings()) {
        prop_assert!(depth(&req) <= 4);
        let set = held.set();
        let expected = naive(&req, &held);
        prop_assert_eq!(req.is_met_by(&set), expected, "raw {}", req);
        // Canonical form means the same thing, and its text parses back to itself.
        let canon = canonical(&req);
        prop_assert_eq!(canon.is_met_by(&set), expected, "canonical {} of {:?}", canon, req);
        if let Ok(parsed) = canon.to_string().parse::<Requirement>() {
            prop_assert_eq!(&parsed, &canon);
        }
    }

    #[test]
    fn permission_set_contains_equals_the_naive_lookup(held in holdings(), probe in name()) {
        prop_assert_eq!(held.set().contains(&probe), held.holds(&probe), "{:?}", held);
    }
}

// ---------------------------------------------------------------------------------------------
// Role policies

/// A role graph: role `i` grants `grants[i]` and inherits from `parents[i]` (indices).
#[derive(Debug, Clone)]
struct Graph {
    grants: Vec<Vec<String>>,
    parents: Vec<Vec<usize>>,
}

fn role_name(i: usize) -> String {
    format!("role{i}")
}

fn grants() -> impl Strategy<Value = Vec<String>> {
    let any_grant = prop::sample::select(
        NAMES
            .iter()
            .chain(WILDCARDS.iter())
            .copied()
            .collect::<Vec<_>>(),
    )
    .prop_map(str::to_owned);
    prop::collection::vec(any_grant, 0..3)
}

/// Acyclic: role `i` inherits only from roles below it. The order roles are declared in is
/// shuffled, so the resolver cannot rely on parents coming first.
fn acyclic() -> impl Strategy<Value = (Graph, Vec<usize>)> {
    (1usize..9)
        .prop_flat_map(|n| {
            let roles: Vec<_> = (0..n)
                .map(|i| {
                    let parents = if i == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        prop::collection::vec(0..i, 0..3).boxed()
                    };
                    (grants(), parents)
                })
                .collect();
            let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
            (roles, order)
        })
        .prop_map(|(roles, order)| {
            let (grants, parents) = roles.into_iter().unzip();
            (Graph { grants, parents }, order)
        })
}

/// Any graph: parents anywhere, self-loops included.
fn any_graph() -> impl Strategy<Value = Graph> {
    (1usize..7)
        .prop_flat_map(|n| prop::collection::vec((grants(), prop::collection::vec(0..n, 0..3)), n))
        .prop_map(|roles| {
            let (grants, parents) = roles.into_iter().unzip();
            Graph { grants, parents }
        })
}

impl Graph {
    fn policy(&self, order: &[usize]) -> Result<RolePolicy, PolicyError> {
        RolePolicy::new(order.iter().map(|&i| {
            Role::new(role_name(i))
                .grants(self.grants[i].clone())
                .inherits(self.parents[i].iter().map(|&p| role_name(p)))
        }))
    }

    /// Naive closure: every grant of every role reachable from `start` (itself included).
    fn closure(&self, start: usize) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        let mut out = BTreeSet::new();
        while let Some(role) = stack.pop() {
            if !seen.insert(role) {
                continue;
            }
            out.extend(self.grants[role].iter().cloned());
            stack.extend(&self.parents[role]);
        }
        out
    }

    /// Naive cycle detection: some role reaches itself through one or more inherits.
    fn has_cycle(&self) -> bool {
        (0..self.grants.len()).any(|start| {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<usize> = self.parents[start].clone();
            while let Some(role) = stack.pop() {
                if role == start {
                    return true;
                }
                if seen.insert(role) {
                    stack.extend(&self.parents[role]);
                }
            }
            false
        })
    }

    fn index(name: &str) -> usize {
        name.strip_prefix("role").unwrap().parse().unwrap()
    }
}

/// The library's `names()` form of a naive closure: exact names sorted, then wildcards sorted.
fn names_form(grants: &BTreeSet<String>) -> Vec<String> {
    let exact = grants.iter().filter(|g| !g.ends_with('*')).cloned();
    let wild = grants.iter().filter(|g| g.ends_with('*')).cloned();
    exact.chain(wild).collect()
}

fn check_closure(graph: &Graph, policy: &RolePolicy) -> Result<(), TestCaseError> {
    let n = graph.grants.len();
    for role in 0..n {
        let closure = graph.closure(role);
        let set = policy.permissions_of([role_name(role).as_str()]);
        prop_assert_eq!(set.names(), names_form(&closure), "role{}", role);
        for probe in NAMES {
            let held = Holdings {
                direct: Vec::new(),
                granted: closure.iter().cloned().collect(),
            };
            prop_assert_eq!(
                set.contains(probe),
                held.holds(probe),
                "role{} {}",
                role,
                probe
            );
        }
    }
    // A union of roles is the union of their closures.
    let pair = [0, n - 1];
    let union: BTreeSet<String> = pair.iter().flat_map(|&r| graph.closure(r)).collect();
    let names: Vec<String> = pair.iter().map(|&r| role_name(r)).collect();
    prop_assert_eq!(
        policy
            .permissions_of(names.iter().map(String::as_str))
            .names(),
        names_form(&union)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn closure_equals_a_naive_graph_walk((graph, order) in acyclic()) {
        let policy = graph.policy(&order).expect("an acyclic policy loads");
        check_closure(&graph, &policy)?;
        prop_assert!(policy.permissions_of(["no-such-role"]).is_empty());
    }

    #[test]
    fn cycles_are_refused_and_named(graph in any_graph()) {
        let order: Vec<usize> = (0..graph.grants.len()).collect();
        match graph.policy(&order) {
            Ok(policy) => {
                prop_assert!(!graph.has_cycle(), "a cyclic graph loaded: {:?}", graph);
                check_closure(&graph, &policy)?;
            }
            Err(PolicyError::Cycle(path)) => {
                prop_assert!(graph.has_cycle(), "an acyclic graph refused: {:?}", graph);
                // The named path is a real cycle: it closes, and each step is an inherit.
                prop_assert!(path.len() >= 2, "{:?}", path);
                prop_assert_eq!(path.first(), path.last());
                for step in path.windows(2) {
                    let (child, parent) = (Graph::index(&step[0]), Graph::index(&step[1]));
                    prop_assert!(graph.parents[child].contains(&parent), "{:?} in {:?}", step, graph);
                }
                let inner: BTreeMap<&String, usize> =
                    path[..path.len() - 1].iter().map(|r| (r, 1)).collect();
                prop_assert_eq!(inner.len(), path.len() - 1, "a simple cycle: {:?}", path);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
