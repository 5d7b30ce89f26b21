//! What an access rule guards: a tool, a prompt or a resource.

use std::fmt;

/// Whether an item is a tool, a prompt or a resource. It names the item in denials, audit events
/// and the rows of an [`AccessMatrix`](crate::AccessMatrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    /// A tool (`tools/call`).
    Tool,
    /// A prompt (`prompts/get`).
    Prompt,
    /// A resource (`resources/read`), named by its URI.
    Resource,
}

impl ItemKind {
    /// `"tool"`, `"prompt"` or `"resource"`: the key of the item's name in a denial's `data`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Tool => "tool",
            ItemKind::Prompt => "prompt",
            ItemKind::Resource => "resource",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
