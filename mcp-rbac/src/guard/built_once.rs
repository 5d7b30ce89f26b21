//! Routers built once per type. rmcp's handler attributes call `Self::tool_router()` on every
//! request, and building a router (each route's JSON schema included) costs about 30k
//! instructions, a fifth of a stateless `tools/call`. The routers `#[mcp_rbac::tool_router]`
//! generates depend only on the code, so the generated handlers build each once, on first use,
//! and share it for the life of the process.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

type Built = HashMap<TypeId, &'static (dyn Any + Send + Sync)>;

/// The value `build` makes, built on the first call for type `R` and shared after it.
///
/// `build` runs without a lock held (it may itself use this); when two threads race on a first
/// call, one value is kept and the other dropped.
pub fn built_once<R: Send + Sync + 'static>(build: impl FnOnce() -> R) -> &'static R {
    static BUILT: OnceLock<RwLock<Built>> = OnceLock::new();
    let built = BUILT.get_or_init(RwLock::default);
    let id = TypeId::of::<R>();
    let found = built
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .copied();
    let shared = match found {
        Some(shared) => shared,
        None => {
            let fresh = build();
            *built
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(id)
                .or_insert_with(|| Box::leak(Box::new(fresh)))
        }
    };
    // The map holds, under `TypeId::of::<R>()`, only values of type `R`.
    shared
        .downcast_ref::<R>()
        .expect("the value stored under R's TypeId is an R")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static BUILDS: AtomicUsize = AtomicUsize::new(0);

    struct Counted(usize);

    fn counted() -> Counted {
        Counted(BUILDS.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[test]
    fn builds_once_per_type_and_shares_the_value() {
        let first = built_once(counted);
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| built_once(counted) as *const Counted as usize))
            .collect();
        for thread in threads {
            assert_eq!(thread.join().ok(), Some(first as *const Counted as usize));
        }
        assert_eq!(first.0, 1);
        assert_eq!(BUILDS.load(Ordering::SeqCst), 1);
        // Another type gets its own value.
        assert_eq!(*built_once(|| 7_u8), 7);
        assert_eq!(*built_once(|| 9_u8), 7, "u8 was built already");
        assert_eq!(BUILDS.load(Ordering::SeqCst), 1);
    }
}
