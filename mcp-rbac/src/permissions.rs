//! A caller's effective permissions: exact names, plus the `Prefix.*` grants a role policy makes.

use std::collections::HashSet;

/// Names are hashed at every check; foldhash is several times faster than SipHash on short
/// strings, and its per-process seed keeps the usual flooding defence (the names come from
/// signed tokens anyway).
type NameSet = HashSet<Box<str>, foldhash::fast::RandomState>;

/// The set a [`Requirement`](crate::Requirement) is checked against.
///
/// Names from tokens are always exact: a token claiming `Admin.*` holds the literal name
/// `Admin.*`, nothing more. Only a [`RolePolicy`](crate::RolePolicy) grants wildcards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet {
    exact: NameSet,
    /// `Admin.*` is stored as `Admin.`: any name that starts with it and has more after it.
    prefixes: Vec<Box<str>>,
}

impl PermissionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exact names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = Self::new();
        names.into_iter().for_each(|n| set.insert(n));
        set
    }

    /// Room for `n` more exact names.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.exact.reserve(n);
    }

    /// Adds one exact name.
    pub fn insert(&mut self, name: &str) {
        if !self.exact.contains(name) {
            self.exact.insert(name.into());
        }
    }

    /// Adds a `Prefix.*` grant (the argument is the part before `*`, dot included).
    pub(crate) fn insert_prefix(&mut self, prefix: &str) {
        if !self.prefixes.iter().any(|p| &**p == prefix) {
            self.prefixes.push(prefix.into());
        }
    }

    /// Adds everything `other` holds.
    pub fn extend(&mut self, other: &PermissionSet) {
        other.exact.iter().for_each(|n| self.insert(n));
        other.prefixes.iter().for_each(|p| self.insert_prefix(p));
    }

    /// Whether `name` is held exactly or under a wildcard grant.
    pub fn contains(&self, name: &str) -> bool {
        self.exact.contains(name)
            || self
                .prefixes
                .iter()
                .any(|p| name.len() > p.len() && name.starts_with(&**p))
    }

    /// Exact names, sorted, then wildcard grants as `Prefix.*`.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.exact.iter().map(|n| n.to_string()).collect();
        names.sort();
        let mut wild: Vec<String> = self.prefixes.iter().map(|p| format!("{p}*")).collect();
        wild.sort();
        names.extend(wild);
        names
    }

    /// Whether the set grants nothing.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }
}
