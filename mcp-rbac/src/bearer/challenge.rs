//! The 401 and 403 answers of RFC 6750 §3 with the RFC 9728 `resource_metadata` parameter, as the
//! MCP authorization specification asks. The 401 header values are built once, at layer
//! construction; the 403 `insufficient_scope` one names the scopes of the refused call.

use std::sync::Arc;

use axum::body::Body;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// The challenges for one protected resource.
#[derive(Clone, Debug)]
pub struct Challenge {
    missing: HeaderValue,
    invalid: HeaderValue,
    /// The metadata URL, already escaped for a quoted-string.
    quoted_metadata: Arc<str>,
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
            quoted_metadata: quoted.into(),
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

    /// A valid token without the scopes a call needs (MCP "scope challenge", RFC 6750 §3.1):
    /// 403 with `error="insufficient_scope"`, `scope="<space-separated scopes>"` and
    /// `resource_metadata`, so an OAuth client can ask for those scopes and retry. The body says
    /// only that: no tool output, no names beyond what the header carries.
    ///
    /// `scopes` must be RFC 6749 scope-tokens (no space, `"` or `\`); the step-up layer only
    /// passes such names.
    pub fn insufficient_scope(&self, scopes: &[&str]) -> Response<Body> {
        let header = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\"",
            scopes.join(" "),
            self.quoted_metadata
        );
        let body = serde_json::json!({
            "error": "insufficient_scope",
            "error_description": "the access token lacks scopes this request needs",
        });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = StatusCode::FORBIDDEN;
        let headers = response.headers_mut();
        match HeaderValue::from_str(&header) {
            Ok(value) => headers.insert(WWW_AUTHENTICATE, value),
            // Unreachable with scope-tokens; a bare challenge still refuses.
            Err(_) => headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
            ),
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
