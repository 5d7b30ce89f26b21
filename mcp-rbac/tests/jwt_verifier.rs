//! `JwtVerifier` against tokens signed with every supported algorithm, keys given as secret, PEM
//! and JWK, and the strict defaults: every refusal names its reason.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, EncodingKey, Header};
use mcp_rbac::verify::{
    install_crypto_provider, Algorithm, AuthError, JwtConfigError, JwtVerifier, MultiIssuerError,
    MultiIssuerVerifier, TokenVerifier, VerificationKey,
};
use serde_json::{json, Value};

const ISS: &str = "https://issuer.test";
const AUD: &str = "https://mcp.test/mcp";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hmac";
/// Long enough for HS512 (RFC 7518 §3.2: at least the hash's size).
const LONG_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(extra: Value) -> Value {
    let mut base =
        json!({"sub": "alice", "iss": ISS, "aud": AUD, "exp": now() + 300, "permissions": ["A"]});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(&k);
        } else {
            base[k] = v;
        }
    }
    base
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    install_crypto_provider();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).expect("sign")
}

fn verifier(algorithms: &[Algorithm], keys: Vec<VerificationKey>) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms(algorithms.iter().copied())
        .keys(keys)
        .build()
        .expect("verifier")
}

async fn check(v: &JwtVerifier, token: &str) -> Result<String, AuthError> {
    v.verify(token).await.map(|p| p.subject().to_owned())
}

/// (algorithm, private key for signing, verification key from PEM)
fn asymmetric() -> Vec<(Algorithm, EncodingKey, VerificationKey)> {
    let rsa = || EncodingKey::from_rsa_pem(&key("rsa2048.pem")).unwrap();
    let rsa_pub = || VerificationKey::from_pem(&key("rsa2048.pub.pem")).unwrap();
    vec![
        (Algorithm::RS256, rsa(), rsa_pub()),
        (Algorithm::RS384, rsa(), rsa_pub()),
        (Algorithm::RS512, rsa(), rsa_pub()),
        (Algorithm::PS256, rsa(), rsa_pub()),
        (Algorithm::PS384, rsa(), rsa_pub()),
        (Algorithm::PS512, rsa(), rsa_pub()),
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&key("p256.pem")).unwrap(),
            VerificationKey::from_pem(&key("p256.pub.pem")).unwrap(),
        ),
        (
            Algorithm::ES384,
            EncodingKey::from_ec_pem(&key("p384.pem")).unwrap(),
            VerificationKey::from_pem(&key("p384.pub.pem")).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&key("ed25519.pem")).unwrap(),
            VerificationKey::from_pem(&key("ed25519.pub.pem")).unwrap(),
        ),
    ]
}

#[tokio::test]
async fn every_asymmetric_algorithm_with_pem_keys() {
    for (alg, signing, verifying) in asymmetric() {
        let v = verifier(&[alg], vec![verifying]);
        let token = sign(alg, None, &signing, &claims(json!({})));
        assert_eq!(check(&v, &token).await, Ok("alice".into()), "{alg:?}");
        // The same key family under another algorithm of the list is refused by the pin.
        let other = if alg == Algorithm::RS256 {
            Algorithm::RS384
        } else {
            Algorithm::RS256
        };
        if alg.family() == other.family() {
            let token = sign(other, None, &signing, &claims(json!({})));
            assert_eq!(
                check(&v, &token).await,
                Err(AuthError::AlgorithmNotAllowed),
                "{alg:?} pinned"
            );
        }
    }
}

#[tokio::test]
async fn every_hmac_algorithm_with_a_secret() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let v = verifier(
            &[alg],
            vec![VerificationKey::hmac_secret(LONG_SECRET).unwrap()],
        );
        let token = sign(
            alg,
            None,
            &EncodingKey::from_secret(LONG_SECRET),
            &claims(json!({})),
        );
        assert_eq!(check(&v, &token).await, Ok("alice".into()), "{alg:?}");
        let wrong = sign(
            alg,
            None,
            &EncodingKey::from_secret(b"another secret of thirty-two bytes!!"),
            &claims(json!({})),
        );
        assert_eq!(
            check(&v, &wrong).await,
            Err(AuthError::BadSignature),
            "{alg:?}"
        );
    }
    assert!(VerificationKey::hmac_secret(b"short").is_err());
}

/// RFC 7518 §3.2: an HMAC key at least as long as the hash, 32 / 48 / 64 bytes.
#[test]
fn hmac_secrets_must_be_as_long_as_the_hash() {
    let build = |alg: Algorithm, len: usize| {
        JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .algorithms([alg])
            .key(VerificationKey::hmac_secret(&LONG_SECRET[..len]).unwrap())
            .build()
            .map(|_| ())
    };
    let short = |algorithm, min_bytes| {
        Err(JwtConfigError::ShortSecret {
            algorithm,
            min_bytes,
        })
    };
    assert_eq!(build(Algorithm::HS256, 32), Ok(()));
    assert_eq!(build(Algorithm::HS384, 32), short(Algorithm::HS384, 48));
    assert_eq!(build(Algorithm::HS384, 47), short(Algorithm::HS384, 48));
    assert_eq!(build(Algorithm::HS384, 48), Ok(()));
    assert_eq!(build(Algorithm::HS512, 48), short(Algorithm::HS512, 64));
    assert_eq!(build(Algorithm::HS512, 63), short(Algorithm::HS512, 64));
    assert_eq!(build(Algorithm::HS512, 64), Ok(()));
    assert_eq!(
        VerificationKey::hmac_secret(&LONG_SECRET[..31]).err(),
        Some(mcp_rbac::verify::KeyError::ShortSecret)
    );
}

/// A JWK is trusted only for what it says it is for: `use`, `key_ops` and `crv` agree with
/// verifying signatures of its algorithm.
#[test]
fn jwks_not_meant_for_verification_are_refused() {
    let (x, y) = (jwk_x("p256.pub.pem"), jwk_y("p256.pub.pem"));
    let load = |extra: Value| {
        let mut jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": x, "y": y});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            jwk[k] = v;
        }
        let jwk: Jwk = serde_json::from_value(jwk).unwrap();
        VerificationKey::from_jwk(&jwk)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(load(json!({})), Ok(()));
    assert_eq!(
        load(json!({"alg": "ES256", "use": "sig", "key_ops": ["verify"]})),
        Ok(())
    );
    for (bad, why) in [
        (json!({"use": "enc"}), "`use` is not `sig`"),
        (json!({"key_ops": ["sign"]}), "`key_ops` lacks `verify`"),
        (
            json!({"key_ops": ["encrypt", "wrapKey"]}),
            "`key_ops` lacks `verify`",
        ),
        (
            json!({"alg": "ES384"}),
            "`alg` does not match the curve `crv`",
        ),
        (
            json!({"crv": "P-384"}),
            "the point is not on the curve `crv` names",
        ),
        (json!({"crv": "P-521"}), "`crv` is not P-256 or P-384"),
        (json!({"crv": "Ed25519"}), "`crv` is not P-256 or P-384"),
    ] {
        let err = load(bad.clone()).unwrap_err();
        assert!(err.contains(why) && err.contains("ec-1"), "{bad}: {err}");
    }
    // An OKP key must be an Ed25519 key.
    let okp: Jwk = serde_json::from_value(json!({
        "kty": "OKP", "crv": "P-256", "kid": "okp-1",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }))
    .unwrap();
    let err = VerificationKey::from_jwk(&okp).unwrap_err().to_string();
    assert!(err.contains("`crv` is not Ed25519"), "{err}");
    // Without `alg`, the curve binds the key: a P-256 key is no ES384 key.
    let p256: Jwk =
        serde_json::from_value(json!({"kty": "EC", "crv": "P-256", "kid": "ec-1", "x": x, "y": y}))
            .unwrap();
    let build = |alg| {
        JwtVerifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .algorithms([alg])
            .key(VerificationKey::from_jwk(&p256).unwrap())
            .build()
            .map(|_| ())
    };
    assert_eq!(build(Algorithm::ES256), Ok(()));
    assert_eq!(
        build(Algorithm::ES384),
        Err(JwtConfigError::UnusableKey("ec-1".into()))
    );
}

#[tokio::test]
async fn jwk_keys_select_by_kid() {
    let jwks: Vec<Jwk> = serde_json::from_value(json!([
        {"kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "use": "sig",
         "x": jwk_x("p256.pub.pem"), "y": jwk_y("p256.pub.pem")}
    ]))
    .unwrap();
    let keys: Vec<VerificationKey> = jwks
        .iter()
        .map(|j| VerificationKey::from_jwk(j).unwrap())
        .collect();
    let v = verifier(&[Algorithm::ES256], keys);
    let signing = EncodingKey::from_ec_pem(&key("p256.pem")).unwrap();
    assert_eq!(
        check(
            &v,
            &sign(Algorithm::ES256, Some("ec-1"), &signing, &claims(json!({})))
        )
        .await,
        Ok("alice".into())
    );
    assert_eq!(
        check(
            &v,
            &sign(Algorithm::ES256, Some("ec-2"), &signing, &claims(json!({})))
        )
        .await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(
        check(
            &v,
            &sign(Algorithm::ES256, None, &signing, &claims(json!({})))
        )
        .await,
        Ok("alice".into())
    );
    // A key configured without a `kid` (PEM) verifies tokens whatever `kid` they name.
    let v = verifier(
        &[Algorithm::ES256],
        vec![VerificationKey::from_pem(&key("p256.pub.pem")).unwrap()],
    );
    assert_eq!(
        check(
            &v,
            &sign(
                Algorithm::ES256,
                Some("idp-key-7"),
                &signing,
                &claims(json!({}))
            )
        )
        .await,
        Ok("alice".into())
    );
    // Another key of the same algorithm: only the signature tells them apart.
    let other = EncodingKey::from_ec_pem(&key("p256-other.pem")).unwrap();
    for kid in [Some("idp-key-7"), None] {
        let refused = check(&v, &sign(Algorithm::ES256, kid, &other, &claims(json!({})))).await;
        assert!(
            matches!(
                refused,
                Err(AuthError::BadSignature | AuthError::UnknownKey)
            ),
            "{kid:?}: {refused:?}"
        );
    }
    // A symmetric JWK is never a verification key.
    let oct: Jwk =
        serde_json::from_value(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "o"})).unwrap();
    assert!(VerificationKey::from_jwk(&oct).is_err());
}

/// The public point of a P-256 SPKI PEM as JWK coordinates (the SPKI ends with 04 || x || y).
fn point(name: &str) -> (String, String) {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let pem = String::from_utf8(key(name)).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    let xy = &der[der.len() - 64..];
    (
        URL_SAFE_NO_PAD.encode(&xy[..32]),
        URL_SAFE_NO_PAD.encode(&xy[32..]),
    )
}
fn jwk_x(name: &str) -> String {
    point(name).0
}
fn jwk_y(name: &str) -> String {
    point(name).1
}

#[tokio::test]
async fn strict_claims() {
    let signing = EncodingKey::from_rsa_pem(&key("rsa2048.pem")).unwrap();
    let v = verifier(
        &[Algorithm::RS256],
        vec![VerificationKey::from_pem(&key("rsa2048.pub.pem")).unwrap()],
    );
    let t = |extra: Value| sign(Algorithm::RS256, None, &signing, &claims(extra));
    let cases = [
        (json!({"exp": now() - 120}), AuthError::Expired),
        (json!({"exp": null}), AuthError::MissingClaim("exp".into())),
        (json!({"iss": null}), AuthError::MissingClaim("iss".into())),
        (json!({"aud": null}), AuthError::MissingClaim("aud".into())),
        (
            json!({"aud": "https://other.test/mcp"}),
            AuthError::WrongAudience,
        ),
        (json!({"iss": "https://evil.test"}), AuthError::WrongIssuer),
        (json!({"nbf": now() + 600}), AuthError::NotYetValid),
    ];
    for (extra, expected) in cases {
        assert_eq!(check(&v, &t(extra.clone())).await, Err(expected), "{extra}");
    }
    // Within the default 30 s leeway.
    assert_eq!(
        check(&v, &t(json!({"exp": now() - 10}))).await,
        Ok("alice".into())
    );
    // An audience array naming this resource is fine.
    assert_eq!(
        check(&v, &t(json!({"aud": ["https://x.test", AUD]}))).await,
        Ok("alice".into())
    );
}

#[tokio::test]
async fn algorithm_confusion_and_header_keys() {
    let rsa_pub_pem = key("rsa2048.pub.pem");
    let v = verifier(
        &[Algorithm::RS256],
        vec![VerificationKey::from_pem(&rsa_pub_pem).unwrap()],
    );
    // HS256 "signed" with the RSA public key as the secret: refused by the algorithm pin.
    let confused = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(&rsa_pub_pem),
        &claims(json!({})),
    );
    assert_eq!(
        check(&v, &confused).await,
        Err(AuthError::AlgorithmNotAllowed)
    );
    // A token carrying its own key in `jwk` / `jku` is verified against configured keys only.
    let attacker = EncodingKey::from_rsa_pem(&key("rsa2048-other.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.jku = Some("http://127.0.0.1:1/attacker-jwks.json".into());
    header.x5u = Some("http://127.0.0.1:1/attacker.pem".into());
    let token = encode(&header, &claims(json!({})), &attacker).unwrap();
    assert_eq!(check(&v, &token).await, Err(AuthError::BadSignature));
    // `typ` other than a JWT access token type.
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("id+jwt".into());
    let signing = EncodingKey::from_rsa_pem(&key("rsa2048.pem")).unwrap();
    let token = encode(&header, &claims(json!({})), &signing).unwrap();
    assert_eq!(check(&v, &token).await, Err(AuthError::WrongType));
    header.typ = Some("at+JWT".into());
    let token = encode(&header, &claims(json!({})), &signing).unwrap();
    assert_eq!(check(&v, &token).await, Ok("alice".into()));
    // Oversized tokens are refused before parsing.
    let big = format!("{}.{}.{}", "a".repeat(10_000), "b".repeat(10_000), "c");
    assert_eq!(check(&v, &big).await, Err(AuthError::TooLarge(16 * 1024)));
}

#[test]
fn unsafe_configurations_refuse_to_build() {
    let rsa = || VerificationKey::from_pem(&key("rsa2048.pub.pem")).unwrap();
    let hmac = || VerificationKey::hmac_secret(SECRET).unwrap();
    let base = || JwtVerifier::builder().issuer(ISS).audience(AUD);
    let err = |b: mcp_rbac::verify::JwtVerifierBuilder| b.build().err();
    assert_eq!(err(base().key(rsa())), Some(JwtConfigError::NoAlgorithms));
    assert_eq!(
        err(JwtVerifier::builder()
            .issuer(ISS)
            .algorithms([Algorithm::RS256])
            .key(rsa())),
        Some(JwtConfigError::NoAudience)
    );
    assert_eq!(
        err(JwtVerifier::builder()
            .audience(AUD)
            .algorithms([Algorithm::RS256])
            .key(rsa())),
        Some(JwtConfigError::NoIssuer)
    );
    assert_eq!(
        err(base().algorithms([Algorithm::RS256])),
        Some(JwtConfigError::NoKeys)
    );
    // An empty value (an unset environment variable) is none: `"aud": ""` must not match it.
    let rs256 =
        |b: mcp_rbac::verify::JwtVerifierBuilder| b.algorithms([Algorithm::RS256]).key(rsa());
    assert_eq!(
        err(rs256(JwtVerifier::builder().issuer(ISS).audience(""))),
        Some(JwtConfigError::NoAudience)
    );
    assert_eq!(
        err(rs256(base().audience(" "))),
        Some(JwtConfigError::NoAudience)
    );
    assert_eq!(
        err(rs256(JwtVerifier::builder().issuer("").audience(AUD))),
        Some(JwtConfigError::NoIssuer)
    );
    assert_eq!(
        err(base()
            .algorithms([Algorithm::RS256, Algorithm::HS256])
            .key(rsa())),
        Some(JwtConfigError::MixedHmac)
    );
    assert_eq!(
        err(base().algorithms([Algorithm::RS256]).key(rsa()).key(hmac())),
        Some(JwtConfigError::MixedHmac)
    );
    assert!(matches!(
        err(base().algorithms([Algorithm::ES256]).key(rsa())),
        Some(JwtConfigError::UnusableKey(_))
    ));
    assert_eq!(
        err(base()
            .algorithms([Algorithm::RS256])
            .key(rsa())
            .leeway(std::time::Duration::from_secs(3600))),
        Some(JwtConfigError::LeewayTooLarge(3600))
    );
}

#[tokio::test]
async fn a_panicking_verifier_is_not_an_allow() {
    use futures::future::BoxFuture;
    use mcp_rbac::Principal;
    struct Panics;
    impl TokenVerifier for Panics {
        fn verify<'a>(&'a self, _token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
            Box::pin(async { panic!("verifier bug") })
        }
    }
    use http_body_util::BodyExt;
    use tower::{Service, ServiceExt};
    let resource = mcp_rbac::metadata::ProtectedResource::new("http://127.0.0.1:9/mcp").unwrap();
    let layer = mcp_rbac::bearer::BearerAuthLayer::new(std::sync::Arc::new(Panics), &resource);
    let inner = tower::service_fn(|_req: http::Request<String>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::from("tool ran")))
    });
    let mut service = tower::Layer::layer(&layer, inner);
    let request = http::Request::builder()
        .header("authorization", "Bearer abc.def.ghi")
        .body(String::new())
        .unwrap();
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 401);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"error":"invalid_token","error_description":"token could not be verified"}"#
    );
}

#[tokio::test]
async fn each_issuer_is_checked_with_its_own_keys() {
    const A: &str = "https://a.issuer.test";
    const B: &str = "https://b.issuer.test";
    let one = |iss: &str, alg: Algorithm, public: &str| {
        JwtVerifier::builder()
            .issuer(iss)
            .audience(AUD)
            .algorithms([alg])
            .key(VerificationKey::from_pem(&key(public)).unwrap())
            .build()
            .unwrap()
    };
    let verifier = MultiIssuerVerifier::new([
        one(A, Algorithm::RS256, "rsa2048.pub.pem"),
        one(B, Algorithm::RS256, "rsa2048-other.pub.pem"),
    ])
    .unwrap();
    let a_key = EncodingKey::from_rsa_pem(&key("rsa2048.pem")).unwrap();
    let b_key = EncodingKey::from_rsa_pem(&key("rsa2048-other.pem")).unwrap();
    let token = |iss: &str, signing: &EncodingKey| {
        sign(
            Algorithm::RS256,
            None,
            signing,
            &claims(json!({"iss": iss})),
        )
    };
    let subject = |t: String| {
        let v = &verifier;
        async move { v.verify(&t).await.map(|p| p.issuer().map(str::to_owned)) }
    };
    assert_eq!(subject(token(A, &a_key)).await, Ok(Some(A.into())));
    assert_eq!(subject(token(B, &b_key)).await, Ok(Some(B.into())));
    // Signed by A's key, claiming B: B's keys refuse it.
    assert_eq!(
        subject(token(B, &a_key)).await,
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        subject(token(A, &b_key)).await,
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        subject(token("https://c.issuer.test", &a_key)).await,
        Err(AuthError::WrongIssuer)
    );
    assert_eq!(
        subject(sign(
            Algorithm::RS256,
            None,
            &a_key,
            &claims(json!({"iss": null}))
        ))
        .await,
        Err(AuthError::MissingClaim("iss".into()))
    );
    assert_eq!(subject("x.y.z".into()).await, Err(AuthError::Malformed));
    // One verifier per issuer.
    assert_eq!(
        MultiIssuerVerifier::new([
            one(A, Algorithm::RS256, "rsa2048.pub.pem"),
            one(A, Algorithm::RS256, "rsa2048-other.pub.pem"),
        ])
        .err(),
        Some(MultiIssuerError::DuplicateIssuer(A.into()))
    );
}

/// The verifier reads claims in place and builds the full map only when asked: the map must be
/// every claim of the payload, with the values the checks and the mapping saw.
#[tokio::test]
async fn claims_are_the_whole_payload() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::crypto::sign as raw_sign;

    install_crypto_provider();
    let secret = EncodingKey::from_secret(SECRET);
    let v = verifier(
        &[Algorithm::HS256],
        vec![VerificationKey::hmac_secret(SECRET).unwrap()],
    );
    let extra = json!({
        "jti": "t-1", "ratio": 0.25, "flag": true, "none": null,
        "realm_access": {"roles": ["user"], "deep": {"n": [1, [2, {}]]}},
        "k\"ey": "line\nbreak é 😀",
    });
    let token = sign(Algorithm::HS256, None, &secret, &claims(extra.clone()));
    let principal = v.verify(&token).await.expect("accepted");
    assert_eq!(Value::Object(principal.claims().clone()), claims(extra));
    assert!(principal.has_permission("A"));
    assert!(format!("{principal:?}").contains("realm_access"));

    // A repeated member: the checks, the mapping and `claims()` all see the last one.
    let payload = format!(
        r#"{{"sub":"alice","sub":"bob","iss":"{ISS}","aud":"https://elsewhere","aud":"{AUD}","exp":{},"permissions":["A"],"permissions":["B"]}}"#,
        now() + 300
    );
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = raw_sign(input.as_bytes(), &secret, Algorithm::HS256).unwrap();
    let bob = v
        .verify(&format!("{input}.{signature}"))
        .await
        .expect("accepted");
    assert_eq!(bob.subject(), "bob");
    assert_eq!(bob.claims()["sub"], "bob");
    assert!(bob.has_permission("B") && !bob.has_permission("A"));
}

/// Cognito-shaped access tokens: no `aud`, the app client in `client_id`.
#[tokio::test]
async fn the_audience_can_be_read_from_client_id() {
    let secret = EncodingKey::from_secret(SECRET);
    let build = |claim: Option<&str>| {
        let mut b = JwtVerifier::builder()
            .issuer(ISS)
            .audience("app-client-1")
            .algorithms([Algorithm::HS256])
            .key(VerificationKey::hmac_secret(SECRET).unwrap())
            .claims(mcp_rbac::ClaimsMapping::cognito());
        if let Some(claim) = claim {
            b = b.audience_claim(claim);
        }
        b.build()
    };
    let cognito = build(Some("client_id")).unwrap();
    let token = |client: &str| {
        let c = claims(
            json!({"aud": null, "client_id": client, "token_use": "access",
                              "cognito:groups": ["admin"]}),
        );
        sign(Algorithm::HS256, None, &secret, &c)
    };
    let p = cognito
        .verify(&token("app-client-1"))
        .await
        .expect("accepted");
    assert_eq!(p.roles(), ["admin"]);
    assert_eq!(
        cognito.verify(&token("app-client-2")).await.err(),
        Some(AuthError::WrongAudience)
    );
    // Without the setting the same token has no `aud` and is refused.
    let default = build(None).unwrap();
    assert_eq!(
        default.verify(&token("app-client-1")).await.err(),
        Some(AuthError::MissingClaim("aud".into()))
    );
    assert_eq!(build(Some(" ")).err(), Some(JwtConfigError::NoAudience));
}
