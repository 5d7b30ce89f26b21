//! A caller's effective permissions: exact names, plus the `Prefix.*` grants a role policy makes.

use std::collections::HashSet;

/// Names are hashed at every check; foldhash is several times faster than SipHash on short
/// strings, and its per-process seed keeps the usual flooding defence (the names come from
/// signed tokens anyway).
type NameSet = HashSet<Box<str>, foldhash::fast::RandomState>;

/// The bit of [`PermissionSet::prefix_lengths`] for a prefix of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// The set a [`Requirement`](crate::Requirement) is checked against.
///
/// Names from tokens are always exact: a token claiming `Admin.*` holds the literal name
/// `Admin.*`, nothing more. Only a [`RolePolicy`](crate::RolePolicy) grants wildcards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet {
    exact: NameSet,
    /// `Admin.*` is stored as `Admin.`: any name that starts with it and has more after it.
    /// Every prefix ends with a dot, so a check looks up the name's dotted prefixes (one hash
    /// lookup per dot in the name) instead of comparing against every wildcard the roles grant.
    prefixes: NameSet,
    /// Bit `n` is set when some prefix is `n` bytes long (bit 63: 63 or more), so a dotted
    /// prefix of a length no grant has is skipped without hashing it. Derived from `prefixes`.
    prefix_lengths: u64,
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

    /// Adds a `Prefix.*` grant (the argument is the part before `*`, ending in its dot: a
    /// [`RolePolicy`](crate::RolePolicy) accepts wildcards only as `Prefix.*`).
    pub(crate) fn insert_prefix(&mut self, prefix: &str) {
        debug_assert!(prefix.len() > 1 && prefix.ends_with('.'), "{prefix:?}");
        if !self.prefixes.contains(prefix) {
            self.prefixes.insert(prefix.into());
            self.prefix_lengths |= length_bit(prefix.len());
        }
    }

    /// Adds everything `other` holds.
    pub fn extend(&mut self, other: &PermissionSet) {
        other.exact.iter().for_each(|n| self.insert(n));
        other.prefixes.iter().for_each(|p| self.insert_prefix(p));
    }

    /// Whether `name` is held exactly or under a wildcard grant.
    pub fn contains(&self, name: &str) -> bool {
        self.exact.contains(name) || self.held_under_prefix(name)
    }

    /// Whether a wildcard grant covers `name`: some prefix of it that ends in a dot, with more
    /// after that dot, is a granted prefix.
    fn held_under_prefix(&self, name: &str) -> bool {
        self.prefix_lengths != 0
            && name.bytes().enumerate().any(|(dot, byte)| {
                byte == b'.'
                    && dot + 1 < name.len()
                    && self.prefix_lengths & length_bit(dot + 1) != 0
                    && self.prefixes.contains(&name[..=dot])
            })
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

    /// What both sets hold: a name is in the result exactly when both sets
    /// [`contain`](Self::contains) it. Exact names of one set covered by the other stay exact;
    /// of two nested wildcards the narrower one stays (`Admin.*` ∩ `Admin.Reports.*` is
    /// `Admin.Reports.*`).
    ///
    /// ```
    /// use mcp_rbac::{Role, RolePolicy};
    ///
    /// let policy = RolePolicy::new([
    ///     Role::new("admin").grants(["Admin.*", "Guest.Read"]),
    ///     Role::new("agent").grants(["Admin.Read", "Guest.*"]),
    /// ])?;
    /// let both = policy.permissions_of(["admin"]).intersection(&policy.permissions_of(["agent"]));
    /// assert_eq!(both.names(), ["Admin.Read", "Guest.Read"]);
    /// # Ok::<(), mcp_rbac::PolicyError>(())
    /// ```
    pub fn intersection(&self, other: &PermissionSet) -> PermissionSet {
        let mut both = PermissionSet::new();
        for (one, two) in [(self, other), (other, self)] {
            for name in &one.exact {
                if two.contains(name) {
                    both.insert(name);
                }
            }
            // A name under wildcards of both sets has both prefixes, one inside the other: the
            // longer one is what both hold.
            for prefix in &one.prefixes {
                if two.held_under_prefix_or_equal(prefix) {
                    both.insert_prefix(prefix);
                }
            }
        }
        both
    }

    /// Whether a wildcard grant covers every name under `prefix` (itself a granted prefix,
    /// ending in a dot): the same prefix, or a shorter one it starts with.
    fn held_under_prefix_or_equal(&self, prefix: &str) -> bool {
        self.prefixes.contains(prefix) || self.held_under_prefix(prefix)
    }

    /// Whether the set grants nothing.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }
}
