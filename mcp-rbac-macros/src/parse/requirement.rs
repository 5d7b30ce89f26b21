//! The requirement grammar: `"Perm"`, `any(r, ..)`, `all(r, ..)`, nested freely.
//!
//! Anything else is an error that shows the requirement the user most likely meant, written in
//! this grammar (`Admin.Write` → `"Admin.Write"`, `"A" || "B"` → `any("A", "B")`, …).

use quote::ToTokens;
use syn::{spanned::Spanned, BinOp, Expr, Lit};

use crate::model::{Requirement, COMBINATORS};
use crate::suggest::closest;

const SHAPE: &str =
    "a requirement is a permission string (`\"Admin.Write\"`), `any(r, ..)` (one of) or `all(r, ..)` (every one of)";

/// Parses one requirement expression.
pub fn requirement(expr: &Expr) -> syn::Result<Requirement> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Ok(Requirement::Permission(s.clone())),
            Lit::Char(c) => Err(syn::Error::new_spanned(
                c,
                format!(
                    "permission names are string literals, in double quotes\nhelp: write `\"{}\"`",
                    c.value().escape_debug()
                ),
            )),
            Lit::Bool(b) => Err(syn::Error::new_spanned(
                b,
                format!(
                    "`requires` takes a permission name, not `{}`\nhelp: write `public` instead of `requires = …` to let every authenticated caller in; otherwise name a permission: `requires = \"Admin.Write\"`",
                    b.value
                ),
            )),
            other => Err(syn::Error::new_spanned(
                other,
                format!(
                    "a permission name is a string literal, not `{}`\nhelp: write the permission name in quotes, e.g. `requires = \"Admin.Write\"`",
                    compact(other)
                ),
            )),
        },
        Expr::Path(path) if path.path.is_ident("any") || path.path.is_ident("all") => {
            let word = compact(&path.path);
            Err(syn::Error::new_spanned(
                path,
                format!("`{word}` takes its requirements in parentheses\nhelp: write `{word}(\"User.Write\", \"Admin.Write\")`"),
            ))
        }
        Expr::Path(_) | Expr::Field(_) => Err(syn::Error::new_spanned(
            expr,
            format!(
                "permission names are string literals, but `{0}` is not quoted\nhelp: write `\"{0}\"`",
                compact(expr)
            ),
        )),
        Expr::Call(call) => {
            let Expr::Path(func) = &*call.func else {
                return Err(syn::Error::new_spanned(&call.func, SHAPE));
            };
            let word = func.path.get_ident().map(|i| i.to_string());
            match word.as_deref() {
                Some("any") | Some("all") => {
                    let mut parts = Vec::with_capacity(call.args.len());
                    for arg in &call.args {
                        parts.push(requirement(arg)?);
                    }
                    if word.as_deref() == Some("any") {
                        Ok(Requirement::Any(func.span(), parts))
                    } else {
                        Ok(Requirement::All(func.span(), parts))
                    }
                }
                _ => {
                    let written = compact(&func.path);
                    let hint = match combinator_like(&func.path) {
                        Some(near) => format!("did you mean `{near}(..)`? "),
                        None => String::new(),
                    };
                    Err(syn::Error::new_spanned(
                        &func.path,
                        format!(
                            "unknown requirement combinator `{written}`\nhelp: {hint}write `any(..)` for one of the requirements, or `all(..)` for every one of them"
                        ),
                    ))
                }
            }
        }
        Expr::Binary(bin) if matches!(bin.op, BinOp::Or(_) | BinOp::BitOr(_)) => {
            let parts = operands(expr, &|op| matches!(op, BinOp::Or(_) | BinOp::BitOr(_)));
            Err(syn::Error::new_spanned(
                bin,
                format!(
                    "alternatives are written with `any(..)`, not `||` or `|`\nhelp: write `any({})`",
                    parts.join(", ")
                ),
            ))
        }
        Expr::Binary(bin) if matches!(bin.op, BinOp::And(_) | BinOp::BitAnd(_)) => {
            let parts = operands(expr, &|op| matches!(op, BinOp::And(_) | BinOp::BitAnd(_)));
            Err(syn::Error::new_spanned(
                bin,
                format!(
                    "conjunctions are written with `all(..)`, not `&&` or `&`\nhelp: write `all({})`",
                    parts.join(", ")
                ),
            ))
        }
        Expr::Array(_) | Expr::Tuple(_) => {
            let elems: Vec<String> = match expr {
                Expr::Array(a) => a.elems.iter().map(compact).collect(),
                Expr::Tuple(t) => t.elems.iter().map(compact).collect(),
                _ => unreachable!(),
            };
            let elems = elems.join(", ");
            Err(syn::Error::new_spanned(
                expr,
                format!(
                    "a list of permissions needs a combinator that says how they combine\nhelp: write `any({elems})` (one of them is enough) or `all({elems})` (every one is needed)"
                ),
            ))
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "expected a requirement, found `{}`\nhelp: {SHAPE}; permission names are quoted",
                compact(other)
            ),
        )),
    }
}

/// `any` or `all` when `path` reads like one of them: a typo, another spelling (`anyOf`,
/// `one_of`, `or`, `and`, …) or a qualified path (`Requirement::any`).
fn combinator_like(path: &syn::Path) -> Option<&'static str> {
    let last = path.segments.last()?.ident.to_string();
    let word = last.to_lowercase().replace('_', "");
    match word.as_str() {
        "any" | "anyof" | "oneof" | "or" | "either" | "some" | "union" => Some("any"),
        "all" | "allof" | "and" | "every" | "each" | "both" => Some("all"),
        _ => closest(&word, COMBINATORS),
    }
}

/// The operands of a chain of one kind of operator, `"A" || "B" || "C"` → `["\"A\"", ..]`.
fn operands(expr: &Expr, same: &dyn Fn(&BinOp) -> bool) -> Vec<String> {
    match expr {
        Expr::Binary(bin) if same(&bin.op) => {
            let mut parts = operands(&bin.left, same);
            parts.extend(operands(&bin.right, same));
            parts
        }
        other => vec![compact(other)],
    }
}

/// Tokens as the user most likely typed them: `Admin . Write` → `Admin.Write`.
fn compact(tokens: &impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let prev = out.chars().last();
        let drop_space = c == ' '
            && (matches!(next, Some('.' | ':' | ',' | ')' | ']' | '('))
                || matches!(prev, Some('.' | ':' | '(' | '[')));
        if !drop_space {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(src: &str) -> String {
        let expr: Expr = syn::parse_str(src).unwrap();
        match requirement(&expr) {
            Ok(_) => panic!("`{src}` parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn suggestions_are_written_in_the_grammar() {
        assert!(message("Admin.Write").contains("write `\"Admin.Write\"`"));
        assert!(message("\"A\" || \"B\" || \"C\"").contains("`any(\"A\", \"B\", \"C\")`"));
        assert!(message("\"A\" && \"B\"").contains("`all(\"A\", \"B\")`"));
        assert!(message("[\"A\", \"B\"]").contains("`any(\"A\", \"B\")`"));
        assert!(message("anyof(\"A\")").contains("did you mean `any(..)`"));
        assert!(message("and(\"A\")").contains("did you mean `all(..)`"));
        assert!(message("Requirement::any(\"A\")").contains("did you mean `any(..)`"));
        assert!(message("true").contains("`public`"));
    }

    #[test]
    fn the_grammar_parses() {
        let expr: Expr = syn::parse_str("any(all(\"A\", \"B\"), \"C\")").unwrap();
        assert!(matches!(requirement(&expr), Ok(Requirement::Any(_, parts)) if parts.len() == 2));
    }
}
