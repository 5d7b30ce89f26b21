//! Which scopes a scope challenge names for a refused call.
//!
//! A `WWW-Authenticate` `scope` parameter is a flat list: the client asks the authorization server
//! for all of it. So a requirement becomes one set of scopes that meets it:
//! - `"A"`: `A`;
//! - `all(r, ..)`: the union of each part's set;
//! - `any(r, ..)`: one alternative, not all of them (least privilege: a user who may only get
//!   `User.Write` must not be sent to ask for `Admin.Write` too). The alternative the caller
//!   already meets, if any (so a nested `any` asks nothing more of it), else the first one, in
//!   the author's order, that scopes can meet: write the least-privileged alternative first.
//!
//! A permission the caller already holds counts as met; it is named again if it is a scope, so the
//! list is every scope the call needs ("all scopes the tool needs"), as the MCP specification asks
//! of a challenge. A requirement needing a permission that is not a scope and that the caller
//! lacks has no set: scopes cannot fix it, and the call gets the ordinary JSON-RPC 403. Nor can a
//! scope outside the caller's client ceiling: the ceiling would cap it away.

use std::collections::HashSet;

use crate::principal::Principal;
use crate::requirement::Requirement;

/// The scopes to challenge `principal` with for `requirement`, or `None` when the requirement is
/// met already or scopes from `catalogue` cannot meet it.
pub(crate) fn challenge_scopes<'r>(
    requirement: &'r Requirement,
    principal: &Principal,
    catalogue: &HashSet<String>,
) -> Option<Vec<&'r str>> {
    if requirement.is_met_by(principal.permissions()) {
        return None;
    }
    let mut scopes = Vec::new();
    if !satisfy(requirement, principal, catalogue, &mut scopes) || scopes.is_empty() {
        return None;
    }
    Some(scopes)
}

/// Appends to `out` the scopes of one set meeting `requirement`; false when there is none.
fn satisfy<'r>(
    requirement: &'r Requirement,
    principal: &Principal,
    catalogue: &HashSet<String>,
    out: &mut Vec<&'r str>,
) -> bool {
    match requirement {
        Requirement::Permission(name) => {
            // A scope the client's ceiling excludes would be capped away again: it is no way to
            // meet the requirement.
            let is_scope = catalogue.contains(name.as_ref())
                && principal
                    .client_ceiling()
                    .is_none_or(|ceiling| ceiling.contains(name));
            if is_scope && !out.contains(&name.as_ref()) {
                out.push(name);
            }
            is_scope || principal.has_permission(name)
        }
        Requirement::All(parts) => {
            !parts.is_empty() && parts.iter().all(|p| satisfy(p, principal, catalogue, out))
        }
        Requirement::Any(parts) => {
            let held = parts.iter().find(|p| p.is_met_by(principal.permissions()));
            let candidates = held.into_iter().chain(parts.iter());
            for part in candidates {
                let mut tried = out.clone();
                if satisfy(part, principal, catalogue, &mut tried) {
                    *out = tried;
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Requirement {
        text.parse().expect("requirement")
    }

    fn catalogue(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn holding(perms: &[&str]) -> Principal {
        Principal::builder("p")
            .permissions(perms.iter().copied())
            .build()
    }

    const SCOPES: &[&str] = &["Guest.Read", "User.Read", "User.Write", "Admin.Write"];

    #[test]
    fn one_permission_is_its_scope() {
        let r = req("Admin.Write");
        let got = challenge_scopes(&r, &holding(&["Guest.Read"]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["Admin.Write"]));
    }

    #[test]
    fn scopes_outside_the_client_ceiling_are_not_asked_for() {
        let clients = crate::ClientPolicy::new(
            crate::DefaultCeiling::Unlimited,
            [crate::Client::new("agent").ceiling(["Guest.Read", "User.*"])],
        )
        .unwrap();
        let through_agent = |perms: &[&str]| {
            Principal::builder("p")
                .permissions(perms.iter().copied())
                .client("agent")
                .client_policy(&clients)
                .build()
        };
        let r = req("Admin.Write");
        let held = through_agent(&["Admin.Write"]);
        assert_eq!(challenge_scopes(&r, &held, &catalogue(SCOPES)), None);
        assert_eq!(
            challenge_scopes(&r, &through_agent(&[]), &catalogue(SCOPES)),
            None
        );
        let r = req("any(Admin.Write, User.Write)");
        let got = challenge_scopes(&r, &through_agent(&[]), &catalogue(SCOPES));
        assert_eq!(
            got,
            Some(vec!["User.Write"]),
            "the alternative the ceiling allows"
        );
    }

    #[test]
    fn all_names_every_scope_even_those_held() {
        let r = req("all(User.Read, Admin.Write)");
        let got = challenge_scopes(&r, &holding(&["User.Read"]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["User.Read", "Admin.Write"]));
    }

    #[test]
    fn any_asks_for_the_first_alternative_only() {
        let r = req("any(User.Write, Admin.Write)");
        let got = challenge_scopes(&r, &holding(&["Guest.Read"]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["User.Write"]));
    }

    #[test]
    fn any_skips_alternatives_scopes_cannot_meet() {
        let r = req("any(Staff.Only, Admin.Write)");
        let got = challenge_scopes(&r, &holding(&[]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["Admin.Write"]));
    }

    #[test]
    fn nested_any_prefers_what_the_caller_holds() {
        let r = req("all(Admin.Write, any(User.Write, User.Read))");
        let got = challenge_scopes(&r, &holding(&["User.Read"]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["Admin.Write", "User.Read"]));
    }

    #[test]
    fn a_missing_non_scope_permission_has_no_challenge() {
        let r = req("all(Staff.Only, Admin.Write)");
        assert_eq!(
            challenge_scopes(&r, &holding(&[]), &catalogue(SCOPES)),
            None
        );
        // Held through a role, it no longer blocks the challenge.
        let got = challenge_scopes(&r, &holding(&["Staff.Only"]), &catalogue(SCOPES));
        assert_eq!(got, Some(vec!["Admin.Write"]));
    }

    #[test]
    fn a_met_requirement_has_no_challenge() {
        let r = req("Guest.Read");
        assert_eq!(
            challenge_scopes(&r, &holding(&["Guest.Read"]), &catalogue(SCOPES)),
            None
        );
    }
}
