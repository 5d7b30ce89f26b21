//! Example servers of mcp-rbac. The products server's code lives here as a library so the
//! end-to-end tests run exactly what `target/release/products` runs.

pub mod bench;
pub mod products;
