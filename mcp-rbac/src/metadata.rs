//! RFC 9728 protected resource metadata: how an MCP client finds the authorization server.

use axum::routing::get;
use axum::{Json, Router};
use http::Uri;

/// This server as an OAuth protected resource.
#[derive(Clone, Debug)]
pub struct ProtectedResource {
    resource: String,
    origin: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
}

/// Why a resource URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource URL `{0}` must be an absolute http(s) URL without query or fragment")]
pub struct ResourceUrlError(String);

impl ProtectedResource {
    /// The resource at its canonical URL (e.g. `https://mcp.example.com/mcp`), which is also the
    /// audience its tokens must carry.
    pub fn new(resource: impl Into<String>) -> Result<Self, ResourceUrlError> {
        let resource = resource.into();
        let uri: Uri = resource
            .parse()
            .map_err(|_| ResourceUrlError(resource.clone()))?;
        let scheme = uri.scheme_str().unwrap_or_default();
        let authority = uri.authority().map(|a| a.as_str().to_owned());
        let (true, Some(authority), None, false) = (
            matches!(scheme, "http" | "https"),
            authority,
            uri.query(),
            resource.contains('#'),
        ) else {
            return Err(ResourceUrlError(resource));
        };
        let path = uri.path().trim_end_matches('/').to_owned();
        Ok(ProtectedResource {
            origin: format!("{scheme}://{authority}"),
            path,
            resource,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
        })
    }

    /// An authorization server (issuer URL) clients may get tokens from.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Scopes this resource understands.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes_supported
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The canonical resource URL.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the metadata is served: the path-inserted form of RFC 9728 §3.1
    /// (`https://host/.well-known/oauth-protected-resource/mcp`).
    pub fn metadata_url(&self) -> String {
        format!("{}{}", self.origin, self.metadata_path())
    }

    fn metadata_path(&self) -> String {
        format!("/.well-known/oauth-protected-resource{}", self.path)
    }

    /// The metadata document.
    pub fn document(&self) -> serde_json::Value {
        serde_json::json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "scopes_supported": self.scopes_supported,
            "bearer_methods_supported": ["header"],
        })
    }

    /// Routes serving the document at the root and the path-inserted well-known locations,
    /// unauthenticated (a client reads them before it has a token).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let document = self.document();
        let handler = move || {
            let document = document.clone();
            async move { Json(document) }
        };
        let mut router = Router::new().route(
            "/.well-known/oauth-protected-resource",
            get(handler.clone()),
        );
        if !self.path.is_empty() {
            router = router.route(&self.metadata_path(), get(handler));
        }
        router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_path() {
        let r = ProtectedResource::new("http://127.0.0.1:8000/mcp").unwrap();
        assert_eq!(
            r.metadata_url(),
            "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
        );
        let root = ProtectedResource::new("https://mcp.example").unwrap();
        assert_eq!(
            root.metadata_url(),
            "https://mcp.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "/mcp",
            "ftp://x/mcp",
            "http://x/mcp?a=1",
            "http://x/mcp#f",
            "not a url",
        ] {
            assert!(ProtectedResource::new(bad).is_err(), "{bad}");
        }
    }
}
