//! The compact JWS form of a JWT: three base64url segments, a JOSE header read only for what
//! the verifier needs, the signing input and the signature bytes.

use std::borrow::Cow;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;

use super::AuthError;

/// A token split into its parts; nothing here is trusted until the signature is checked.
pub(crate) struct CompactJws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) typ: Option<String>,
    pub(crate) kid: Option<String>,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    payload: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// The header members the verifier reads. Key-carrying members (`jku`, `x5u`, `jwk`, `x5c`) are
/// deliberately not read: keys come from configuration only.
#[derive(serde::Deserialize)]
struct JoseHeader<'h> {
    #[serde(borrow)]
    alg: Cow<'h, str>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The algorithm `token`'s header names, for the `algorithm` label of the verification metrics
/// (`None` without the `metrics` feature, or when the header does not name a supported one).
/// Nothing is trusted or refused on it: the verifier parses the token on its own.
pub(crate) fn header_algorithm(token: &str) -> Option<Algorithm> {
    #[derive(serde::Deserialize)]
    struct AlgOnly<'h> {
        #[serde(borrow)]
        alg: Cow<'h, str>,
    }
    if !cfg!(feature = "metrics") {
        return None;
    }
    let (encoded_header, _) = token.split_once('.')?;
    if encoded_header.len() > 1024 {
        return None;
    }
    let header_json = URL_SAFE_NO_PAD.decode(encoded_header).ok()?;
    let header: AlgOnly = serde_json::from_slice(&header_json).ok()?;
    Algorithm::from_str(&header.alg).ok()
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes `token`. `none` or an unknown `alg` is [`AuthError::AlgorithmNotAllowed`];
    /// a `crit` header (an extension this verifier cannot honour, RFC 7515 §4.1.11) or any
    /// encoding fault is [`AuthError::Malformed`].
    pub(crate) fn parse(token: &'a str) -> Result<Self, AuthError> {
        let mut parts = token.split('.');
        let (Some(encoded_header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(encoded_header)
            .map_err(|_| AuthError::Malformed)?;
        // RFC 7515 §4: the header is a JSON object (serde would also read the struct from an array).
        if header_json.trim_ascii_start().first() != Some(&b'{') {
            return Err(AuthError::Malformed);
        }
        // serde_json skips members the struct does not read without its nesting limit (128), which
        // the claims are held to; a header nested that deep is refused like such claims. Only a
        // header with more than a few brackets pays for the full parse that enforces the limit.
        if header_json
            .iter()
            .filter(|b| matches!(b, b'[' | b'{'))
            .count()
            > 8
            && serde_json::from_slice::<serde_json::Value>(&header_json).is_err()
        {
            return Err(AuthError::Malformed);
        }
        // One UTF-8 check of the whole text is cheaper than serde_json's check of each string.
        let header_text = std::str::from_utf8(&header_json).map_err(|_| AuthError::Malformed)?;
        let header: JoseHeader =
            serde_json::from_str(header_text).map_err(|_| AuthError::Malformed)?;
        if header.crit.is_some() {
            return Err(AuthError::Malformed);
        }
        let alg = Algorithm::from_str(&header.alg).map_err(|_| AuthError::AlgorithmNotAllowed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed)?;
        Ok(CompactJws {
            alg,
            typ: header.typ,
            kid: header.kid,
            signing_input: &token[..encoded_header.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }

    /// The payload's JSON text (not yet parsed); call only after the signature verified.
    pub(crate) fn payload_json(&self) -> Result<Vec<u8>, AuthError> {
        URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| AuthError::Malformed)
    }
}

/// The `iss` a token claims, read without checking anything: only to choose which issuer's
/// keys and rules will check it.
pub(crate) fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    let payload = token.split('.').nth(1).ok_or(AuthError::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice::<Iss>(&json)
        .map_err(|_| AuthError::Malformed)?
        .iss
        .ok_or_else(|| AuthError::MissingClaim("iss".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn parts_and_refusals() {
        let payload = b64(r#"{"sub":"a"}"#);
        let ok = format!(
            "{}.{payload}.{}",
            b64(r#"{"alg":"RS256","kid":"k1","jku":"http://x"}"#),
            b64("sig")
        );
        let jws = CompactJws::parse(&ok).expect("parses");
        assert_eq!(jws.alg, Algorithm::RS256);
        assert_eq!(jws.kid.as_deref(), Some("k1"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input, &ok[..ok.rfind('.').unwrap()]);
        assert_eq!(jws.payload_json().unwrap(), br#"{"sub":"a"}"#);

        let with = |header: &str| format!("{}.{payload}.{}", b64(header), b64("s"));
        let refused = |t: &str| CompactJws::parse(t).err();
        assert_eq!(
            refused(&with(r#"{"alg":"none"}"#)),
            Some(AuthError::AlgorithmNotAllowed)
        );
        assert_eq!(
            refused(&with(r#"{"alg":"HS1"}"#)),
            Some(AuthError::AlgorithmNotAllowed)
        );
        assert_eq!(
            refused(&with(r#"{"alg":"RS256","crit":["exp"]}"#)),
            Some(AuthError::Malformed)
        );
        assert_eq!(
            refused(&with(r#"{"typ":"JWT"}"#)),
            Some(AuthError::Malformed)
        );
        assert_eq!(refused(&with(r#"{"alg":5}"#)), Some(AuthError::Malformed));
        assert_eq!(refused(&with(r#"["RS256"]"#)), Some(AuthError::Malformed));
        assert_eq!(refused("a.b"), Some(AuthError::Malformed));
        assert_eq!(refused(&format!("{ok}.x")), Some(AuthError::Malformed));
        assert_eq!(refused(&format!("{ok}=")), Some(AuthError::Malformed));
        assert_eq!(refused("...."), Some(AuthError::Malformed));
    }

    #[test]
    fn a_header_is_held_to_the_nesting_limit_of_the_claims() {
        let nested = |depth: usize| {
            format!(
                r#"{{"alg":"HS256","x":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let token =
            |header: &str| format!("{}.{}.{}", b64(header), b64(r#"{"sub":"a"}"#), b64("s"));
        // Exactly as deep as serde_json reads (and so the claims may be) a header parses.
        let parses = |d: usize| serde_json::from_str::<serde_json::Value>(&nested(d)).is_ok();
        let limit = (1..300).take_while(|d| parses(*d)).last().unwrap_or(0);
        assert!(
            (100..300).contains(&limit),
            "serde_json's limit moved: {limit}"
        );
        assert!(CompactJws::parse(&token(&nested(limit))).is_ok());
        assert_eq!(
            CompactJws::parse(&token(&nested(limit + 1))).err(),
            Some(AuthError::Malformed)
        );
        // The header the jwt_structured fuzz target found accepted (an ignored member nested
        // past the limit); its claims, signed, were otherwise valid.
        let found = r##"{"alg":"HS256","typ":null,"crit":null,"":{"":[null,null,null,null,null,null,[[[[[[[[[[-6.2774385622041925e+66,[[[[[[[[[[[[[[{}]],true]]],-8.176465883862021e+254],""],null],"\u0000"],[[[[[[[[[[[[[[[[[[[[[[[[[[[{"Q\u0006G$":null,"JWT":null,"":[[[[[[[[[[[[[[[[[[[],[[[[[[[[[[[3169493318],"aud",[{"":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[3169493318],"Admin.Write"]]]],null],[[[[[2899819223]],[null],1892016251191198352],[[[[[953861865,[[[[[[[[[[[[[[[[[[[[[[[null]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}"##;
        assert!(serde_json::from_str::<serde_json::Value>(found).is_err());
        assert_eq!(
            CompactJws::parse(&token(found)).err(),
            Some(AuthError::Malformed)
        );
    }
}
