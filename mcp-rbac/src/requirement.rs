//! What a tool or prompt needs: one permission, `any` of several, `all` of several, nested freely.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::permissions::PermissionSet;

/// A permission requirement, written in `#[tool(requires = …)]` and checked against a
/// [`Principal`](crate::Principal)'s effective permissions.
///
/// Its [`Display`](fmt::Display) form is canonical (nested combinators of the same kind flattened,
/// duplicates dropped, one-element combinators unwrapped) and is what errors, manifests and logs show:
///
/// ```
/// use mcp_rbac::Requirement;
///
/// let req = Requirement::any([
///     Requirement::permission("User.Write"),
///     Requirement::any([Requirement::permission("Admin.Write")]),
/// ]);
/// assert_eq!(req.to_string(), "any(User.Write, Admin.Write)");
/// assert_eq!("any(User.Write, Admin.Write)".parse::<Requirement>().unwrap(), req);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// One exact, case-sensitive permission name.
    Permission(Cow<'static, str>),
    /// At least one of these.
    Any(Vec<Requirement>),
    /// Every one of these.
    All(Vec<Requirement>),
}

/// Who may call a tool or prompt: any authenticated caller, or one meeting a [`Requirement`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `#[tool(public)]`: authentication still applies, no permission is needed.
    Public,
    /// `#[tool(requires = …)]`.
    Requires(Requirement),
}

impl Requirement {
    /// One permission. Names are exact and case-sensitive.
    pub fn permission(name: impl Into<Cow<'static, str>>) -> Self {
        Requirement::Permission(name.into())
    }

    /// At least one of `parts`, in canonical form.
    pub fn any(parts: impl IntoIterator<Item = Requirement>) -> Self {
        Self::combine(true, parts)
    }

    /// Every one of `parts`, in canonical form.
    pub fn all(parts: impl IntoIterator<Item = Requirement>) -> Self {
        Self::combine(false, parts)
    }

    fn combine(any: bool, parts: impl IntoIterator<Item = Requirement>) -> Self {
        let mut flat: Vec<Requirement> = Vec::new();
        for part in parts {
            // An empty combinator is never met, so it is kept as a part: flattened into an
            // `all`, it would vanish and loosen the requirement.
            let same_kind = match (&part, any) {
                (Requirement::Any(inner), true) | (Requirement::All(inner), false)
                    if !inner.is_empty() =>
                {
                    Some(inner.clone())
                }
                _ => None,
            };
            for p in same_kind.unwrap_or_else(|| vec![part]) {
                if !flat.contains(&p) {
                    flat.push(p);
                }
            }
        }
        if flat.len() == 1 {
            return flat.pop().unwrap_or_else(|| Requirement::Any(Vec::new()));
        }
        if any {
            Requirement::Any(flat)
        } else {
            Requirement::All(flat)
        }
    }

    /// Whether `permissions` meets this requirement. An empty `any` is never met, an empty `all`
    /// never constructed by the macros (it would be met by anyone); both are fail-closed here.
    pub fn is_met_by(&self, permissions: &PermissionSet) -> bool {
        match self {
            Requirement::Permission(name) => permissions.contains(name),
            Requirement::Any(parts) => parts.iter().any(|p| p.is_met_by(permissions)),
            Requirement::All(parts) => {
                !parts.is_empty() && parts.iter().all(|p| p.is_met_by(permissions))
            }
        }
    }

    /// Every permission name the requirement mentions, in order of appearance.
    pub fn permissions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Requirement::Permission(name) => {
                if !out.contains(&name.as_ref()) {
                    out.push(name)
                }
            }
            Requirement::Any(parts) | Requirement::All(parts) => {
                parts.iter().for_each(|p| p.collect(out))
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (word, parts) = match self {
            Requirement::Permission(name) => return f.write_str(name),
            Requirement::Any(parts) => ("any", parts),
            Requirement::All(parts) => ("all", parts),
        };
        write!(f, "{word}(")?;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{part}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Public => f.write_str("public"),
            Access::Requires(req) => req.fmt(f),
        }
    }
}

/// Why a requirement string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid requirement `{input}` at byte {at}: {reason}")]
pub struct ParseRequirementError {
    input: String,
    at: usize,
    reason: &'static str,
}

impl FromStr for Requirement {
    type Err = ParseRequirementError;

    /// Parses the canonical form: `Name`, `any(r, ..)`, `all(r, ..)`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser {
            input,
            pos: 0,
            depth: 0,
        };
        let req = parser.requirement()?;
        parser.skip_space();
        if parser.pos != input.len() {
            return Err(parser.error("unexpected text after the requirement"));
        }
        Ok(req)
    }
}

impl FromStr for Access {
    type Err = ParseRequirementError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.trim() == "public" {
            return Ok(Access::Public);
        }
        input.parse().map(Access::Requires)
    }
}

/// Whether `name` may be required: non-empty, no whitespace or control characters, no wildcard,
/// none of `( ) , " \`. The same rule the macros apply at compile time.
pub fn is_valid_permission_name(name: &str) -> bool {
    !name.is_empty()
        && !name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '(' | ')' | ',' | '"' | '\\' | '*')
        })
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> ParseRequirementError {
        ParseRequirementError {
            input: self.input.to_owned(),
            at: self.pos,
            reason,
        }
    }

    fn skip_space(&mut self) {
        let rest = &self.input[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn requirement(&mut self) -> Result<Requirement, ParseRequirementError> {
        self.skip_space();
        let rest = &self.input[self.pos..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ','))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if word.is_empty() {
            return Err(self.error("expected a permission name, `any(` or `all(`"));
        }
        self.pos += end;
        let is_call = self.input[self.pos..].starts_with('(');
        match (word, is_call) {
            ("any", true) | ("all", true) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error("requirement nested too deeply"));
                }
                self.pos += 1;
                let mut parts = Vec::new();
                loop {
                    parts.push(self.requirement()?);
                    self.skip_space();
                    match self.input[self.pos..].chars().next() {
                        Some(',') => self.pos += 1,
                        Some(')') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.error("expected `,` or `)`")),
                    }
                }
                self.depth -= 1;
                Ok(if word == "any" {
                    Requirement::any(parts)
                } else {
                    Requirement::all(parts)
                })
            }
            (_, true) => Err(self.error("only `any(` and `all(` take arguments")),
            (name, false) if is_valid_permission_name(name) => {
                Ok(Requirement::permission(name.to_owned()))
            }
            _ => Err(self.error("invalid permission name")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> PermissionSet {
        PermissionSet::from_names(names.iter().copied())
    }

    #[test]
    fn canonical_form_flattens_and_dedupes() {
        let req = Requirement::all([
            Requirement::permission("A"),
            Requirement::all([Requirement::permission("B"), Requirement::permission("A")]),
            Requirement::any([Requirement::permission("C"), Requirement::permission("D")]),
        ]);
        assert_eq!(req.to_string(), "all(A, B, any(C, D))");
        assert_eq!(
            Requirement::any([Requirement::permission("X")]).to_string(),
            "X"
        );
    }

    #[test]
    fn parse_round_trips_and_rejects_junk() {
        for text in [
            "Admin.Write",
            "any(User.Write, Admin.Write)",
            "all(a:b, any(c, d/e))",
        ] {
            let req: Requirement = text.parse().unwrap();
            assert_eq!(req.to_string(), text);
        }
        for bad in ["", "any()", "any(a", "foo(a)", "a b", "a*", "any(a,)", "a)"] {
            assert!(bad.parse::<Requirement>().is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}a{}", "any(".repeat(40), ")".repeat(40));
        assert!(deep.parse::<Requirement>().is_err());
    }

    #[test]
    fn evaluation() {
        let req: Requirement = "any(User.Write, all(Admin.Read, Admin.Write))"
            .parse()
            .unwrap();
        assert!(req.is_met_by(&set(&["User.Write"])));
        assert!(req.is_met_by(&set(&["Admin.Read", "Admin.Write"])));
        assert!(!req.is_met_by(&set(&["Admin.Read"])));
        assert!(!req.is_met_by(&set(&["user.write", "User.Write2", "User"])));
        assert!(!Requirement::Any(vec![]).is_met_by(&set(&["A"])));
        assert!(!Requirement::All(vec![]).is_met_by(&set(&["A"])));
        // Canonicalizing keeps an empty (never met) `all` inside an `all`.
        let loosened = Requirement::all([Requirement::permission("A"), Requirement::All(vec![])]);
        assert!(!loosened.is_met_by(&set(&["A"])));
    }
}
