//! JSON values from fuzz input. Strings are drawn mostly from [`VOCABULARY`] (claim names,
//! permission names, the trusted issuer, …) so that mutations reach the code that reads them;
//! objects are rendered as text with their keys in order, duplicates kept, as a hostile issuer
//! could write them.

use arbitrary::Arbitrary;

/// The trusted issuer of every verifier in the targets.
pub const ISSUER: &str = "https://issuer.example";
/// The resource every verifier in the targets answers for.
pub const AUDIENCE: &str = "https://mcp.example/mcp";

/// Words the library gives a meaning to, and a few edge cases.
pub const VOCABULARY: &[&str] = &[
    ISSUER,
    AUDIENCE,
    "",
    " ",
    "sub",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "permissions",
    "scope",
    "scp",
    "roles",
    "groups",
    "realm_access",
    "resource_access",
    "mcp-products",
    "cognito:groups",
    "active",
    "client_id",
    "token_type",
    "username",
    "alg",
    "typ",
    "kid",
    "crit",
    "jku",
    "jwk",
    "x5c",
    "HS256",
    "HS384",
    "RS256",
    "ES256",
    "EdDSA",
    "none",
    "JWT",
    "at+jwt",
    "application/at+jwt",
    "admin",
    "user",
    "guest",
    "Admin.Write",
    "Admin.*",
    "User.Read",
    "User.Write",
    "Guest.Read",
    "products:write",
    "a b",
    "Admin.Write User.Read",
    "alice",
    "https://mcp.example/roles",
];

/// A string: a vocabulary word or any text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    /// `VOCABULARY[n % len]`.
    Word(u8),
    /// Anything.
    Raw(String),
}

impl Text {
    /// The string this stands for.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Word(n) => VOCABULARY[usize::from(*n) % VOCABULARY.len()],
            Text::Raw(s) => s,
        }
    }
}

/// A JSON value. `Time` is a NumericDate relative to the `now` it is rendered at.
#[derive(Arbitrary, Debug, Clone)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction (non-finite values render as `null`).
    Float(f64),
    /// `now + offset` seconds.
    Time(i32),
    /// A string.
    Str(Text),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in order, duplicates kept.
    Object(Vec<(Text, Json)>),
}

/// Deeper than serde_json's own limit (128), so both sides of it are reached.
const MAX_DEPTH: usize = 160;

impl Json {
    /// The value as JSON text.
    pub fn render(&self, now: i64) -> String {
        let mut out = String::new();
        self.write(now, 0, &mut out);
        out
    }

    fn write(&self, now: i64, depth: usize, out: &mut String) {
        if depth > MAX_DEPTH {
            out.push_str("null");
            return;
        }
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Float(f) if f.is_finite() => {
                out.push_str(&serde_json::Value::from(*f).to_string())
            }
            Json::Float(_) => out.push_str("null"),
            Json::Time(offset) => out.push_str(&now.saturating_add(i64::from(*offset)).to_string()),
            Json::Str(text) => push_string(text.as_str(), out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(now, depth + 1, out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                let members: Vec<(&str, &Json)> =
                    members.iter().map(|(k, v)| (k.as_str(), v)).collect();
                write_object(&members, now, depth, out);
            }
        }
    }
}

/// `{"key":value,...}` in the given order, duplicates kept.
pub fn render_object(members: &[(&str, &Json)], now: i64) -> String {
    let mut out = String::new();
    write_object(members, now, 0, &mut out);
    out
}

fn write_object(members: &[(&str, &Json)], now: i64, depth: usize, out: &mut String) {
    out.push('{');
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(key, out);
        out.push(':');
        value.write(now, depth + 1, out);
    }
    out.push('}');
}

fn push_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::Value::from(s).to_string());
}
