//! RFC 9728 protected resource metadata: how an MCP client finds the authorization server.

use std::collections::BTreeSet;

use axum::routing::get;
use axum::{Json, Router};
use http::Uri;

use crate::guard::ResourceGuard;
use crate::requirement::Access;
use crate::Manifest;

/// This server as an OAuth protected resource.
#[derive(Clone, Debug)]
pub struct ProtectedResource {
    resource: String,
    origin: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    /// With DPoP on: the accepted proof algorithms, and whether bound tokens are required.
    dpop: Option<(Vec<String>, bool)>,
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
            dpop: None,
        })
    }

    /// An authorization server (issuer URL) clients may get tokens from.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Scopes this resource understands (added to those already listed; duplicates dropped).
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes_supported.contains(&scope) {
                self.scopes_supported.push(scope);
            }
        }
        self
    }

    /// Adds every permission the tools and prompts of `manifest` require (see
    /// [`manifest_scopes`]), so `scopes_supported` follows the code instead of a hand-kept list:
    ///
    /// ```
    /// use mcp_rbac::metadata::ProtectedResource;
    /// use mcp_rbac::Manifest;
    ///
    /// let mut manifest = Manifest::default();
    /// manifest.tools.insert("delete_product".into(), "Admin.Write".into());
    /// manifest.tools.insert("create_product".into(), "any(User.Write, Admin.Write)".into());
    /// manifest.tools.insert("whoami".into(), "public".into());
    /// let resource = ProtectedResource::new("https://mcp.example/mcp").unwrap()
    ///     .scopes_from_manifest(&manifest);
    /// assert_eq!(resource.scopes_supported(), ["Admin.Write", "User.Write"]);
    /// ```
    pub fn scopes_from_manifest(self, manifest: &Manifest) -> Self {
        self.scopes(manifest_scopes(manifest))
    }

    /// Adds every permission the resources of `guard` require.
    pub fn scopes_from_resources(self, guard: &ResourceGuard) -> Self {
        self.scopes(resource_scopes(guard))
    }

    /// Lists DPoP (RFC 9449 §5.1) in the document: `dpop_signing_alg_values_supported`, the
    /// proof algorithms accepted (e.g. `Dpop::algorithm_names` of the bearer layer's settings),
    /// and `dpop_bound_access_tokens_required`.
    pub fn dpop(
        mut self,
        algorithms: impl IntoIterator<Item = impl Into<String>>,
        required: bool,
    ) -> Self {
        self.dpop = Some((algorithms.into_iter().map(Into::into).collect(), required));
        self
    }

    /// The scopes listed so far.
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
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
        let mut document = serde_json::json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "scopes_supported": self.scopes_supported,
            "bearer_methods_supported": ["header"],
        });
        if let (Some((algorithms, required)), Some(object)) = (&self.dpop, document.as_object_mut())
        {
            object.insert(
                "dpop_signing_alg_values_supported".into(),
                algorithms[..].into(),
            );
            object.insert(
                "dpop_bound_access_tokens_required".into(),
                (*required).into(),
            );
        }
        document
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

/// Every permission the tools and prompts of `manifest` require, sorted, without duplicates:
/// the scopes a client may need (public and unguarded items need none). Names that are not
/// RFC 6749 scope-tokens are left out.
pub fn manifest_scopes(manifest: &Manifest) -> Vec<String> {
    let rules = manifest
        .tools
        .values()
        .chain(manifest.prompts.values())
        .filter(|rule| rule.as_str() != "unguarded")
        .filter_map(|rule| rule.parse::<Access>().ok());
    permission_names(rules)
}

/// Every permission the resources of `guard` require, as [`manifest_scopes`] does for tools.
pub(crate) fn resource_scopes(guard: &ResourceGuard) -> Vec<String> {
    permission_names(guard.rules().into_iter().map(|(_, access)| access.clone()))
}

fn permission_names(rules: impl Iterator<Item = Access>) -> Vec<String> {
    let mut names = BTreeSet::new();
    for access in rules {
        if let Access::Requires(req) = access {
            names.extend(req.permissions().into_iter().map(str::to_owned));
        }
    }
    names.into_iter().filter(|n| is_scope_token(n)).collect()
}

/// RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
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

    #[test]
    fn manifest_scopes_are_the_required_permissions() {
        let mut manifest = Manifest::default();
        for (tool, rule) in [
            ("a", "all(B.x, any(A.x, C.x))"),
            ("b", "public"),
            ("c", "unguarded"),
            ("d", "A.x"),
        ] {
            manifest.tools.insert(tool.into(), rule.into());
        }
        manifest.prompts.insert("p".into(), "Prompt.Use".into());
        assert_eq!(
            manifest_scopes(&manifest),
            ["A.x", "B.x", "C.x", "Prompt.Use"]
        );
    }

    #[test]
    fn scopes_are_listed_once() {
        let r = ProtectedResource::new("https://x/mcp")
            .unwrap()
            .scopes(["A", "B"])
            .scopes(["B", "C"]);
        assert_eq!(r.scopes_supported(), ["A", "B", "C"]);
        assert_eq!(
            r.document()["scopes_supported"],
            serde_json::json!(["A", "B", "C"])
        );
    }

    #[test]
    fn scope_tokens_exclude_space_quote_backslash_and_non_ascii() {
        assert!(is_scope_token("Admin.Write"));
        assert!(is_scope_token("files:read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }
}
