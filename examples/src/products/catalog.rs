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

/// Who created a product: the issuer and subject of `create_product`'s caller (a subject is
/// unique only within its issuer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    issuer: Option<String>,
    subject: String,
}

impl Owner {
    /// The owner `caller` would be.
    pub fn of(caller: &mcp_rbac::Principal) -> Self {
        Owner {
            issuer: caller.issuer().map(str::to_owned),
            subject: caller.subject().to_owned(),
        }
    }

    /// Whether `caller` is this owner.
    pub fn is(&self, caller: &mcp_rbac::Principal) -> bool {
        self.issuer.as_deref() == caller.issuer() && self.subject == caller.subject()
    }
}

/// Shared state of every session of one server.
#[derive(Clone, Default)]
pub struct Catalog {
    products: Arc<Mutex<BTreeMap<u64, Product>>>,
    /// Products created through `create_product`; the seeded ones have no owner.
    owners: Arc<Mutex<BTreeMap<u64, Owner>>>,
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

    /// Records `owner` as the creator of product `id`.
    pub(crate) fn set_owner(&self, id: u64, owner: Owner) {
        if let Ok(mut owners) = self.owners.lock() {
            owners.insert(id, owner);
        }
    }

    /// Who created product `id` (`None`: seeded, or no such product).
    pub(crate) fn owner(&self, id: u64) -> Option<Owner> {
        self.owners.lock().ok()?.get(&id).cloned()
    }

    /// Changes the name and price given; `None` when there is no product `id`.
    pub(crate) fn update(
        &self,
        id: u64,
        name: Option<String>,
        price_cents: Option<u64>,
    ) -> Option<Product> {
        let mut products = self.products.lock().ok()?;
        let product = products.get_mut(&id)?;
        if let Some(name) = name {
            product.name = name;
        }
        if let Some(price_cents) = price_cents {
            product.price_cents = price_cents;
        }
        Some(product.clone())
    }

    pub(crate) fn remove(&self, id: u64) {
        if let Ok(mut products) = self.products.lock() {
            products.remove(&id);
        }
        if let Ok(mut owners) = self.owners.lock() {
            owners.remove(&id);
        }
    }
}
