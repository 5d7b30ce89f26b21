//! Whether a parsed method attribute makes sense: exactly one of `requires` / `public` (deny by
//! default), non-empty combinators, and permission names that a role policy can grant.

use proc_macro2::Ident;

use crate::model::{Access, Item, Kind, PermissionSet, Requirement};
use crate::parse::RawItem;

/// Characters a permission name cannot hold: they would make the canonical form ambiguous
/// (`(`, `)`, `,`), are wildcards (`*`, which belong in role policies), or quoting (`"`, `\`).
const FORBIDDEN: &[char] = &['(', ')', ',', '"', '\\', '*'];

pub fn item(kind: Kind, fn_ident: Ident, attr_index: usize, raw: RawItem) -> syn::Result<Item> {
    let mut errors: Option<syn::Error> = None;
    let attr = kind.attr();
    for (span, _) in raw.requires.iter().skip(1) {
        push(
            &mut errors,
            syn::Error::new(
                *span,
                format!(
                    "`requires` is given more than once on `{fn_ident}`\nhelp: combine them in one requirement: `requires = all(\"A\", \"B\")` or `requires = any(\"A\", \"B\")`"
                ),
            ),
        );
    }
    for path in raw.authorize.iter().skip(1) {
        push(
            &mut errors,
            syn::Error::new_spanned(
                path,
                format!(
                    "`authorize` is given more than once on `{fn_ident}`\nhelp: one condition per {attr}: call the other checks from it"
                ),
            ),
        );
    }
    for span in raw.public.iter().skip(1) {
        push(
            &mut errors,
            syn::Error::new(
                *span,
                "`public` is given more than once\nhelp: remove this `public`",
            ),
        );
    }
    if let (Some(public), false) = (raw.public.first(), raw.requires.is_empty()) {
        push(
            &mut errors,
            syn::Error::new(
                *public,
                format!(
                    "`{fn_ident}` is marked both `public` and `requires = …`\nhelp: keep `requires = …` to check a permission, or keep `public` to let any authenticated caller in, not both"
                ),
            ),
        );
    }
    if raw.public.is_empty() && raw.requires.is_empty() {
        push(
            &mut errors,
            syn::Error::new_spanned(
                &raw.attr,
                format!(
                    "{attr} `{fn_ident}` has no access rule, and mcp-rbac denies by default\nhelp: add `requires = \"Permission.Name\"` (or `any(..)` / `all(..)`), or `public` if every authenticated caller may use it: `#[{attr}(requires = \"Admin.Write\", ..)]`"
                ),
            ),
        );
    }
    for (_, req) in &raw.requires {
        requirement(req, 1, &mut errors);
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let access = match raw.requires.into_iter().next() {
        Some((_, req)) => Access::Requires(req),
        None => Access::Public,
    };
    Ok(Item {
        fn_ident,
        access,
        authorize: raw.authorize.into_iter().next(),
        passthrough: raw.passthrough,
        attr_index,
    })
}

/// How deeply `any(..)` / `all(..)` may nest: the runtime parser (`Requirement::from_str`, which
/// reads the manifest text step-up challenges and the access matrix come from) refuses deeper
/// text, so the macro refuses it too rather than emit a requirement the manifest cannot carry.
const MAX_DEPTH: usize = 32;

fn requirement(req: &Requirement, depth: usize, errors: &mut Option<syn::Error>) {
    match req {
        Requirement::Permission(lit) => {
            if let Err(message) = permission_name(&lit.value()) {
                push(errors, syn::Error::new(lit.span(), message));
            }
        }
        Requirement::Any(span, parts) | Requirement::All(span, parts) => {
            let word = if matches!(req, Requirement::Any(..)) {
                "any"
            } else {
                "all"
            };
            if depth > MAX_DEPTH {
                push(
                    errors,
                    syn::Error::new(
                        *span,
                        format!(
                            "this `{word}(..)` is nested {depth} levels deep, and requirements nest at most {MAX_DEPTH} levels\nhelp: flatten it: `any(\"A\", any(\"B\", \"C\"))` is `any(\"A\", \"B\", \"C\")`, and the same holds for `all`"
                        ),
                    ),
                );
                return;
            }
            if parts.is_empty() {
                let meaning = if word == "any" {
                    "would never allow anyone"
                } else {
                    "would allow everyone"
                };
                push(
                    errors,
                    syn::Error::new(
                        *span,
                        format!(
                            "`{word}()` needs at least one requirement: an empty `{word}` {meaning}\nhelp: list the permissions, e.g. `{word}(\"User.Write\", \"Admin.Write\")`, or use `public` for a tool every authenticated caller may use"
                        ),
                    ),
                );
            }
            for part in parts {
                requirement(part, depth + 1, errors);
            }
        }
    }
}

/// The most names a permission set holds: each is one bit of a `u128` at run time.
pub const MAX_PERMISSIONS: usize = 128;

/// A `permissions!` declaration: at least one name, each a valid exact name (no wildcard),
/// declared once, with distinct variant names, and at most [`MAX_PERMISSIONS`] of them.
pub fn permission_set(set: &PermissionSet) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let enum_name = &set.ident;
    if set.names.is_empty() {
        push(
            &mut errors,
            syn::Error::new(
                set.ident.span(),
                format!("`{enum_name}` declares no permission\nhelp: list the names, e.g. `enum {enum_name} {{ \"Guest.Read\", \"Admin.Write\" }}`"),
            ),
        );
    }
    for (i, entry) in set.names.iter().enumerate() {
        let name = entry.name.value();
        let message = if name.contains('*') {
            Err(format!(
                "`{name}` is a wildcard, and a permission set declares exact names\nhelp: declare each name it stands for (e.g. `\"{}\"`); wildcards such as `Admin.*` belong in a role policy",
                match name.strip_suffix(".*") {
                    Some(prefix) if !prefix.is_empty() && !prefix.contains('*') => format!("{prefix}.Write"),
                    _ => "Admin.Write".to_string(),
                }
            ))
        } else {
            permission_name(&name)
        };
        if let Err(message) = message {
            push(&mut errors, syn::Error::new(entry.name.span(), message));
            continue;
        }
        if set.names[..i].iter().any(|e| e.name.value() == name) {
            push(
                &mut errors,
                syn::Error::new(
                    entry.name.span(),
                    format!("`{name}` is declared twice in `{enum_name}`\nhelp: remove this entry"),
                ),
            );
            continue;
        }
        if let Some(first) = set.names[..i].iter().find(|e| e.variant == entry.variant) {
            let variant = &entry.variant;
            push(
                &mut errors,
                syn::Error::new(
                    entry.name.span(),
                    format!(
                        "`{name}` and `{}` both make the variant `{enum_name}::{variant}`\nhelp: name this variant yourself: `\"{name}\" as {variant}2`",
                        first.name.value()
                    ),
                ),
            );
        }
        if i == MAX_PERMISSIONS {
            push(
                &mut errors,
                syn::Error::new(
                    entry.name.span(),
                    format!("a permission set holds at most {MAX_PERMISSIONS} names, and `{enum_name}` declares {}\nhelp: split the permissions into several sets, one per router", set.names.len()),
                ),
            );
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The rule for a permission name, shared by the macro and (as text) the runtime docs.
pub fn permission_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(
            "a permission name cannot be empty\nhelp: name the permission, e.g. `\"Admin.Write\"`"
                .into(),
        );
    }
    if name.contains('*') {
        let example = match name.strip_suffix(".*") {
            Some(prefix) if !prefix.is_empty() && !prefix.contains('*') => {
                format!("{prefix}.Write")
            }
            _ => "Admin.Write".to_string(),
        };
        return Err(format!(
            "`{name}` is a wildcard, and a requirement names one exact permission\nhelp: wildcards such as `Admin.*` belong in a role policy (they grant); a tool requires a name such as `\"{example}\"`"
        ));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        let (one_of, every) = if c == ',' {
            let parts: Vec<String> = name.split(',').map(|p| format!("{:?}", p.trim())).collect();
            let parts = parts.join(", ");
            (format!("any({parts})"), format!("all({parts})"))
        } else {
            (
                "any(\"A\", \"B\")".to_string(),
                "all(\"A\", \"B\")".to_string(),
            )
        };
        return Err(format!(
            "a permission name cannot contain `{c}` (in `{}`)\nhelp: to combine permissions, write `{one_of}` (one of them) or `{every}` (every one)",
            name.escape_debug()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "a permission name cannot contain whitespace or control characters (found {c:?} in `{}`)\nhelp: scopes and permissions are single words, e.g. `\"products:write\"`",
            name.escape_debug()
        ));
    }
    Ok(())
}

fn push(errors: &mut Option<syn::Error>, e: syn::Error) {
    crate::parse::push_error(errors, e)
}

#[cfg(test)]
mod tests {
    use super::permission_name;

    #[test]
    fn permission_names_get_a_fix_in_the_message() {
        assert!(permission_name("Admin.Write").is_ok());
        assert!(permission_name("products:write").is_ok());
        assert!(permission_name("Admin.*")
            .unwrap_err()
            .contains("`\"Admin.Write\"`"));
        assert!(permission_name("*")
            .unwrap_err()
            .contains("`\"Admin.Write\"`"));
        assert!(permission_name("A.Write, B.Write")
            .unwrap_err()
            .contains("`any(\"A.Write\", \"B.Write\")`"));
        assert!(permission_name("").is_err());
        assert!(permission_name("Admin Write").is_err());
    }
}
