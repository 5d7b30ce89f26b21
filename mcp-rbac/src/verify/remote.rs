//! Fetching a JWKS once (at start-up) from a URL or through OIDC / RFC 8414 discovery.
//! Responses are size-capped and time-limited; only configured URLs are fetched, never a URL a
//! token names.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

/// The most a metadata or JWKS response may hold.
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// The time one fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why keys could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is named in its variant's message
pub enum FetchError {
    /// Transport failure or timeout; `source` is the HTTP client's error.
    #[error("fetching {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Not a 2xx answer.
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    /// Larger than [`MAX_RESPONSE_BYTES`].
    #[error("{url} answered more than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge { url: String },
    /// Not JSON of the expected shape; `source` is the parser's error.
    #[error("{url} did not answer a valid {what}: {source}")]
    Json {
        url: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// JSON of the expected shape that cannot be used (another issuer, no usable key).
    #[error("{url} did not answer a valid {what}: {reason}")]
    Document {
        url: String,
        what: &'static str,
        reason: String,
    },
}

pub(crate) fn client() -> Result<reqwest::Client, FetchError> {
    client_with_timeout(FETCH_TIMEOUT)
}

/// The fetching client with another whole-request timeout.
pub(crate) fn client_with_timeout(timeout: Duration) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|source| FetchError::Http {
            url: String::new(),
            source,
        })
}

async fn get_json<T: serde::de::DeserializeOwned>(
    url: &str,
    what: &'static str,
) -> Result<T, FetchError> {
    get_json_with(&client()?, url, what)
        .await
        .map(|(doc, _)| doc)
}

/// The JSON document at `url`, and the `max-age` its `Cache-Control` header grants.
pub(crate) async fn get_json_with<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<(T, Option<Duration>), FetchError> {
    let http = |source: reqwest::Error| FetchError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(http)?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let doc = serde_json::from_slice(&body).map_err(|source| FetchError::Json {
        url: url.to_owned(),
        what,
        source,
    })?;
    Ok((doc, max_age))
}

/// `max-age` of a `Cache-Control` value; `no-cache` / `no-store` count as zero.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            found = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

/// The JWKS at `url`.
pub async fn fetch_jwks(url: &str) -> Result<JwkSet, FetchError> {
    get_json(url, "JWK set").await
}

#[derive(serde::Deserialize)]
struct Metadata {
    issuer: Option<String>,
    jwks_uri: String,
}

/// The `jwks_uri` of `issuer`, from `/.well-known/openid-configuration`, else RFC 8414's
/// `/.well-known/oauth-authorization-server`. The document's `issuer` must equal `issuer`.
pub async fn discover_jwks_uri(issuer: &str) -> Result<String, FetchError> {
    let base = issuer.trim_end_matches('/');
    let candidates = [
        format!("{base}/.well-known/openid-configuration"),
        oauth_metadata_url(issuer),
    ];
    let mut last = None;
    for url in candidates {
        match get_json::<Metadata>(&url, "authorization server metadata").await {
            Ok(meta) => {
                if let Some(found) = &meta.issuer {
                    if found.trim_end_matches('/') != base {
                        return Err(FetchError::Document {
                            url,
                            what: "authorization server metadata",
                            reason: format!("its issuer `{found}` is not `{issuer}`"),
                        });
                    }
                }
                return Ok(meta.jwks_uri);
            }
            Err(e) => last = Some(e),
        }
    }
    // Both candidates were tried, so `last` holds the second one's error.
    Err(last.unwrap_or_else(|| FetchError::Document {
        url: issuer.to_owned(),
        what: "authorization server metadata",
        reason: "no metadata".into(),
    }))
}

/// RFC 8414 §3: the well-known segment goes between host and path.
fn oauth_metadata_url(issuer: &str) -> String {
    let trimmed = issuer.trim_end_matches('/');
    match trimmed.find("://").map(|i| i + 3) {
        Some(start) => match trimmed[start..].find('/') {
            Some(slash) => {
                let (origin, path) = trimmed.split_at(start + slash);
                format!("{origin}/.well-known/oauth-authorization-server{path}")
            }
            None => format!("{trimmed}/.well-known/oauth-authorization-server"),
        },
        None => format!("{trimmed}/.well-known/oauth-authorization-server"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn cache_control_max_age() {
        let secs = |s| super::max_age(s).map(|d: Duration| d.as_secs());
        assert_eq!(secs("public, max-age=600"), Some(600));
        assert_eq!(secs("max-age=\"60\", must-revalidate"), Some(60));
        assert_eq!(secs("no-store"), Some(0));
        assert_eq!(secs("public"), None);
        assert_eq!(secs("max-age=-1"), None);
    }

    #[test]
    fn rfc8414_inserts_the_well_known_segment() {
        assert_eq!(
            super::oauth_metadata_url("https://as.example/tenant1"),
            "https://as.example/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            super::oauth_metadata_url("https://as.example/"),
            "https://as.example/.well-known/oauth-authorization-server"
        );
    }
}
