//! The code the macros write. It is reviewed by people, so it stays plain: a router function
//! listing each route with its requirement, and handler methods that call one runtime function each.

mod handler;
mod outside;
mod router;

pub use handler::handler;
pub use outside::outside_router;
pub use router::router;
