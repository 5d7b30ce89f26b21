//! Support for the end-to-end tests: an MCP client that speaks raw JSON-RPC over HTTP (so every
//! status, header and error shape is visible); the shared fixtures (servers, a raw HTTP/1.1
//! connection, a controllable JWKS, the products permission table, polling, log capture) are in
//! [`fixtures`].

pub mod clients;
pub mod dev_issuer;
pub mod faults;
pub mod fixtures;
pub mod idp;
pub mod kits;
pub mod proxy;

pub use fixtures::{serve, serve_with, ServeOptions, Served};

use std::sync::Arc;

use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::TokenVerifier;
use serde_json::{json, Value};

/// The protocol version the tests speak.
pub const PROTOCOL: &str = "2025-11-25";

/// One HTTP answer, with the JSON-RPC message (or JSON body) parsed out of JSON or SSE.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The JSON body, or the JSON-RPC response found in an SSE stream; `Null` if none.
    pub json: Value,
    /// The raw body.
    pub raw: String,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON-RPC `error` object, if any.
    pub fn rpc_error(&self) -> Option<&Value> {
        self.json.get("error")
    }

    /// The JSON-RPC `result` object, if any.
    pub fn result(&self) -> Option<&Value> {
        self.json.get("result")
    }
}

/// A raw MCP client for one endpoint and one (optional) bearer token.
#[derive(Clone)]
pub struct Mcp {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    session: Option<String>,
    protocol: String,
}

impl Mcp {
    /// A client of `url` sending `token` as a bearer credential.
    pub fn new(url: &str, token: Option<&str>) -> Self {
        Mcp {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: token.map(str::to_owned),
            session: None,
            protocol: PROTOCOL.to_owned(),
        }
    }

    /// This client sending `MCP-Protocol-Version: <version>` instead of [`PROTOCOL`].
    pub fn with_protocol(&self, version: &str) -> Self {
        Mcp {
            protocol: version.to_owned(),
            ..self.clone()
        }
    }

    /// The session id the server gave at `initialize`, if any.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// This client naming the session `session` (opened elsewhere, e.g. on another replica).
    pub fn in_session(&self, session: &str) -> Self {
        Mcp {
            session: Some(session.to_owned()),
            ..self.clone()
        }
    }

    /// This client with `token` instead of its own, in the same session.
    pub fn with_token(&self, token: &str) -> Self {
        Mcp {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// A `GET` (the server-to-client stream) or `DELETE` (ending the session) of the endpoint in
    /// this client's session; the status only (a stream is not read).
    pub async fn session_request(&self, method: reqwest::Method) -> u16 {
        let mut request = self
            .http
            .request(method, &self.url)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", &self.protocol);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        request
            .send()
            .await
            .expect("HTTP request")
            .status()
            .as_u16()
    }

    /// A POST of `body` with the given extra headers (raw values, so tests can send junk).
    pub async fn post_with(&self, body: &Value, headers: &[(&str, &[u8])]) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", &self.protocol)
            .body(body.to_string());
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
        }
        for (name, value) in headers {
            let value = http::HeaderValue::from_bytes(value).expect("test header value");
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = response.text().await.unwrap_or_default();
        let json = parse_body(&raw);
        Reply {
            status,
            headers,
            json,
            raw,
        }
    }

    /// A POST of `body`.
    pub async fn post(&self, body: &Value) -> Reply {
        self.post_with(body, &[]).await
    }

    /// `initialize` + `notifications/initialized`, keeping the session id if the server made one.
    pub async fn initialize(&mut self) -> Reply {
        let reply = self
            .post(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}))
            .await;
        if let Some(session) = reply.header("mcp-session-id") {
            self.session = Some(session.to_owned());
            let note = self
                .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            assert!(
                note.status < 300,
                "initialized notification: {}",
                note.status
            );
        }
        reply
    }

    /// `tools/call`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Reply {
        self.post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}))
            .await
    }

    /// `tools/list`.
    pub async fn list_tools(&self) -> Reply {
        self.post(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}))
            .await
    }

    /// `prompts/get`.
    pub async fn get_prompt(&self, name: &str, arguments: Value) -> Reply {
        self.post(&json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": name, "arguments": arguments}}))
            .await
    }

    /// `prompts/list`.
    pub async fn list_prompts(&self) -> Reply {
        self.post(&json!({"jsonrpc": "2.0", "id": 4, "method": "prompts/list", "params": {}}))
            .await
    }
}

/// A JSON body, or the first JSON-RPC response (a message with an `id` and a result or error)
/// among an SSE stream's `data:` lines.
fn parse_body(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(raw) {
        return v;
    }
    raw.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some() && (v.get("result").is_some() || v.get("error").is_some()))
        .unwrap_or(Value::Null)
}

/// Names in a `tools/list` or `prompts/list` result, sorted.
pub fn names(reply: &Reply, key: &str) -> Vec<String> {
    let mut names: Vec<String> = reply
        .result()
        .and_then(|r| r.get(key))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A development issuer for a server at `url`, and a verifier of its tokens (default claims mapping).
pub fn issuer_for(url: &str) -> (DevIssuer, Arc<dyn TokenVerifier>) {
    let issuer = DevIssuer::generate("https://issuer.test", url).expect("issuer");
    let verifier = issuer.verifier_builder().build().expect("verifier");
    (issuer, Arc::new(verifier))
}
