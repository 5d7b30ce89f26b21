//! What the fuzz targets share: the fixed verifier configuration and keys they sign with
//! ([`tokens`]), JSON built from fuzz input with a bias toward the names the library reads
//! ([`json`]), and a way to finish the library's futures without a runtime ([`run`]).

pub mod json;
pub mod tokens;

/// Runs a future that never waits on I/O (the verifiers here fetch nothing) to completion.
///
/// ```
/// assert_eq!(mcp_rbac_fuzz::run(async { 1 + 1 }), 2);
/// ```
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}
