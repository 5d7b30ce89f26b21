//! Typed permissions at run time: with `#[mcp_rbac::tool_router(permissions = Perm)]`, a route's
//! rule is compiled to bits of `Perm` (declaration order, one `u128`), and a principal's
//! permissions are turned into the same bits once (cached in its [`PermissionSet`]); a check is
//! then a few mask operations instead of string hashing.
//!
//! The string rule stays the source of truth: it is what denials, manifests and `tools/list` show,
//! and the bits are derived from it. A rule naming something outside the set (only possible
//! through hand-written code; the macro rejects it at compile time) is checked as strings.

use std::any::TypeId;
use std::marker::PhantomData;

use rmcp::handler::server::prompt::GetPromptHandler;
use rmcp::handler::server::router::prompt::PromptRoute;
use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::handler::server::tool::CallToolHandler;
use rmcp::model::{Prompt, Tool};

use crate::guard::route;
use crate::principal::PermissionSet;
use crate::requirement::{Access, Requirement};

/// A permission enum declared with `mcp_rbac::permissions!`. Implemented by that macro only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission set",
    label = "not declared with `mcp_rbac::permissions!`",
    note = "declare it once: `mcp_rbac::permissions! {{ pub enum {Self} {{ \"Guest.Read\", \"Admin.Write\" }} }}`"
)]
pub trait PermissionEnum: Copy + 'static {
    /// Every name, in declaration order: name `i` is bit `i`. At most 128 (the macro checks).
    const NAMES: &'static [&'static str];
}

/// The bits of `P` that `set` holds (exactly or under a role policy's wildcard).
pub fn bits_of<P: PermissionEnum>(set: &PermissionSet) -> u128 {
    set.cached_bits(TypeId::of::<P>(), |set| {
        P::NAMES
            .iter()
            .take(128)
            .enumerate()
            .filter(|(_, name)| set.contains(name))
            .fold(0, |bits, (i, _)| bits | 1 << i)
    })
}

/// A [`Requirement`] over bits. Combinators of single permissions collapse to one mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BitRequirement {
    /// At least one of these bits (one permission: one bit). `0` is never met.
    AnyOf(u128),
    /// Every one of these bits. Never empty.
    AllOf(u128),
    /// At least one of these.
    Any(Vec<BitRequirement>),
    /// Every one of these. Never empty.
    All(Vec<BitRequirement>),
}

impl BitRequirement {
    /// `req` as bits of `names`, or `None` when it names something else.
    pub fn compile(req: &Requirement, names: &[&str]) -> Option<Self> {
        match req {
            Requirement::Permission(name) => {
                let i = names.iter().position(|n| n == name).filter(|i| *i < 128)?;
                Some(BitRequirement::AnyOf(1 << i))
            }
            Requirement::Any(parts) => {
                let parts = parts
                    .iter()
                    .map(|p| Self::compile(p, names))
                    .collect::<Option<Vec<_>>>()?;
                match single_bits(&parts) {
                    Some(mask) => Some(BitRequirement::AnyOf(mask)),
                    None => Some(BitRequirement::Any(parts)),
                }
            }
            // An empty `all` is fail-closed, as in `Requirement::is_met_by`: `AnyOf(0)` never holds.
            Requirement::All(parts) if parts.is_empty() => Some(BitRequirement::AnyOf(0)),
            Requirement::All(parts) => {
                let parts = parts
                    .iter()
                    .map(|p| Self::compile(p, names))
                    .collect::<Option<Vec<_>>>()?;
                match single_bits(&parts) {
                    Some(mask) => Some(BitRequirement::AllOf(mask)),
                    None => Some(BitRequirement::All(parts)),
                }
            }
        }
    }

    /// Whether a principal holding `bits` meets the requirement.
    pub fn is_met_by(&self, bits: u128) -> bool {
        match self {
            BitRequirement::AnyOf(mask) => bits & mask != 0,
            BitRequirement::AllOf(mask) => bits & mask == *mask,
            BitRequirement::Any(parts) => parts.iter().any(|p| p.is_met_by(bits)),
            BitRequirement::All(parts) => parts.iter().all(|p| p.is_met_by(bits)),
        }
    }
}

/// The union of `parts` when each is a single permission.
fn single_bits(parts: &[BitRequirement]) -> Option<u128> {
    parts.iter().try_fold(0, |mask, part| match part {
        BitRequirement::AnyOf(bit) if bit.count_ones() == 1 => Some(mask | bit),
        _ => None,
    })
}

/// An access rule checked as bits of `P`: what a typed gate runs instead of the string check.
#[derive(Debug)]
pub struct BitCheck {
    bits_of: fn(&PermissionSet) -> u128,
    requirement: BitRequirement,
}

impl BitCheck {
    /// `access` as bits of `P`; `None` for a public rule or one naming something outside `P`.
    pub fn new<P: PermissionEnum>(access: &Access) -> Option<Self> {
        let Access::Requires(req) = access else {
            return None;
        };
        Some(BitCheck {
            bits_of: bits_of::<P>,
            requirement: BitRequirement::compile(req, P::NAMES)?,
        })
    }

    /// Whether `permissions` meets the rule.
    pub fn allows(&self, permissions: &PermissionSet) -> bool {
        self.requirement.is_met_by((self.bits_of)(permissions))
    }
}

/// The routes of a router declared with `permissions = P`: [`guard_tool`](crate::guard::guard_tool)
/// and [`guard_prompt`](crate::guard::guard_prompt), checking as bits of `P`.
pub struct TypedGuard<P>(PhantomData<P>);

impl<P: PermissionEnum> TypedGuard<P> {
    /// A tool route whose every call passes `access` first.
    pub fn tool<S, C, A>(attr: Tool, handler: C, access: Access) -> ToolRoute<S>
    where
        S: Send + Sync + 'static,
        C: CallToolHandler<S, A> + Send + Sync + Clone + 'static,
    {
        let bits = BitCheck::new::<P>(&access);
        route::guard_tool_with(attr, handler, access, bits)
    }

    /// A prompt route whose every `prompts/get` passes `access` first.
    pub fn prompt<S, H, A>(attr: Prompt, handler: H, access: Access) -> PromptRoute<S>
    where
        S: Send + Sync + 'static,
        A: 'static,
        H: GetPromptHandler<S, A> + Send + Sync + Clone + 'static,
    {
        let bits = BitCheck::new::<P>(&access);
        route::guard_prompt_with(attr, handler, access, bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    struct Perm;
    impl PermissionEnum for Perm {
        const NAMES: &'static [&'static str] = &[
            "Guest.Read",
            "User.Read",
            "User.Write",
            "Admin.Read",
            "Admin.Write",
        ];
    }

    #[derive(Clone, Copy)]
    struct Other;
    impl PermissionEnum for Other {
        const NAMES: &'static [&'static str] = &["Admin.Write"];
    }

    /// Every requirement over three names (nested once) against every subset of the set, plus
    /// a wildcard grant: the bits agree with the strings each time.
    #[test]
    fn bits_agree_with_strings() {
        let p = |n: &str| Requirement::permission(n.to_owned());
        let leaves = [p("User.Read"), p("User.Write"), p("Admin.Write")];
        let mut reqs: Vec<Requirement> = leaves.to_vec();
        for a in &leaves {
            for b in &leaves {
                reqs.push(Requirement::any([a.clone(), b.clone()]));
                reqs.push(Requirement::all([a.clone(), b.clone()]));
                reqs.push(Requirement::any([
                    Requirement::all([a.clone(), b.clone()]),
                    p("Guest.Read"),
                ]));
                reqs.push(Requirement::all([
                    Requirement::any([a.clone(), b.clone()]),
                    p("Admin.Read"),
                ]));
            }
        }
        reqs.push(Requirement::Any(vec![]));
        reqs.push(Requirement::All(vec![]));
        let mut checked = 0;
        for subset in 0u32..(1 << Perm::NAMES.len()) {
            let mut set = PermissionSet::from_names(
                Perm::NAMES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| subset & (1 << i) != 0)
                    .map(|(_, n)| *n),
            );
            if subset % 3 == 0 {
                set.insert_prefix("Admin.");
            }
            for req in &reqs {
                let bits = BitCheck::new::<Perm>(&Access::Requires(req.clone())).unwrap();
                assert_eq!(bits.allows(&set), req.is_met_by(&set), "{req} on {set:?}");
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn names_outside_the_set_fall_back_to_strings() {
        let req = Requirement::any([
            Requirement::permission("Admin.Write"),
            Requirement::permission("Billing.Write"),
        ]);
        assert!(BitCheck::new::<Perm>(&Access::Requires(req)).is_none());
        assert!(BitCheck::new::<Perm>(&Access::Public).is_none());
    }

    #[test]
    fn the_cache_follows_the_set_and_its_type() {
        let mut set = PermissionSet::from_names(["Admin.Write"]);
        assert_eq!(bits_of::<Perm>(&set), 1 << 4);
        // Another set is computed on its own, not read from Perm's slot.
        assert_eq!(bits_of::<Other>(&set), 1);
        set.insert("Guest.Read");
        assert_eq!(bits_of::<Perm>(&set), 1 << 4 | 1);
        assert_eq!(
            set,
            PermissionSet::from_names(["Guest.Read", "Admin.Write"])
        );
    }
}
