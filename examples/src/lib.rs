//! Example servers of mcp-rbac. The products server's code lives here as a library so the
//! end-to-end tests run exactly what `target/release/products` runs.

pub mod bench;
pub mod dev_issuer;
pub mod products;
pub mod products_stdio;
mod serve;
