//! The products server: a small catalogue behind permission-checked MCP tools.
//!
//! - `list_products`, `get_product`: `Guest.Read`
//! - `create_product`: `any(User.Write, Admin.Write)`
//! - `delete_product`: `Admin.Write`
//! - `whoami`: public
//! - prompt `product_brief`: `User.Read`
//!
//! Roles (the `roles` claim): admin ⊃ user ⊃ guest, see [`policy::role_policy`]. Client
//! `readonly-agent` (`azp`, else `client_id`) is capped at `Guest.Read`, see
//! [`policy::client_policy`].

mod admin;
mod app;
mod catalog;
mod cli;
pub mod policy;
mod server;
mod verifiers;

pub use admin::revoke;
pub use app::{cedar_authorizer, cedar_authorizer_of, start, Running, StartError, Tokens};
pub use catalog::{Catalog, Counters};
pub use cli::{
    Cli, ClientSecret, Command, DpopFlag, ListModeFlag, Revoke, INTROSPECTION_SECRET_ENV,
};
pub use server::Products;
