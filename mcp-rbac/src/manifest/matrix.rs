//! The role × item matrix: a [`Manifest`] crossed with a [`RolePolicy`], rendered for review.

use std::collections::BTreeMap;

use super::{Manifest, UNGUARDED};
use crate::item::ItemKind;
use crate::requirement::{Access, ParseRequirementError};
use crate::RolePolicy;

/// A manifest rule that is neither `public`, `unguarded` nor a requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} `{name}` has the rule `{rule}`, which is not `public`, `unguarded` or a requirement: {source}")]
pub struct MatrixError {
    kind: ItemKind,
    name: String,
    rule: String,
    source: ParseRequirementError,
}

/// Which role may call which tool and prompt and read which resource, under one role policy.
///
/// A role may call an item when the permissions the policy gives it (inheritance and `Prefix.*`
/// wildcards included) meet the item's rule; `public` items are open to every role (callers still
/// authenticate); `unguarded` items to none (the guard refuses them). Permissions a token carries
/// directly or as scopes are outside the policy and so outside the matrix. An item with an
/// argument condition shows it beside its rule: a `✓` there says the role passes the rule, and
/// the condition still judges each call's arguments.
///
/// ```
/// use mcp_rbac::{AccessMatrix, ItemKind, Manifest, RolePolicy};
///
/// let manifest = Manifest::from_json(
///     r#"{"tools": {"delete_product": "Admin.Write", "whoami": "public"}}"#,
/// )?;
/// let policy = RolePolicy::from_toml_str(
///     "[roles.guest]\n[roles.admin]\ninherits = [\"guest\"]\npermissions = [\"Admin.*\"]\n",
/// )?;
/// let matrix = AccessMatrix::new(&manifest, &policy)?;
/// assert!(matrix.allows("admin", ItemKind::Tool, "delete_product"));
/// assert!(!matrix.allows("guest", ItemKind::Tool, "delete_product"));
/// assert_eq!(
///     matrix.to_markdown(),
///     "| item | requires | admin | guest |\n\
///      |---|---|:---:|:---:|\n\
///      | tool `delete_product` | `Admin.Write` | ✓ |  |\n\
///      | tool `whoami` | `public` | ✓ | ✓ |\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessMatrix {
    /// Column order: the policy's roles, sorted by name.
    roles: Vec<String>,
    /// Tools, then prompts, then resources, each sorted by name (the manifest's order).
    rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    kind: ItemKind,
    name: String,
    rule: String,
    /// The argument condition, if the item names one.
    condition: Option<String>,
    /// One entry per role, in column order.
    allowed: Vec<bool>,
}

/// One row of the JSON form.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    requires: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<&'a str>,
    allowed: Vec<&'a str>,
}

#[derive(serde::Serialize)]
struct JsonMatrix<'a> {
    roles: &'a [String],
    tools: BTreeMap<&'a str, JsonRow<'a>>,
    prompts: BTreeMap<&'a str, JsonRow<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    resources: BTreeMap<&'a str, JsonRow<'a>>,
}

impl AccessMatrix {
    /// Evaluates every rule of `manifest` for every role of `policy`. Fails on the first rule
    /// that does not parse, naming the item.
    pub fn new(manifest: &Manifest, policy: &RolePolicy) -> Result<Self, MatrixError> {
        let roles: Vec<String> = policy.roles().into_iter().map(str::to_owned).collect();
        let granted: Vec<_> = roles
            .iter()
            .map(|role| policy.permissions_of([role.as_str()]))
            .collect();
        let items = manifest
            .tools
            .iter()
            .map(|(name, rule)| (ItemKind::Tool, name, rule))
            .chain(
                manifest
                    .prompts
                    .iter()
                    .map(|(name, rule)| (ItemKind::Prompt, name, rule)),
            )
            .chain(
                manifest
                    .resources
                    .iter()
                    .map(|(uri, rule)| (ItemKind::Resource, uri, rule)),
            );
        let mut rows = Vec::new();
        for (kind, name, rule) in items {
            let access = parse_rule(rule).map_err(|source| MatrixError {
                kind,
                name: name.clone(),
                rule: rule.clone(),
                source,
            })?;
            let allowed = granted
                .iter()
                .map(|permissions| match &access {
                    None => false,
                    Some(Access::Public) => true,
                    Some(Access::Requires(req)) => req.is_met_by(permissions),
                })
                .collect();
            let condition = match kind {
                ItemKind::Tool => manifest.conditions.tools.get(name),
                ItemKind::Prompt => manifest.conditions.prompts.get(name),
                ItemKind::Resource => None,
            };
            rows.push(Row {
                kind,
                name: name.clone(),
                rule: rule.clone(),
                condition: condition.cloned(),
                allowed,
            });
        }
        Ok(AccessMatrix { roles, rows })
    }

    /// The columns: every role of the policy, sorted by name.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether `role` may call the tool or prompt `name` (or read the resource whose URI or
    /// template is `name`); `false` for an unknown role or item.
    pub fn allows(&self, role: &str, kind: ItemKind, name: &str) -> bool {
        let Some(column) = self.roles.iter().position(|r| r == role) else {
            return false;
        };
        self.rows
            .iter()
            .find(|row| row.kind == kind && row.name == name)
            .is_some_and(|row| row.allowed[column])
    }

    /// Items no role of the policy may call: unguarded, or needing permissions no role grants.
    /// Often a mistake worth a look (a renamed permission, a forgotten grant).
    pub fn unreachable(&self) -> Vec<(ItemKind, &str)> {
        self.rows
            .iter()
            .filter(|row| !row.allowed.contains(&true))
            .map(|row| (row.kind, row.name.as_str()))
            .collect()
    }

    /// A GitHub-flavoured Markdown table: one row per tool, prompt and resource, with its rule
    /// (and argument condition), and one column per role, `✓` where the role may call the item. Ordering is by name
    /// throughout, so the same inputs give the same bytes and a changed permission is a
    /// one-line diff.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| item | requires |");
        for role in &self.roles {
            out.push_str(&format!(" {} |", markdown_text(role)));
        }
        out.push_str("\n|---|---|");
        out.push_str(&":---:|".repeat(self.roles.len()));
        out.push('\n');
        for row in &self.rows {
            let requires = match &row.condition {
                Some(condition) => format!("{} if {}", code_span(&row.rule), code_span(condition)),
                None => code_span(&row.rule),
            };
            out.push_str(&format!(
                "| {} {} | {requires} |",
                row.kind,
                code_span(&row.name),
            ));
            for allowed in &row.allowed {
                out.push_str(if *allowed { " ✓ |" } else { "  |" });
            }
            out.push('\n');
        }
        out
    }

    /// Pretty JSON: `{"roles": [..], "tools": {name: {"requires": rule, "condition": path,
    /// "allowed": [role, ..]}}, "prompts": {..}, "resources": {..}}`, keys sorted; `condition`
    /// and `resources` only when there are some.
    pub fn to_json(&self) -> String {
        let mut matrix = JsonMatrix {
            roles: &self.roles,
            tools: BTreeMap::new(),
            prompts: BTreeMap::new(),
            resources: BTreeMap::new(),
        };
        for row in &self.rows {
            let json = JsonRow {
                requires: &row.rule,
                condition: row.condition.as_deref(),
                allowed: self
                    .roles
                    .iter()
                    .zip(&row.allowed)
                    .filter(|(_, allowed)| **allowed)
                    .map(|(role, _)| role.as_str())
                    .collect(),
            };
            match row.kind {
                ItemKind::Tool => matrix.tools.insert(&row.name, json),
                ItemKind::Prompt => matrix.prompts.insert(&row.name, json),
                ItemKind::Resource => matrix.resources.insert(&row.name, json),
            };
        }
        serde_json::to_string_pretty(&matrix).unwrap_or_default()
    }
}

/// `None`: unguarded, nobody may call it.
fn parse_rule(rule: &str) -> Result<Option<Access>, ParseRequirementError> {
    if rule.trim() == UNGUARDED {
        return Ok(None);
    }
    rule.parse().map(Some)
}

/// Text shown as a code span inside a table cell: `|` escaped (GFM splits cells on it even in
/// code), a fence longer than any backtick run inside, control characters made visible.
fn code_span(text: &str) -> String {
    let mut shown = String::new();
    for c in text.chars() {
        match c {
            '|' => shown.push_str("\\|"),
            c if c.is_control() => shown.extend(c.escape_default()),
            c => shown.push(c),
        }
    }
    let text = shown;
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text in a table cell, with the characters Markdown would interpret escaped.
fn markdown_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
            continue;
        }
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn manifest(tools: &[(&str, &str)], prompts: &[(&str, &str)]) -> Manifest {
        let map = |items: &[(&str, &str)]| {
            items
                .iter()
                .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
                .collect()
        };
        Manifest {
            tools: map(tools),
            prompts: map(prompts),
            ..Manifest::default()
        }
    }

    fn products_policy() -> RolePolicy {
        RolePolicy::new([
            Role::new("guest").grants(["Guest.Read"]),
            Role::new("user")
                .inherits(["guest"])
                .grants(["User.Read", "User.Write"]),
            Role::new("admin").inherits(["user"]).grants(["Admin.*"]),
        ])
        .unwrap()
    }

    /// The roles allowed on `name`, in column order.
    fn allowed(matrix: &AccessMatrix, kind: ItemKind, name: &str) -> Vec<String> {
        matrix
            .roles()
            .iter()
            .filter(|role| matrix.allows(role, kind, name))
            .cloned()
            .collect()
    }

    #[test]
    fn inheritance_and_wildcards_reach_down_the_hierarchy() {
        let matrix = AccessMatrix::new(
            &manifest(
                &[
                    ("list", "Guest.Read"),
                    ("edit", "User.Write"),
                    ("purge", "Admin.Purge"),
                    ("admin_prefix_only", "Admin"),
                ],
                &[("brief", "User.Read")],
            ),
            &products_policy(),
        )
        .unwrap();
        assert_eq!(matrix.roles(), ["admin", "guest", "user"]);
        assert_eq!(
            allowed(&matrix, ItemKind::Tool, "list"),
            ["admin", "guest", "user"]
        );
        assert_eq!(allowed(&matrix, ItemKind::Tool, "edit"), ["admin", "user"]);
        // `Admin.*` covers a permission nobody listed, but not the bare prefix.
        assert_eq!(allowed(&matrix, ItemKind::Tool, "purge"), ["admin"]);
        assert!(allowed(&matrix, ItemKind::Tool, "admin_prefix_only").is_empty());
        assert_eq!(
            allowed(&matrix, ItemKind::Prompt, "brief"),
            ["admin", "user"]
        );
        // A tool and a prompt of the same name are different rows.
        assert!(!matrix.allows("admin", ItemKind::Tool, "brief"));
        assert!(!matrix.allows("root", ItemKind::Tool, "list"));
    }

    #[test]
    fn any_and_all_are_evaluated_per_role() {
        let policy = RolePolicy::new([
            Role::new("reader").grants(["A.Read"]),
            Role::new("writer").grants(["A.Write"]),
            Role::new("both").inherits(["reader", "writer"]),
        ])
        .unwrap();
        let matrix = AccessMatrix::new(
            &manifest(
                &[
                    ("either", "any(A.Read, A.Write)"),
                    ("both_needed", "all(A.Read, A.Write)"),
                    ("nested", "all(A.Read, any(A.Write, B.Admin))"),
                ],
                &[],
            ),
            &policy,
        )
        .unwrap();
        assert_eq!(
            allowed(&matrix, ItemKind::Tool, "either"),
            ["both", "reader", "writer"]
        );
        assert_eq!(allowed(&matrix, ItemKind::Tool, "both_needed"), ["both"]);
        assert_eq!(allowed(&matrix, ItemKind::Tool, "nested"), ["both"]);
    }

    #[test]
    fn public_is_open_to_every_role_and_unguarded_to_none() {
        let matrix = AccessMatrix::new(
            &manifest(
                &[
                    ("whoami", "public"),
                    ("legacy", "unguarded"),
                    ("orphan", "Nobody.Has"),
                ],
                &[],
            ),
            &products_policy(),
        )
        .unwrap();
        assert_eq!(
            allowed(&matrix, ItemKind::Tool, "whoami"),
            ["admin", "guest", "user"]
        );
        assert!(allowed(&matrix, ItemKind::Tool, "legacy").is_empty());
        assert_eq!(
            matrix.unreachable(),
            [(ItemKind::Tool, "legacy"), (ItemKind::Tool, "orphan")]
        );
    }

    #[test]
    fn an_empty_policy_allows_only_public_items_and_has_no_columns() {
        let matrix = AccessMatrix::new(
            &manifest(&[("whoami", "public"), ("list", "Guest.Read")], &[]),
            &RolePolicy::empty(),
        )
        .unwrap();
        assert!(matrix.roles().is_empty());
        assert_eq!(
            matrix.to_markdown(),
            "| item | requires |\n|---|---|\n| tool `list` | `Guest.Read` |\n| tool `whoami` | `public` |\n"
        );
    }

    #[test]
    fn a_rule_that_does_not_parse_names_its_item() {
        let err = AccessMatrix::new(
            &manifest(&[("ok", "public")], &[("brief", "any(User.Read")]),
            &products_policy(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompt `brief` has the rule `any(User.Read`, which is not `public`, `unguarded` or a \
             requirement: invalid requirement `any(User.Read` at byte 13: expected `,` or `)`"
        );
        for bad in ["", "Admin.*", "public(x)"] {
            assert!(
                AccessMatrix::new(&manifest(&[("t", bad)], &[]), &products_policy()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn markdown_lists_tools_then_prompts_sorted_with_a_column_per_role() {
        let matrix = AccessMatrix::new(
            &manifest(
                &[("whoami", "public"), ("delete", "Admin.Write")],
                &[("brief", "User.Read")],
            ),
            &products_policy(),
        )
        .unwrap();
        assert_eq!(
            matrix.to_markdown(),
            "| item | requires | admin | guest | user |\n\
             |---|---|:---:|:---:|:---:|\n\
             | tool `delete` | `Admin.Write` | ✓ |  |  |\n\
             | tool `whoami` | `public` | ✓ | ✓ | ✓ |\n\
             | prompt `brief` | `User.Read` | ✓ |  | ✓ |\n"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(code_span("a|b"), "`a\\|b`");
        assert_eq!(code_span("x`y"), "``x`y``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\nb"), "`a\\nb`");
        assert_eq!(markdown_text("ops|*root*"), "ops\\|\\*root\\*");
        let policy = RolePolicy::new([Role::new("a|b").grants(["P"])]).unwrap();
        let matrix = AccessMatrix::new(&manifest(&[("t|u\nv", "P")], &[]), &policy).unwrap();
        for line in matrix.to_markdown().lines() {
            let cell_borders = line
                .char_indices()
                .filter(|&(i, c)| c == '|' && !line[..i].ends_with('\\'))
                .count();
            assert_eq!(cell_borders, 4, "{line}");
        }
    }

    #[test]
    fn json_lists_the_allowed_roles_of_each_item() {
        let matrix = AccessMatrix::new(
            &manifest(
                &[("whoami", "public"), ("delete", "Admin.Write")],
                &[("brief", "User.Read")],
            ),
            &products_policy(),
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&matrix.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "roles": ["admin", "guest", "user"],
                "tools": {
                    "delete": {"requires": "Admin.Write", "allowed": ["admin"]},
                    "whoami": {"requires": "public", "allowed": ["admin", "guest", "user"]},
                },
                "prompts": {
                    "brief": {"requires": "User.Read", "allowed": ["admin", "user"]},
                },
            })
        );
    }
}
