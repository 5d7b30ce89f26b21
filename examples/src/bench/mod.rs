//! The peer-benchmark server (docs/benchmarks.md, "The peer harness"): one tool, `delete_product(id)`,
//! served at `/mcp` in stateless JSON mode, with the mcp-rbac layer and check (`--auth`) or as
//! plain rmcp with no layer, so the two differ only by the authorization work.

mod config;
mod servers;

pub use config::{AuthConfig, BenchConfig, ConfigError};
pub use servers::{Authorized, Plain};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use mcp_rbac::bearer::BearerAuthLayer;
use mcp_rbac::metadata::ProtectedResource;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tower::Layer;

/// The axum app for `config`: `/mcp` with or without the bearer layer.
pub fn app(config: &BenchConfig) -> Result<Router, ConfigError> {
    let http = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(["127.0.0.1", "localhost"]);
    let sessions = Arc::new(LocalSessionManager::default());
    let Some(auth) = &config.auth else {
        let mcp = StreamableHttpService::new(|| Ok(Plain), sessions, http);
        return Ok(Router::new().route_service("/mcp", mcp));
    };
    let resource = ProtectedResource::new(format!("http://127.0.0.1:{}/mcp", config.port))
        .map_err(|e| ConfigError::Resource(e.to_string()))?
        .authorization_server(auth.issuer.clone());
    let verifier = auth.verifier()?;
    let mcp = StreamableHttpService::new(|| Ok(Authorized), sessions, http);
    let layer = BearerAuthLayer::new(Arc::new(verifier), &resource);
    Ok(Router::new()
        .route_service("/mcp", layer.layer(mcp))
        .merge(resource.router()))
}

/// Serves `config` on 127.0.0.1 until the process ends.
pub async fn serve(config: BenchConfig) -> Result<(), Box<dyn std::error::Error>> {
    let app = app(&config)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
