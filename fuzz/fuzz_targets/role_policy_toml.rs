//! Role policies written in TOML (`RolePolicy::from_toml_str`).
//!
//! Checks, against an independent reading of the same file: a policy loads exactly when every
//! grant is a permission name or `Prefix.*`, every parent is defined and inheritance has no
//! cycle; a reported cycle is a real path of `inherits` edges; a TOML error's line and column
//! fall inside the text; a loaded policy grants a role exactly what its own and its
//! ancestors' grants say, probed on every name the file mentions (so a role never grants a
//! permission of its own name unless a grant says so).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use mcp_rbac::{is_valid_permission_name, PolicyError, RolePolicy};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    roles: BTreeMap<String, Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    inherits: Vec<String>,
}

fn valid_grant(grant: &str) -> bool {
    is_valid_permission_name(grant.strip_suffix(".*").unwrap_or(grant))
}

/// The grants of `role` and all its ancestors; `None` on a cycle.
fn closure<'a>(
    role: &'a str,
    roles: &'a BTreeMap<String, Entry>,
    path: &mut Vec<&'a str>,
    out: &mut BTreeSet<&'a str>,
) -> Option<()> {
    if path.contains(&role) {
        return None;
    }
    let entry = roles.get(role)?;
    path.push(role);
    out.extend(entry.permissions.iter().map(String::as_str));
    for parent in &entry.inherits {
        closure(parent, roles, path, out)?;
    }
    path.pop();
    Some(())
}

fn grants(grants: &BTreeSet<&str>, name: &str) -> bool {
    grants.iter().any(|g| match g.strip_suffix('*') {
        Some(prefix) => name.len() > prefix.len() && name.starts_with(prefix),
        None => *g == name,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = RolePolicy::from_toml_str(text);
    let file: Option<File> = toml::from_str(text).ok();
    let Some(file) = file else {
        match loaded {
            Err(PolicyError::Toml { line, column, .. }) => {
                if let Some(line) = line {
                    assert!(line >= 1 && line <= text.lines().count() + 1, "line {line}");
                }
                if let Some(column) = column {
                    assert!(
                        column >= 1 && column <= text.chars().count() + 1,
                        "column {column}"
                    );
                }
            }
            other => panic!("TOML the format refuses loaded as {other:?}"),
        }
        return;
    };
    let roles = &file.roles;
    let grants_ok = roles
        .values()
        .all(|e| e.permissions.iter().all(|g| valid_grant(g)));
    let parents_ok = roles
        .values()
        .all(|e| e.inherits.iter().all(|p| roles.contains_key(p)));
    let closures: Option<BTreeMap<&str, BTreeSet<&str>>> = roles
        .keys()
        .map(|name| {
            let mut out = BTreeSet::new();
            closure(name, roles, &mut Vec::new(), &mut out).map(|()| (name.as_str(), out))
        })
        .collect();

    let policy = match loaded {
        Ok(policy) => policy,
        Err(PolicyError::Cycle(path)) => {
            assert!(path.len() >= 2 && path.first() == path.last(), "{path:?}");
            for pair in path.windows(2) {
                assert!(
                    roles[&pair[0]].inherits.contains(&pair[1]),
                    "{} does not inherit {}",
                    pair[0],
                    pair[1]
                );
            }
            return;
        }
        Err(PolicyError::InvalidGrant { permission, .. }) => {
            assert!(!valid_grant(&permission));
            return;
        }
        Err(PolicyError::UnknownParent { parent, .. }) => {
            assert!(!roles.contains_key(&parent));
            return;
        }
        Err(other) => panic!("unexpected refusal: {other}"),
    };
    assert!(grants_ok && parents_ok, "an invalid policy loaded");
    let closures = closures.expect("a loaded policy has no cycle");
    let mut probes: BTreeSet<String> = BTreeSet::new();
    for (name, entry) in roles {
        probes.insert(name.clone());
        for grant in &entry.permissions {
            probes.insert(grant.clone());
            if let Some(prefix) = grant.strip_suffix('*') {
                probes.insert(prefix.to_owned());
                probes.insert(format!("{prefix}x"));
            }
        }
    }
    for (name, granted) in &closures {
        assert!(policy.has_role(name));
        let set = policy.permissions_of([*name]);
        for probe in &probes {
            assert_eq!(
                set.contains(probe),
                grants(granted, probe),
                "role {name}, {probe}"
            );
        }
    }
});
