//! Claims read in place: a JSON tree whose strings borrow from the token's decoded payload.
//!
//! Verification reads a handful of claims (`exp`, `iss`, `aud`, `sub`, where permissions,
//! scopes and roles live) and then needs owned copies of only those. Parsing the payload into a
//! `serde_json::Map` first allocates every key and every string of the token, which cost more
//! than an HMAC check of the same token; this tree allocates only for arrays and objects (and
//! for the rare string with escapes). A principal's full `claims()` map is built from the same
//! bytes on first use.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value of the claims.
#[derive(Debug, PartialEq)]
pub(crate) enum ClaimValue<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<ClaimValue<'a>>),
    Object(ClaimObject<'a>),
}

/// A JSON object of the claims: members in document order. A repeated name resolves to its
/// last value, as `serde_json::Map` (and so `Principal::claims`) resolves it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ClaimObject<'a>(Vec<(Cow<'a, str>, ClaimValue<'a>)>);

impl<'a> ClaimObject<'a> {
    /// Reads a payload that must be a JSON object (RFC 7519 §7.2 step 10).
    pub(crate) fn parse(json: &'a [u8]) -> Result<Self, serde_json::Error> {
        // JSON text is UTF-8 (RFC 8259 §8.1). Checking the whole text once is much cheaper than
        // serde_json's check of each string when it reads bytes, and reads the same documents.
        let text = std::str::from_utf8(json)
            .map_err(|_| <serde_json::Error as serde::de::Error>::custom("not UTF-8"))?;
        serde_json::from_str(text)
    }

    /// The value of member `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&ClaimValue<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Whether the object has member `name`.
    pub(crate) fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl ClaimValue<'_> {
    /// The string, when this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            ClaimValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A view of an already parsed map (claims from an introspection answer or a custom verifier).
impl<'a> From<&'a Map<String, Value>> for ClaimObject<'a> {
    fn from(map: &'a Map<String, Value>) -> Self {
        ClaimObject(
            map.iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), ClaimValue::from(v)))
                .collect(),
        )
    }
}

impl<'a> From<&'a Value> for ClaimValue<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::Null => ClaimValue::Null,
            Value::Bool(b) => ClaimValue::Bool(*b),
            Value::Number(n) => ClaimValue::Number(n.clone()),
            Value::String(s) => ClaimValue::String(Cow::Borrowed(s)),
            Value::Array(items) => ClaimValue::Array(items.iter().map(ClaimValue::from).collect()),
            Value::Object(map) => ClaimValue::Object(ClaimObject::from(map)),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = ClaimValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ClaimValue::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(ClaimValue::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(ClaimValue::Number(n.into()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(ClaimValue::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // serde_json never hands out a non-finite float; `Null` is what its own `Value` makes.
        Ok(Number::from_f64(n).map_or(ClaimValue::Null, ClaimValue::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(ClaimValue::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(ClaimValue::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(ClaimValue::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; most claim arrays hold a few names.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(ClaimValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectVisitor.visit_map(map).map(ClaimValue::Object)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = ClaimObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; an access token has a dozen or so claims.
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            members.push((key.0, map.next_value()?));
        }
        Ok(ClaimObject(members))
    }
}

/// An object member name, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for ClaimValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for ClaimObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Back to serde_json's model (a later duplicate overwrites an earlier one).
    fn to_value(value: &ClaimValue<'_>) -> Value {
        match value {
            ClaimValue::Null => Value::Null,
            ClaimValue::Bool(b) => Value::Bool(*b),
            ClaimValue::Number(n) => Value::Number(n.clone()),
            ClaimValue::String(s) => Value::String(s.to_string()),
            ClaimValue::Array(items) => Value::Array(items.iter().map(to_value).collect()),
            ClaimValue::Object(object) => Value::Object(to_map(object)),
        }
    }

    fn to_map(object: &ClaimObject<'_>) -> Map<String, Value> {
        object
            .0
            .iter()
            .map(|(k, v)| (k.to_string(), to_value(v)))
            .collect()
    }

    /// The tree and `serde_json::Value` agree on what a document says.
    fn same_as_serde(text: &str) {
        let ours = ClaimObject::parse(text.as_bytes());
        let theirs: Result<Map<String, Value>, _> = serde_json::from_str(text);
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(to_map(&ours), theirs, "{text}");
                assert_eq!(to_map(&ClaimObject::from(&theirs)), theirs, "{text}");
            }
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("{text}: ours {ours:?}, serde_json {theirs:?}"),
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"sub":"alice","exp":1800000000,"aud":["a","b"],"n":null,"t":true,"f":-1.5}"#,
            r#"{"nested":{"roles":["x"],"deeper":{"k":[1,[2,{}]]}}}"#,
            r#"{"esc\"aped":"line\nbreak \u00e9 \ud83d\ude00"}"#,
            r#"{"big":18446744073709551615,"neg":-9223372036854775808,"exp":1e3}"#,
            r#"{}"#,
            r#"{"a":1,"a":{"b":2,"b":[3]},"c":"\u0041"}"#,
            // Not objects, or not JSON: both refuse.
            r#"["sub"]"#,
            r#""sub""#,
            r#"{"sub":"a",}"#,
            r#"{"sub":"a"} x"#,
            r#"{"sub":"\ud800"}"#,
            "{\"sub\":\"\u{0}\"}",
            "{\"sub\":\"\u{7f}\u{80}\u{10ffff}\"}",
        ] {
            same_as_serde(text);
        }
        // Bytes that are not UTF-8, inside a string or out of one: both refuse.
        for bytes in [
            &b"{\"sub\":\"\xff\"}"[..],
            b"{\"sub\":\"a\"}\xc3",
            b"{\"s\xc3\x28\":1}",
        ] {
            assert!(ClaimObject::parse(bytes).is_err());
            assert!(serde_json::from_slice::<Map<String, Value>>(bytes).is_err());
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_the_last_duplicate_wins() {
        let text = br#"{"sub":"alice","sub":"mallory","k\"":"v"}"#;
        let claims = ClaimObject::parse(text).unwrap();
        assert_eq!(
            claims.get("sub").and_then(ClaimValue::as_str),
            Some("mallory")
        );
        let map: Map<String, Value> = serde_json::from_slice(text).unwrap();
        assert_eq!(
            map["sub"],
            json!("mallory"),
            "the same member as the full map"
        );
        assert!(matches!(
            claims.get("sub"),
            Some(ClaimValue::String(Cow::Borrowed(_)))
        ));
        assert!(matches!(claims.0[2].0, Cow::Owned(_)));
        assert!(!claims.contains_key("k"));
    }

    #[test]
    fn nesting_is_limited_like_serde_json() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(ClaimObject::parse(deep.as_bytes()).is_err());
        same_as_serde(&deep);
    }
}
