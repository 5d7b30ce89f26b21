//! Each guarded route carries its access rule in its definition's `_meta` under [`KEY`], so the
//! rule travels with the route through `ToolRouter` merges, `+` and router fields, and the
//! handlers can filter lists without a side table. The handlers remove the key before a
//! definition leaves the server; the call path never reads it (the guard holds its own copy).

use rmcp::model::{MetaObject, Prompt, Tool};

use crate::requirement::Access;

/// The `_meta` key of a route's canonical access rule.
pub const KEY: &str = "mcp-rbac/access";

/// The `_meta` key of a route's argument condition (its path as written, e.g. `Self::may_update`).
pub const CONDITION_KEY: &str = "mcp-rbac/condition";

pub(crate) fn set(meta: &mut Option<MetaObject>, access: &Access) {
    meta.get_or_insert_with(MetaObject::new).0.insert(
        KEY.to_owned(),
        serde_json::Value::String(access.to_string()),
    );
}

pub(crate) fn set_condition(meta: &mut Option<MetaObject>, condition: &str) {
    meta.get_or_insert_with(MetaObject::new).0.insert(
        CONDITION_KEY.to_owned(),
        serde_json::Value::String(condition.to_owned()),
    );
}

fn take(meta: &mut Option<MetaObject>) -> Option<Access> {
    let object = meta.as_mut()?;
    object.0.remove(CONDITION_KEY);
    let value = object.0.remove(KEY)?;
    if object.0.is_empty() {
        *meta = None;
    }
    value.as_str()?.parse().ok()
}

fn peek(meta: &Option<MetaObject>) -> Option<Access> {
    meta.as_ref()?.0.get(KEY)?.as_str()?.parse().ok()
}

/// Whether a guard wrapped this route: the marker is there (the call path needs no more, and
/// reading the rule back would parse it on every call).
pub(crate) fn is_guarded(meta: &Option<MetaObject>) -> bool {
    // A route's `_meta` holds a few keys: comparing them is cheaper than hashing one, which
    // serde_json's ordered map does with SipHash once it holds two (a condition's marker is the
    // second).
    meta.as_ref().is_some_and(|meta| {
        if meta.0.len() <= SCANNED_META_KEYS {
            meta.0.keys().any(|key| key == KEY)
        } else {
            meta.0.contains_key(KEY)
        }
    })
}

/// Up to how many `_meta` keys [`is_guarded`] compares one by one.
const SCANNED_META_KEYS: usize = 8;

/// The access rule of a tool definition from a guarded router (`None`: not guarded).
pub fn access_of_tool(tool: &Tool) -> Option<Access> {
    peek(&tool.meta)
}

/// The access rule of a prompt definition from a guarded router (`None`: not guarded).
pub fn access_of_prompt(prompt: &Prompt) -> Option<Access> {
    peek(&prompt.meta)
}

/// The argument condition of a tool definition from a guarded router, if it names one.
pub fn condition_of_tool(tool: &Tool) -> Option<&str> {
    tool.meta.as_ref()?.0.get(CONDITION_KEY)?.as_str()
}

/// The argument condition of a prompt definition from a guarded router, if it names one.
pub fn condition_of_prompt(prompt: &Prompt) -> Option<&str> {
    prompt.meta.as_ref()?.0.get(CONDITION_KEY)?.as_str()
}

/// Removes the marker, returning the rule.
pub(crate) fn take_tool(tool: &mut Tool) -> Option<Access> {
    take(&mut tool.meta)
}

/// Removes the marker, returning the rule.
pub(crate) fn take_prompt(prompt: &mut Prompt) -> Option<Access> {
    take(&mut prompt.meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `_meta` with `n` keys of its own, and the marker when `marked`.
    fn meta(n: usize, marked: bool) -> Option<MetaObject> {
        let mut meta = MetaObject::new();
        for i in 0..n {
            meta.0
                .insert(format!("example.com/key-{i}"), serde_json::json!(i));
        }
        let mut meta = Some(meta);
        if marked {
            set(&mut meta, &Access::Public);
        }
        meta
    }

    #[test]
    fn the_marker_is_found_among_few_keys_and_many() {
        assert!(!is_guarded(&None));
        for n in [0, 1, SCANNED_META_KEYS - 1, SCANNED_META_KEYS, 40] {
            assert!(is_guarded(&meta(n, true)), "{n} keys and the marker");
            assert!(!is_guarded(&meta(n, false)), "{n} keys, no marker");
        }
        let mut conditioned = None;
        set_condition(&mut conditioned, "Self::may_update");
        assert!(
            !is_guarded(&conditioned),
            "a condition's key is not the marker"
        );
        set(&mut conditioned, &Access::Public);
        assert!(is_guarded(&conditioned));
    }
}
