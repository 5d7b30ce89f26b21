//! Guides: how to use mcp-rbac with an identity provider, which verifier to choose, and the
//! opt-in behaviours. The same pages are in the repository under `mcp-rbac/docs/`; their Rust
//! examples are compiled (and, where they need no network, run) as doctests.

#[doc = include_str!("../docs/identity-providers.md")]
pub mod identity_providers {}

#[doc = include_str!("../docs/verifiers.md")]
pub mod verifiers {}

#[doc = include_str!("../docs/conditions.md")]
pub mod conditions {}

#[doc = include_str!("../docs/step-up.md")]
pub mod step_up {}

#[doc = include_str!("../docs/resources.md")]
pub mod resources {}

#[doc = include_str!("../docs/list-modes.md")]
pub mod list_modes {}

#[doc = include_str!("../docs/stdio.md")]
pub mod stdio {}

#[cfg(feature = "audit-file")]
#[doc = include_str!("../docs/audit.md")]
pub mod audit {}

#[doc = include_str!("../docs/metrics.md")]
pub mod metrics {}

#[doc = include_str!("../docs/client-ceilings.md")]
pub mod client_ceilings {}

#[doc = include_str!("../docs/dpop.md")]
pub mod dpop {}

#[doc = include_str!("../docs/replicas.md")]
pub mod replicas {}

#[cfg(feature = "cedar")]
#[doc = include_str!("../docs/cedar.md")]
pub mod cedar {}
