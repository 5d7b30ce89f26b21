//! jsonwebtoken's crypto backend. aws-lc-rs was measured faster than RustCrypto for every
//! algorithm we verify (figures in docs/benchmarks.md, bench `crypto_backends`).
//! jsonwebtoken picks its backend from its crate features and panics at first use when both
//! are on (a dependency may enable the other one), so the choice is installed explicitly.

use std::sync::Once;

/// Installs aws-lc-rs as jsonwebtoken's process-wide backend unless one is installed already.
/// mcp-rbac calls it before any signing or verification; call it yourself before using
/// jsonwebtoken directly in a process where both of its backend features may be on.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is installed already (by the application): keep theirs.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}
