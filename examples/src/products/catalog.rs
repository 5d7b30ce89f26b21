//! The in-memory catalogue and a count of tool bodies run (tests use it to prove that a denied
//! call never reaches the body).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One product.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Product {
    /// Identifier.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Price in cents.
    pub price_cents: u64,
}

/// Shared state of every session of one server.
#[derive(Clone, Default)]
pub struct Catalog {
    products: Arc<Mutex<BTreeMap<u64, Product>>>,
    next_id: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

/// How many times each tool's body ran.
#[derive(Default, Debug)]
pub struct Counters {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    pub(crate) fn hit(&self, tool: &'static str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(tool).or_default() += 1;
        }
    }

    /// Runs of `tool`'s body so far.
    pub fn get(&self, tool: &str) -> u64 {
        self.counts
            .lock()
            .map(|c| c.get(tool).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The bodies other than `allowed` that ran, with their runs: what a test of refusals
    /// expects to be empty.
    pub fn ran_except(&self, allowed: &[&str]) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|(tool, runs)| **runs > 0 && !allowed.contains(tool))
                    .map(|(tool, runs)| (*tool, *runs))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Catalog {
    /// A catalogue with three products.
    pub fn seeded() -> Self {
        let catalog = Catalog::default();
        catalog.next_id.store(1, Ordering::Relaxed);
        for (name, price) in [("Widget", 499), ("Gadget", 1299), ("Gizmo", 2599)] {
            catalog.insert(name.to_owned(), price);
        }
        catalog
    }

    /// The body-run counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    pub(crate) fn hit(&self, tool: &'static str) {
        self.counters.hit(tool);
    }

    pub(crate) fn list(&self) -> Vec<Product> {
        self.products
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn get(&self, id: u64) -> Option<Product> {
        self.products.lock().ok()?.get(&id).cloned()
    }

    pub(crate) fn insert(&self, name: String, price_cents: u64) -> Product {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let product = Product {
            id,
            name,
            price_cents,
        };
        if let Ok(mut products) = self.products.lock() {
            products.insert(id, product.clone());
        }
        product
    }

    pub(crate) fn remove(&self, id: u64) {
        if let Ok(mut products) = self.products.lock() {
            products.remove(&id);
        }
    }
}
