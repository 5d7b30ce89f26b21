//! Attributes into the [`model`](crate::model): syntax only. Whether the parsed pieces make sense
//! together (a requirement present, not both `requires` and `public`, …) is [`validate`](crate::validate)'s job.

mod args;
mod item;
mod permissions;
mod requirement;

pub use args::{handler_args, router_args};
pub use item::{method_attr, push as push_error, RawItem};
pub use permissions::permission_set;
pub use requirement::requirement;
