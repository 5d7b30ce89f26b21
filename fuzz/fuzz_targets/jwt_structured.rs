//! Well-formed JWTs with fuzzed headers and claims, signed with the verifier's own HS256
//! secret, so the claim checks and the claims mapping are reached (random bytes never pass a
//! signature). Zero input bytes build a valid token; mutations move one field at a time.
//!
//! Checks, against an independent reading of the verifier's documented rules (`JwtVerifier`'s
//! docs and the README's "On the wire"; RFC 7519 and RFC 8725 for the claims):
//! - a tampered token (signature bit flipped, other secret, payload swapped after signing,
//!   segments added or cut) is never accepted;
//! - an untampered token is accepted exactly when those rules say so (`alg` HS256, `typ`
//!   absent/JWT/at+jwt, no `crit`, `exp` in the future, `nbf` not in the future, 30 s leeway,
//!   `iss` trusted, `aud` naming us, `sub` a non-empty string, permission/scope/role claims of
//!   their documented types, at most 16 KiB);
//! - an accepted token's principal has its `sub`, its direct permissions and scopes, and the
//!   permissions its roles grant through the products policy;
//! - a refusal never quotes the signature.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mcp_rbac::verify::{JwtVerifier, TokenVerifier, DEFAULT_MAX_TOKEN_BYTES};
use mcp_rbac::Principal;
use mcp_rbac_fuzz::json::{render_object, Json, Text, AUDIENCE, ISSUER};
use mcp_rbac_fuzz::{run, tokens};
use serde_json::{Map, Value};

const LEEWAY: i64 = 30;

#[derive(Arbitrary, Debug)]
enum Alg {
    Hs256,
    Other(Text),
    Absent,
    Value(Json),
}

#[derive(Arbitrary, Debug)]
enum Typ {
    Absent,
    Jwt,
    AtJwt,
    Other(Text),
    Value(Json),
}

#[derive(Arbitrary, Debug)]
struct Header {
    alg: Alg,
    typ: Typ,
    kid: Option<Json>,
    crit: Option<Json>,
    extra: Vec<(Text, Json)>,
}

/// A claim: the right value first (what zero bytes choose), then absence, then anything.
#[derive(Arbitrary, Debug)]
enum Claim {
    Good,
    Absent,
    Value(Json),
}

#[derive(Arbitrary, Debug)]
enum Exp {
    Future(u16),
    Past(u16),
    Absent,
    Value(Json),
}

#[derive(Arbitrary, Debug)]
enum Names {
    Absent,
    Array(Vec<Text>),
    Spaced(Vec<Text>),
    Value(Json),
}

#[derive(Arbitrary, Debug)]
struct Claims {
    iss: Claim,
    aud: Claim,
    aud_array: bool,
    exp: Exp,
    nbf: Option<Json>,
    sub: Claim,
    permissions: Names,
    scope: Names,
    scp: Names,
    roles: Names,
    extra: Vec<(Text, Json)>,
}

#[derive(Arbitrary, Debug, PartialEq)]
enum Tamper {
    None,
    FlipSignatureBit(u16),
    OtherSecret,
    SwapPayload(Box<[u8]>),
    AppendSegment,
    DropSignature,
}

#[derive(Arbitrary, Debug)]
struct Input {
    header: Header,
    claims: Claims,
    tamper: Tamper,
}

fn verifier() -> &'static JwtVerifier {
    static VERIFIER: OnceLock<JwtVerifier> = OnceLock::new();
    VERIFIER.get_or_init(tokens::hs256_verifier)
}

fn string(s: &str) -> Json {
    Json::Str(Text::Raw(s.to_owned()))
}

fn names(names: &Names) -> Option<Json> {
    match names {
        Names::Absent => None,
        Names::Array(items) => Some(Json::Array(items.iter().cloned().map(Json::Str).collect())),
        Names::Spaced(items) => {
            let joined: Vec<&str> = items.iter().map(Text::as_str).collect();
            Some(string(&joined.join(" ")))
        }
        Names::Value(v) => Some(v.clone()),
    }
}

/// The header's JSON text, and whether a member the verifier reads is written twice.
fn header_text(h: &Header, now: i64) -> (String, bool) {
    let mut members: Vec<(&str, Json)> = Vec::new();
    match &h.alg {
        Alg::Hs256 => members.push(("alg", string("HS256"))),
        Alg::Other(t) => members.push(("alg", Json::Str(t.clone()))),
        Alg::Absent => {}
        Alg::Value(v) => members.push(("alg", v.clone())),
    }
    match &h.typ {
        Typ::Absent => {}
        Typ::Jwt => members.push(("typ", string("JWT"))),
        Typ::AtJwt => members.push(("typ", string("at+jwt"))),
        Typ::Other(t) => members.push(("typ", Json::Str(t.clone()))),
        Typ::Value(v) => members.push(("typ", v.clone())),
    }
    if let Some(kid) = &h.kid {
        members.push(("kid", kid.clone()));
    }
    if let Some(crit) = &h.crit {
        members.push(("crit", crit.clone()));
    }
    for (k, v) in &h.extra {
        members.push((k.as_str(), v.clone()));
    }
    let duplicate = ["alg", "typ", "kid", "crit"]
        .iter()
        .any(|name| members.iter().filter(|(k, _)| k == name).count() > 1);
    let refs: Vec<(&str, &Json)> = members.iter().map(|(k, v)| (*k, v)).collect();
    (render_object(&refs, now), duplicate)
}

fn claims_text(c: &Claims, now: i64) -> String {
    let mut members: Vec<(&str, Json)> = Vec::new();
    let mut claim = |name: &'static str, claim: &Claim, good: Json| match claim {
        Claim::Good => members.push((name, good)),
        Claim::Absent => {}
        Claim::Value(v) => members.push((name, v.clone())),
    };
    claim("iss", &c.iss, string(ISSUER));
    let aud = if c.aud_array {
        Json::Array(vec![string("https://elsewhere.example"), string(AUDIENCE)])
    } else {
        string(AUDIENCE)
    };
    claim("aud", &c.aud, aud);
    claim("sub", &c.sub, string("alice"));
    match &c.exp {
        Exp::Future(s) => members.push(("exp", Json::Time(i32::from(*s) + 60))),
        Exp::Past(s) => members.push(("exp", Json::Time(-i32::from(*s)))),
        Exp::Absent => {}
        Exp::Value(v) => members.push(("exp", v.clone())),
    }
    if let Some(nbf) = &c.nbf {
        members.push(("nbf", nbf.clone()));
    }
    for (name, source) in [
        ("permissions", &c.permissions),
        ("scope", &c.scope),
        ("scp", &c.scp),
        ("roles", &c.roles),
    ] {
        if let Some(value) = names(source) {
            members.push((name, value));
        }
    }
    for (k, v) in &c.extra {
        members.push((k.as_str(), v.clone()));
    }
    let refs: Vec<(&str, &Json)> = members.iter().map(|(k, v)| (*k, v)).collect();
    render_object(&refs, now)
}

/// A NumericDate (RFC 7519 §2) as the verifier reads one: whole seconds, a fraction rounded down, beyond
/// i64 clamped; anything but a number is refused (`None`).
fn numeric_date(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    n.as_i64()
        .or_else(|| n.as_u64().map(|_| i64::MAX))
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
}

/// Names of an array claim, `None` when the claim has another type.
fn array_names(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

/// Names of a space-delimited-or-array claim, `None` when the claim has another type.
fn scope_names(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        Some(Value::String(s)) => Some(
            s.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        other => array_names(other),
    }
}

/// Whether the verifier's rules accept the header (a member the verifier reads written twice is
/// refused: serde will not pick one).
fn header_ok(text: &str, duplicate: bool) -> bool {
    let Ok(Value::Object(header)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    if duplicate {
        return false;
    }
    let typ_ok = match header.get("typ") {
        None | Some(Value::Null) => true,
        Some(Value::String(t)) => ["JWT", "at+jwt", "application/at+jwt"]
            .iter()
            .any(|ok| ok.eq_ignore_ascii_case(t)),
        Some(_) => false,
    };
    let kid_ok = matches!(
        header.get("kid"),
        None | Some(Value::Null | Value::String(_))
    );
    header.get("alg") == Some(&Value::from("HS256"))
        && typ_ok
        && kid_ok
        && matches!(header.get("crit"), None | Some(Value::Null))
}

/// What an accepted token must yield, or `None` when the rules refuse the claims at `now`.
struct Expected {
    sub: String,
    permissions: Vec<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
}

fn expected(claims: &Map<String, Value>, now: i64) -> Option<Expected> {
    let exp = numeric_date(claims.get("exp")?)?;
    let nbf = match claims.get("nbf") {
        None => None,
        Some(v) => Some(numeric_date(v)?),
    };
    if exp < now - LEEWAY || nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
        return None;
    }
    if claims.get("iss")?.as_str()? != ISSUER {
        return None;
    }
    let aud_ok = match claims.get("aud")? {
        Value::String(a) => a == AUDIENCE,
        Value::Array(items) => {
            let auds: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            auds?.contains(&AUDIENCE)
        }
        _ => false,
    };
    let sub = claims.get("sub")?.as_str().filter(|s| !s.is_empty())?;
    let permissions = array_names(claims.get("permissions"))?;
    let mut scopes = scope_names(claims.get("scope"))?;
    scopes.extend(scope_names(claims.get("scp"))?);
    let roles = array_names(claims.get("roles"))?;
    aud_ok.then(|| Expected {
        sub: sub.to_owned(),
        permissions,
        scopes,
        roles,
    })
}

fn check_principal(principal: &Principal, expected: &Expected) {
    assert_eq!(principal.subject(), expected.sub);
    assert_eq!(principal.issuer(), Some(ISSUER));
    for name in expected.permissions.iter().chain(&expected.scopes) {
        assert!(principal.has_permission(name), "{name} was not granted");
    }
    for role in &expected.roles {
        assert!(principal.roles().contains(role), "role {role} lost");
    }
    let policy = tokens::products_policy();
    let granted = policy.permissions_of(expected.roles.iter().map(String::as_str));
    for probe in [
        "Guest.Read",
        "User.Read",
        "User.Write",
        "Admin.Write",
        "Admin.x",
    ] {
        let direct = expected
            .permissions
            .iter()
            .chain(&expected.scopes)
            .any(|n| n == probe);
        assert_eq!(
            principal.has_permission(probe),
            direct || granted.contains(probe),
            "{probe}"
        );
    }
    // A role is not a permission of its own name.
    for role in ["admin", "user", "guest"] {
        let direct = expected
            .permissions
            .iter()
            .chain(&expected.scopes)
            .any(|n| n == role);
        assert_eq!(principal.has_permission(role), direct, "{role}");
    }
}

fuzz_target!(|input: Input| {
    let before = tokens::now();
    let (header, duplicate) = header_text(&input.header, before);
    let claims = claims_text(&input.claims, before);
    let good = tokens::compact(&header, &claims, tokens::hs256(tokens::SECRET));
    let signature = good.rsplit('.').next().unwrap_or_default().to_owned();
    let token = match &input.tamper {
        Tamper::None => good,
        Tamper::FlipSignatureBit(bit) => {
            let mut raw = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &signature,
            )
            .expect("our own signature");
            let bit = usize::from(*bit) % (raw.len() * 8);
            raw[bit / 8] ^= 1 << (bit % 8);
            let cut = good.len() - signature.len();
            format!("{}{}", &good[..cut], tokens::b64(raw))
        }
        Tamper::OtherSecret => {
            tokens::compact(&header, &claims, tokens::hs256(tokens::OTHER_SECRET))
        }
        Tamper::SwapPayload(payload) => {
            let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
            let swapped = tokens::b64(payload);
            if swapped == parts[1] {
                return;
            }
            parts[1] = swapped;
            parts.join(".")
        }
        Tamper::AppendSegment => format!("{good}.{signature}"),
        Tamper::DropSignature => good[..good.len() - signature.len()].to_owned(),
    };

    let result = run(verifier().verify(&token));
    let after = tokens::now();
    if let Err(error) = &result {
        let message = error.to_string();
        assert!(
            !message.contains(&signature),
            "`{message}` quotes the signature"
        );
    }
    if input.tamper != Tamper::None {
        assert!(
            result.is_err(),
            "a tampered token ({:?}) was accepted",
            input.tamper
        );
        return;
    }
    let parsed: Option<Map<String, Value>> = serde_json::from_str(&claims).ok();
    let verdict = |now: i64| {
        (token.len() <= DEFAULT_MAX_TOKEN_BYTES && header_ok(&header, duplicate))
            .then(|| parsed.as_ref().and_then(|c| expected(c, now)))
            .flatten()
    };
    let (at_start, at_end) = (verdict(before), verdict(after));
    if at_start.is_some() != at_end.is_some() {
        return; // the clock crossed a boundary during the run
    }
    match (&result, at_start) {
        (Ok(principal), Some(expected)) => check_principal(principal, &expected),
        (Err(_), None) => {}
        (Ok(_), None) => panic!("accepted a token the rules refuse:\n{header}\n{claims}"),
        (Err(e), Some(_)) => {
            panic!("refused ({e}) a token the rules accept:\n{header}\n{claims}")
        }
    }
});
