//! The runtime requirement grammar (`Requirement: FromStr`, `Access: FromStr`).
//!
//! Checks: a parsed requirement's canonical text parses back to the same requirement and
//! prints the same text; every name it mentions is a valid permission name; it is met by the
//! set of all its names and never by the empty set; `Access` agrees with `Requirement`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_rbac::{is_valid_permission_name, Access, PermissionSet, Requirement};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = text.parse::<Requirement>();
    match (text.parse::<Access>(), &parsed) {
        (Ok(Access::Public), _) => assert_eq!(text.trim(), "public"),
        (Ok(Access::Requires(a)), Ok(r)) => assert_eq!(&a, r),
        (Err(_), Err(_)) => {}
        (a, r) => panic!("Access {a:?} and Requirement {r:?} disagree"),
    }
    let Ok(requirement) = parsed else {
        return;
    };
    let canonical = requirement.to_string();
    let again: Requirement = canonical
        .parse()
        .unwrap_or_else(|e| panic!("canonical `{canonical}` does not parse: {e}"));
    assert_eq!(
        again, requirement,
        "`{canonical}` parses to another requirement"
    );
    assert_eq!(again.to_string(), canonical);

    let names = requirement.permissions();
    assert!(!names.is_empty());
    for name in &names {
        assert!(
            is_valid_permission_name(name),
            "`{name}` is not a permission name"
        );
        assert!(canonical.contains(name));
    }
    assert!(requirement.is_met_by(&PermissionSet::from_names(names.iter().copied())));
    assert!(!requirement.is_met_by(&PermissionSet::new()));
});
