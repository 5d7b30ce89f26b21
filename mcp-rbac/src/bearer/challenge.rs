//! The 401 answers of RFC 6750 §3 with the RFC 9728 `resource_metadata` parameter, as the MCP
//! authorization specification asks. Header values are built once, at layer construction.

use axum::body::Body;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// The two challenges, precomputed for one protected resource.
#[derive(Clone, Debug)]
pub struct Challenge {
    missing: HeaderValue,
    invalid: HeaderValue,
}

impl Challenge {
    /// Challenges pointing at the resource's metadata document.
    pub fn new(metadata_url: &str) -> Self {
        let quoted = metadata_url.replace('\\', "\\\\").replace('"', "\\\"");
        let value = |s: String| {
            HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
        };
        Challenge {
            missing: value(format!("Bearer resource_metadata=\"{quoted}\"")),
            invalid: value(format!(
                "Bearer error=\"invalid_token\", resource_metadata=\"{quoted}\""
            )),
        }
    }

    /// No bearer credential: 401 with the bare challenge (RFC 6750 §3.1: no error code).
    pub fn missing(&self) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, self.missing.clone());
        response
    }

    /// A bearer credential that failed: 401 `invalid_token` with a JSON body saying why.
    /// `description` comes from [`AuthError`](crate::verify::AuthError) and never holds the token.
    pub fn invalid(&self, description: &str) -> Response<Body> {
        let body =
            serde_json::json!({ "error": "invalid_token", "error_description": description });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let headers = response.headers_mut();
        headers.insert(WWW_AUTHENTICATE, self.invalid.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
