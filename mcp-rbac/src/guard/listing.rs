//! How `tools/list`, `prompts/list` and `resources/list` present items the caller may not use.

use rmcp::model::MetaObject;
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use crate::requirement::Access;

/// The `_meta` key carrying an item's canonical requirement (`Admin.Write`, `any(A, B)`, `public`)
/// when [`Listing::with_requirement_meta`] is on.
pub const REQUIRES_KEY: &str = "mcp-rbac/requires";
/// The `_meta` key saying whether this caller may use the item (`true`/`false`), next to
/// [`REQUIRES_KEY`].
pub const ALLOWED_KEY: &str = "mcp-rbac/allowed";

/// Whether lists leave out what the caller may not call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListMode {
    /// Only what the caller may call (the default).
    #[default]
    Hide,
    /// Everything; calls are still checked. With [`Listing::with_requirement_meta`] a client can
    /// tell its user which permission is missing.
    Show,
}

/// A server's list policy, given to `#[mcp_rbac::tool_handler(listing = …)]` and
/// `#[mcp_rbac::prompt_handler(listing = …)]` (an expression evaluated on every list request,
/// so it may read `self`), and to [`ResourceGuard::list`](super::ResourceGuard::list).
///
/// ```
/// use mcp_rbac::guard::{ListMode, Listing};
///
/// let listing = Listing::show().with_requirement_meta(true);
/// assert_eq!(listing.mode(), ListMode::Show);
/// assert_eq!(Listing::default(), Listing::hide()); // hide, no requirement in `_meta`
/// ```
///
/// A server chooses per handler with `listing = …`; without it, the handlers use the list mode
/// [`ServerBuilder::list_mode`](crate::ServerBuilder::list_mode) set ([`Listing::of_request`]).
///
/// ```
/// use mcp_rbac::guard::Listing;
///
/// #[derive(Clone)]
/// struct Products { listing: Listing }
/// # #[mcp_rbac::tool_router]
/// # impl Products {
/// #     #[tool(public)]
/// #     async fn whoami(&self) -> String { String::new() }
/// # }
///
/// #[mcp_rbac::tool_handler(listing = self.listing)]
/// impl rmcp::ServerHandler for Products {}
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    mode: ListMode,
    requirement_meta: bool,
}

impl Listing {
    /// Only what the caller may call.
    pub const fn hide() -> Self {
        Listing {
            mode: ListMode::Hide,
            requirement_meta: false,
        }
    }

    /// Everything, whatever the caller may call.
    pub const fn show() -> Self {
        Listing {
            mode: ListMode::Show,
            requirement_meta: false,
        }
    }

    /// The given mode, without requirement metadata.
    pub const fn new(mode: ListMode) -> Self {
        Listing {
            mode,
            requirement_meta: false,
        }
    }

    /// Whether each listed item's `_meta` carries its requirement ([`REQUIRES_KEY`]) and whether
    /// this caller meets it ([`ALLOWED_KEY`]). Off by default: it tells callers the server's
    /// permission names.
    pub const fn with_requirement_meta(mut self, on: bool) -> Self {
        self.requirement_meta = on;
        self
    }

    /// The mode.
    pub const fn mode(self) -> ListMode {
        self.mode
    }

    /// Whether requirements go into `_meta`.
    pub const fn requirement_meta(self) -> bool {
        self.requirement_meta
    }

    /// The list policy a server set for this request ([`ServerBuilder::list_mode`](crate::ServerBuilder::list_mode)
    /// puts it in the HTTP request's extensions), else [`Listing::hide`]. What the handlers
    /// use when `#[mcp_rbac::tool_handler]` has no `listing = …`.
    pub fn of_request(context: &RequestContext<RoleServer>) -> Listing {
        context
            .extensions
            .get::<Listing>()
            .or_else(|| {
                context
                    .extensions
                    .get::<http::request::Parts>()
                    .and_then(|parts| parts.extensions.get::<Listing>())
            })
            .copied()
            .unwrap_or_default()
    }

    /// Whether a list's content depends on who asks (so it must not be cached for others).
    pub(crate) fn per_caller(self) -> bool {
        self.mode == ListMode::Hide || self.requirement_meta
    }

    /// Whether an item with `access`, which the caller may use or not (`allowed`, from
    /// [`permits`](super::permits)), goes into the caller's list; if so, writes the requirement
    /// metadata into `meta` when asked to.
    pub(crate) fn present(
        self,
        access: &Access,
        allowed: bool,
        meta: &mut Option<MetaObject>,
    ) -> bool {
        if !allowed && self.mode == ListMode::Hide {
            return false;
        }
        if self.requirement_meta {
            let object = &mut meta.get_or_insert_with(MetaObject::new).0;
            object.insert(REQUIRES_KEY.to_owned(), access.to_string().into());
            object.insert(ALLOWED_KEY.to_owned(), allowed.into());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::allows;
    use crate::{Principal, Requirement};

    fn guest() -> Principal {
        Principal::builder("g").permissions(["Guest.Read"]).build()
    }

    #[test]
    fn hide_drops_denied_items_and_show_keeps_them() {
        let admin = Access::Requires(Requirement::permission("Admin.Write"));
        let mut meta = None;
        assert!(!Listing::hide().present(&admin, allows(&admin, &guest()), &mut meta));
        assert!(Listing::show().present(&admin, allows(&admin, &guest()), &mut meta));
        assert_eq!(meta, None, "no metadata unless asked");
    }

    #[test]
    fn requirement_meta_names_the_rule_and_the_callers_standing() {
        let admin = Access::Requires(Requirement::permission("Admin.Write"));
        let mut meta = None;
        let listing = Listing::show().with_requirement_meta(true);
        assert!(listing.present(&admin, allows(&admin, &guest()), &mut meta));
        let meta = meta.expect("meta written").0;
        assert_eq!(meta[REQUIRES_KEY], "Admin.Write");
        assert_eq!(meta[ALLOWED_KEY], false);

        let mut meta = None;
        assert!(listing.present(&Access::Public, true, &mut meta));
        let meta = meta.expect("meta written").0;
        assert_eq!(meta[REQUIRES_KEY], "public");
        assert_eq!(meta[ALLOWED_KEY], true);
    }

    #[test]
    fn only_show_without_meta_is_the_same_for_everyone() {
        assert!(Listing::hide().per_caller());
        assert!(Listing::show().with_requirement_meta(true).per_caller());
        assert!(!Listing::show().per_caller());
    }
}
