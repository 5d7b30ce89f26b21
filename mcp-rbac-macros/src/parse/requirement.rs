//! The requirement grammar: `"Perm"`, `any(r, ..)`, `all(r, ..)`, nested freely.

use syn::{spanned::Spanned, BinOp, Expr, Lit};

use crate::model::Requirement;
use crate::suggest::closest;

const SHAPE: &str =
    "a requirement is a permission string (`\"Admin.Write\"`), `any(r, ..)` or `all(r, ..)`";

/// Parses one requirement expression.
pub fn requirement(expr: &Expr) -> syn::Result<Requirement> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Ok(Requirement::Permission(s.clone())),
            other => Err(syn::Error::new_spanned(
                other,
                format!(
                    "permission names are string literals\n  help: write the name in quotes, e.g. `\"{}\"`",
                    other.to_token_stream_string()
                ),
            )),
        },
        Expr::Call(call) => {
            let Expr::Path(func) = &*call.func else {
                return Err(syn::Error::new_spanned(&call.func, SHAPE));
            };
            let word = func.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let mut parts = Vec::with_capacity(call.args.len());
            for arg in &call.args {
                parts.push(requirement(arg)?);
            }
            match word.as_str() {
                "any" => Ok(Requirement::Any(func.span(), parts)),
                "all" => Ok(Requirement::All(func.span(), parts)),
                _ => {
                    let hint = match closest(&word, &["any", "all"]) {
                        Some(near) => format!("did you mean `{near}(..)`? "),
                        None => String::new(),
                    };
                    Err(syn::Error::new_spanned(
                        &func.path,
                        format!(
                            "unknown requirement combinator `{}`\n  help: {hint}use `any(..)` (one of) or `all(..)` (every one of)",
                            func.path.to_token_stream_string()
                        ),
                    ))
                }
            }
        }
        Expr::Binary(bin) if matches!(bin.op, BinOp::Or(_) | BinOp::BitOr(_)) => Err(syn::Error::new_spanned(
            bin,
            "write alternatives as `any(\"A\", \"B\")`, not with `|` or `||`",
        )),
        Expr::Binary(bin) if matches!(bin.op, BinOp::And(_) | BinOp::BitAnd(_)) => Err(syn::Error::new_spanned(
            bin,
            "write conjunctions as `all(\"A\", \"B\")`, not with `&` or `&&`",
        )),
        Expr::Array(array) => Err(syn::Error::new_spanned(
            array,
            "a list of permissions needs a combinator: `any(\"A\", \"B\")` (one of) or `all(\"A\", \"B\")` (every one of)",
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "expected a requirement, found `{}`\n  help: {SHAPE}; permission names are quoted",
                other.to_token_stream_string()
            ),
        )),
    }
}

trait TokenString {
    fn to_token_stream_string(&self) -> String;
}

impl<T: quote::ToTokens> TokenString for T {
    fn to_token_stream_string(&self) -> String {
        self.to_token_stream().to_string()
    }
}
