//! A check of your own after verification, on every request: the subject still exists, the
//! token's `jti` is not revoked, the account is not locked.

use std::future::Future;

use futures::future::BoxFuture;

use super::{AuthError, TokenVerifier};
use crate::principal::Principal;

/// A verifier whose principals must also pass an async check of yours.
///
/// The check runs after the inner verifier accepted the token, on every request, also when the
/// inner verifier answered from its cache: revoking a `jti` or deleting a user takes effect at
/// the next request, not when a cached token expires. Made by
/// [`TokenVerifierExt::with_validation`].
pub struct Validated<V, F> {
    inner: V,
    check: F,
}

impl<V: std::fmt::Debug, F> std::fmt::Debug for Validated<V, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validated")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<V, F> Validated<V, F> {
    /// The verifier that runs first.
    pub fn inner(&self) -> &V {
        &self.inner
    }
}

impl<V, F, Fut> TokenVerifier for Validated<V, F>
where
    V: TokenVerifier,
    F: Fn(Principal) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
{
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            let principal = self.inner.verify(token).await?;
            (self.check)(principal.clone()).await?;
            Ok(principal)
        })
    }
}

/// Combinators on every [`TokenVerifier`].
pub trait TokenVerifierExt: TokenVerifier + Sized {
    /// Runs `check` on each principal this verifier accepts; an `Err` refuses the request
    /// with that error (its text reaches the client as `error_description`: name a reason,
    /// never the token).
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::{Arc, RwLock};
    ///
    /// use mcp_rbac::verify::{AuthError, JwtVerifier, TokenVerifierExt};
    /// # use mcp_rbac::verify::{Algorithm, VerificationKey};
    ///
    /// # fn jwt_verifier() -> JwtVerifier {
    /// #     JwtVerifier::builder().issuer("https://idp.example").audience("https://mcp.example/mcp")
    /// #         .algorithms([Algorithm::HS256])
    /// #         .key(VerificationKey::hmac_secret(b"a secret of at least thirty-two bytes").unwrap())
    /// #         .build().unwrap()
    /// # }
    /// let revoked: Arc<RwLock<HashSet<String>>> = Arc::default();
    /// let verifier = jwt_verifier().with_validation({
    ///     let revoked = revoked.clone();
    ///     move |principal| {
    ///         let revoked = revoked.clone();
    ///         async move {
    ///             let jti = principal.claims().get("jti").and_then(|j| j.as_str());
    ///             match jti {
    ///                 Some(jti) if revoked.read().map_or(true, |set| set.contains(jti)) => {
    ///                     Err(AuthError::Rejected("token has been revoked".into()))
    ///                 }
    ///                 _ => Ok(()),
    ///             }
    ///         }
    ///     }
    /// });
    /// # let _ = verifier;
    /// ```
    fn with_validation<F, Fut>(self, check: F) -> Validated<Self, F>
    where
        F: Fn(Principal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
    {
        Validated { inner: self, check }
    }
}

impl<V: TokenVerifier> TokenVerifierExt for V {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{SystemTime, UNIX_EPOCH};

    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::verify::{install_crypto_provider, Algorithm, JwtVerifier, VerificationKey};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-validate";

    fn token(jti: &str) -> String {
        install_crypto_provider();
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 300;
        let claims = json!({"sub": "alice", "iss": "https://idp.test", "aud": "https://mcp.test/mcp",
            "exp": exp, "jti": jti, "permissions": ["A"]});
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn a_revoked_jti_is_refused_after_it_was_accepted_and_cached() {
        let jwt = JwtVerifier::builder()
            .issuer("https://idp.test")
            .audience("https://mcp.test/mcp")
            .algorithms([Algorithm::HS256])
            .key(VerificationKey::hmac_secret(SECRET).unwrap())
            .build()
            .unwrap();
        let checks = Arc::new(AtomicUsize::new(0));
        let revoked: Arc<Mutex<HashSet<String>>> = Arc::default();
        // The JWT verifier caches what it verified (on by default): the second use of `t1` is a hit.
        let verifier = jwt.with_validation({
            let (revoked, checks) = (revoked.clone(), checks.clone());
            move |principal: Principal| {
                checks.fetch_add(1, Ordering::SeqCst);
                let revoked = revoked.clone();
                async move {
                    let jti = principal.claims().get("jti").and_then(|j| j.as_str());
                    let is_revoked = match (jti, revoked.lock()) {
                        (Some(jti), Ok(set)) => set.contains(jti),
                        (None, _) | (_, Err(_)) => true,
                    };
                    if is_revoked {
                        Err(AuthError::Rejected("token has been revoked".into()))
                    } else {
                        Ok(())
                    }
                }
            }
        });
        let (t1, t2) = (token("jti-1"), token("jti-2"));
        let block_on = futures::executor::block_on;

        assert_eq!(block_on(verifier.verify(&t1)).unwrap().subject(), "alice");
        assert_eq!(block_on(verifier.verify(&t1)).unwrap().subject(), "alice");
        revoked.lock().unwrap().insert("jti-1".into());
        assert_eq!(
            block_on(verifier.verify(&t1)).unwrap_err(),
            AuthError::Rejected("token has been revoked".into())
        );
        assert_eq!(block_on(verifier.verify(&t2)).unwrap().subject(), "alice");
        assert_eq!(checks.load(Ordering::SeqCst), 4, "the check ran every time");

        // The inner verifier's refusal wins; the check never sees a refused token.
        assert_eq!(
            block_on(verifier.verify("not.a.token")).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(checks.load(Ordering::SeqCst), 4);
    }
}
