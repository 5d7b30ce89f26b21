//! The 401 and 403 answers of RFC 6750 §3 with the RFC 9728 `resource_metadata` parameter, as the
//! MCP authorization specification asks. The 401 header values are built once, at layer
//! construction; the 403 `insufficient_scope` one names the scopes of the refused call.

use std::sync::Arc;

use axum::body::Body;

use super::dpop::{Dpop, DpopError, DpopMode};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// The challenges for one protected resource.
#[derive(Clone, Debug)]
pub struct Challenge {
    missing: HeaderValue,
    invalid: HeaderValue,
    /// The metadata URL, already escaped for a quoted-string.
    quoted_metadata: Arc<str>,
    /// With DPoP on: the mode, and the bare `DPoP algs="…"` challenge (RFC 9449 §7.1).
    dpop: Option<(DpopMode, HeaderValue)>,
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
            dpop: None,
        }
    }

    /// These challenges with the DPoP scheme's beside (accept mode) or instead of (require mode)
    /// the Bearer one.
    pub fn with_dpop(mut self, dpop: &Dpop) -> Self {
        let bare = format!(
            "DPoP algs=\"{}\", resource_metadata=\"{}\"",
            dpop.algs(),
            self.quoted_metadata
        );
        self.dpop = HeaderValue::from_str(&bare)
            .ok()
            .map(|value| (dpop.mode(), value));
        self
    }

    /// Puts `bearer` (when Bearer tokens are accepted) and the bare DPoP challenge (when DPoP
    /// is on) into `response`.
    fn challenges(&self, response: &mut Response<Body>, bearer: &HeaderValue) {
        let headers = response.headers_mut();
        match &self.dpop {
            None => {
                headers.insert(WWW_AUTHENTICATE, bearer.clone());
            }
            Some((mode, dpop)) => {
                if *mode == DpopMode::Accept {
                    headers.append(WWW_AUTHENTICATE, bearer.clone());
                }
                headers.append(WWW_AUTHENTICATE, dpop.clone());
            }
        }
    }

    /// A DPoP request refused for `error` (RFC 9449 §7.1): 401 with
    /// `DPoP error="…", error_description="…", algs="…"`, beside the bare Bearer challenge when
    /// Bearer tokens are accepted, and a JSON body saying the same.
    pub fn dpop_refused(&self, error: DpopError) -> Response<Body> {
        let description = error.to_string();
        self.dpop_error(error.error_code(), Some(&description))
    }

    /// A token sent with the DPoP scheme that the verifier refused: `DPoP error="invalid_token"`.
    pub fn dpop_invalid_token(&self, description: &str) -> Response<Body> {
        let mut response = self.dpop_error("invalid_token", None);
        *response.body_mut() = Body::from(
            serde_json::json!({ "error": "invalid_token", "error_description": description })
                .to_string(),
        );
        response
    }

    fn dpop_error(&self, code: &str, description: Option<&str>) -> Response<Body> {
        let algs = match &self.dpop {
            Some((_, bare)) => bare
                .to_str()
                .ok()
                .and_then(|b| b.strip_prefix("DPoP "))
                .map(|algs| format!(", {algs}"))
                .unwrap_or_default(),
            None => String::new(),
        };
        let described = description
            .map(|d| {
                let quoted = d.replace('\\', "\\\\").replace('"', "\\\"");
                format!(", error_description=\"{quoted}\"")
            })
            .unwrap_or_default();
        let header = format!("DPoP error=\"{code}\"{described}{algs}");
        let body = serde_json::json!({ "error": code, "error_description": description });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let headers = response.headers_mut();
        if matches!(self.dpop, Some((DpopMode::Accept, _)) | None) {
            headers.append(WWW_AUTHENTICATE, self.missing.clone());
        }
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_str(&header)
                .unwrap_or_else(|_| HeaderValue::from_static("DPoP error=\"invalid_dpop_proof\"")),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// No bearer credential: 401 with the bare challenge (RFC 6750 §3.1: no error code).
    pub fn missing(&self) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        self.challenges(&mut response, &self.missing);
        response
    }

    /// A bearer credential that failed: 401 `invalid_token` with a JSON body saying why.
    /// `description` comes from [`AuthError`](crate::verify::AuthError) and never holds the token.
    pub fn invalid(&self, description: &str) -> Response<Body> {
        let body =
            serde_json::json!({ "error": "invalid_token", "error_description": description });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        self.challenges(&mut response, &self.invalid);
        let headers = response.headers_mut();
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
