//! The builder's settings from `MCP_RBAC_*` environment variables (twelve-factor configuration:
//! a container changes its issuer or roles without a code change).

use std::path::PathBuf;

use super::{Issuer, PolicySource, ServerBuilder, ServerError};
use crate::guard::Listing;
use crate::ClaimsMapping;

/// Every variable [`ServerBuilder::with_env`] reads, with what it sets.
pub const ENV_VARIABLES: &[(&str, &str)] = &[
    (
        "MCP_RBAC_RESOURCE_URL",
        "the resource URL: audience, metadata `resource`, allowed host, MCP path",
    ),
    (
        "MCP_RBAC_BIND",
        "the address to listen on (default: the resource URL's host and port)",
    ),
    (
        "MCP_RBAC_ISSUER",
        "an external issuer's URL (keys by discovery unless MCP_RBAC_JWKS_URL), or `development`",
    ),
    ("MCP_RBAC_JWKS_URL", "the external issuer's JWKS URL"),
    (
        "MCP_RBAC_AUDIENCE",
        "the audience tokens carry, when it is not the resource URL",
    ),
    (
        "MCP_RBAC_CLAIMS",
        "the claims preset: default, keycloak:<client>, entra_id, auth0, okta, cognito",
    ),
    ("MCP_RBAC_ROLE_POLICY", "a TOML role policy file"),
    (
        "MCP_RBAC_LIST_MODE",
        "hide (default) or show what the caller may not use",
    ),
    (
        "MCP_RBAC_STEP_UP",
        "true: scope challenges (HTTP 403 insufficient_scope)",
    ),
    ("MCP_RBAC_STATELESS", "true: no sessions, JSON answers"),
    (
        "MCP_RBAC_REDIS",
        "a Redis URL: DPoP replay, revocations, session owners shared by replicas (feature redis)",
    ),
];

/// The claims presets `MCP_RBAC_CLAIMS` names (`keycloak` takes `:<client>`).
pub const PRESETS: &[&str] = &[
    "default",
    "keycloak:<client>",
    "entra_id",
    "auth0",
    "okta",
    "cognito",
];

pub(super) fn apply(
    mut builder: ServerBuilder,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerBuilder, ServerError> {
    let invalid = |name: &str, value: &str, expected: &str| {
        ServerError::Config(format!("{name}=`{value}`: expected {expected}"))
    };
    if let Some(url) = var("MCP_RBAC_RESOURCE_URL") {
        builder.resource_url = url;
    }
    if let Some(bind) = var("MCP_RBAC_BIND") {
        let addr = bind
            .parse()
            .map_err(|_| invalid("MCP_RBAC_BIND", &bind, "an address like 0.0.0.0:8000"))?;
        builder.bind = Some(addr);
    }
    match (var("MCP_RBAC_ISSUER"), var("MCP_RBAC_JWKS_URL")) {
        (None, Some(_)) => {
            return Err(ServerError::Config(
                "MCP_RBAC_JWKS_URL is set without MCP_RBAC_ISSUER".to_owned(),
            ))
        }
        (None, None) => {}
        (Some(issuer), jwks) => builder.issuer = Some(issuer_of(issuer, jwks)?),
    }
    if let Some(audience) = var("MCP_RBAC_AUDIENCE") {
        builder.audience = Some(audience);
    }
    if let Some(preset) = var("MCP_RBAC_CLAIMS") {
        builder.claims = preset_of(&preset).ok_or_else(|| {
            invalid(
                "MCP_RBAC_CLAIMS",
                &preset,
                &format!("one of {}", PRESETS.join(", ")),
            )
        })?;
    }
    if let Some(path) = var("MCP_RBAC_ROLE_POLICY") {
        builder.role_policy = Some(PolicySource::File(PathBuf::from(path)));
    }
    if let Some(mode) = var("MCP_RBAC_LIST_MODE") {
        let base = builder.listing.unwrap_or_default();
        let listing = match mode.as_str() {
            "hide" => Listing::hide(),
            "show" => Listing::show(),
            _ => return Err(invalid("MCP_RBAC_LIST_MODE", &mode, "hide or show")),
        };
        builder.listing = Some(listing.with_requirement_meta(base.requirement_meta()));
    }
    if let Some(on) = var("MCP_RBAC_STEP_UP") {
        builder.step_up = flag("MCP_RBAC_STEP_UP", &on)?;
    }
    if let Some(on) = var("MCP_RBAC_STATELESS") {
        builder.stateless = flag("MCP_RBAC_STATELESS", &on)?;
    }
    if let Some(url) = var("MCP_RBAC_REDIS") {
        #[cfg(feature = "redis")]
        {
            builder = builder.redis(url);
        }
        #[cfg(not(feature = "redis"))]
        return Err(ServerError::Config(format!(
            "MCP_RBAC_REDIS=`{url}` needs mcp-rbac's `redis` feature"
        )));
    }
    Ok(builder)
}

fn issuer_of(issuer: String, jwks: Option<String>) -> Result<Issuer, ServerError> {
    if issuer == "development" {
        #[cfg(feature = "testkit")]
        return match jwks {
            None => Ok(Issuer::development()),
            Some(_) => Err(ServerError::Config(
                "MCP_RBAC_JWKS_URL is set with MCP_RBAC_ISSUER=development".to_owned(),
            )),
        };
        #[cfg(not(feature = "testkit"))]
        return Err(ServerError::Config(
            "MCP_RBAC_ISSUER=development needs mcp-rbac's `testkit` feature".to_owned(),
        ));
    }
    #[cfg(feature = "jwks")]
    {
        Ok(match jwks {
            Some(jwks_url) => Issuer::jwks(issuer, jwks_url),
            None => Issuer::discover(issuer),
        })
    }
    #[cfg(not(feature = "jwks"))]
    {
        let _ = jwks;
        Err(ServerError::Config(format!(
            "MCP_RBAC_ISSUER=`{issuer}` needs mcp-rbac's `jwks` feature"
        )))
    }
}

fn preset_of(name: &str) -> Option<ClaimsMapping> {
    Some(match name {
        "default" => ClaimsMapping::default(),
        "entra_id" => ClaimsMapping::entra_id(),
        "auth0" => ClaimsMapping::auth0(),
        "okta" => ClaimsMapping::okta(),
        "cognito" => ClaimsMapping::cognito(),
        _ => match name.strip_prefix("keycloak:") {
            Some(client) if !client.is_empty() => ClaimsMapping::keycloak(client),
            _ => return None,
        },
    })
}

fn flag(name: &str, value: &str) -> Result<bool, ServerError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ServerError::Config(format!(
            "{name}=`{value}`: expected true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<ServerBuilder, ServerError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServerBuilder::new("http://127.0.0.1:8000/mcp")
            .with_vars(move |name| vars.get(name).cloned())
    }

    #[test]
    fn variables_override_the_code() {
        let builder = with(&[
            ("MCP_RBAC_RESOURCE_URL", "https://mcp.example.com/api/mcp"),
            ("MCP_RBAC_BIND", "0.0.0.0:9000"),
            ("MCP_RBAC_ISSUER", "https://login.example.com"),
            ("MCP_RBAC_AUDIENCE", "api://mcp"),
            ("MCP_RBAC_LIST_MODE", "show"),
            ("MCP_RBAC_STEP_UP", "true"),
            ("MCP_RBAC_STATELESS", "1"),
            ("MCP_RBAC_ROLE_POLICY", "roles.toml"),
        ])
        .unwrap();
        assert_eq!(builder.resource_url, "https://mcp.example.com/api/mcp");
        assert_eq!(builder.bind, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(
            format!("{:?}", builder.issuer.unwrap()),
            "Issuer::discover(\"https://login.example.com\")"
        );
        assert_eq!(builder.audience.as_deref(), Some("api://mcp"));
        assert_eq!(builder.listing, Some(Listing::show()));
        assert!(builder.step_up && builder.stateless);
        assert!(
            matches!(builder.role_policy, Some(PolicySource::File(p)) if p.as_os_str() == "roles.toml")
        );
    }

    #[test]
    fn no_variables_change_nothing() {
        let builder = with(&[]).unwrap();
        assert_eq!(builder.resource_url, "http://127.0.0.1:8000/mcp");
        assert!(builder.issuer.is_none() && builder.bind.is_none() && !builder.stateless);
    }

    #[test]
    fn a_jwks_url_picks_the_jwks_issuer() {
        let builder = with(&[
            ("MCP_RBAC_ISSUER", "https://login.example.com"),
            ("MCP_RBAC_JWKS_URL", "https://login.example.com/keys"),
        ])
        .unwrap();
        assert_eq!(
            format!("{:?}", builder.issuer.unwrap()),
            "Issuer::jwks(\"https://login.example.com\", \"https://login.example.com/keys\")"
        );
    }

    #[test]
    fn unusable_values_name_the_variable() {
        for (name, value) in [
            ("MCP_RBAC_BIND", "port 80"),
            ("MCP_RBAC_LIST_MODE", "all"),
            ("MCP_RBAC_STEP_UP", "yes please"),
            ("MCP_RBAC_STATELESS", "maybe"),
            ("MCP_RBAC_CLAIMS", "keycloak:"),
            ("MCP_RBAC_CLAIMS", "google"),
            ("MCP_RBAC_JWKS_URL", "https://x/keys"),
        ] {
            let error = with(&[(name, value)]).err().expect(name).to_string();
            assert!(error.contains(name), "{name}: {error}");
        }
    }

    #[test]
    fn every_preset_is_known() {
        for preset in [
            "default",
            "keycloak:mcp",
            "entra_id",
            "auth0",
            "okta",
            "cognito",
        ] {
            assert!(preset_of(preset).is_some(), "{preset}");
        }
    }

    #[test]
    fn the_readme_documents_every_variable() {
        let readme = include_str!("../../../README.md");
        for (name, _) in ENV_VARIABLES {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README's variable table has no row for {name}"
            );
        }
    }

    #[test]
    fn blank_variables_count_as_unset() {
        let builder = with(&[("MCP_RBAC_ISSUER", "  "), ("MCP_RBAC_STATELESS", "")]).unwrap();
        assert!(builder.issuer.is_none() && !builder.stateless);
    }
}
