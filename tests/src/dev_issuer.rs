//! The development issuer example (`dev-issuer`) and a products server that trusts it, both
//! started in this process on free ports, and a client of the issuer's `/login` and `/refresh`.

use std::path::PathBuf;

use mcp_rbac_examples::dev_issuer::{self, ServeArgs};
use mcp_rbac_examples::products;
use serde_json::{json, Value};

/// The users file the example ships (alice: admin, bob: user, carol: guest; each password is
/// `<name>-password`).
pub fn example_users_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/dev-issuer-users.toml")
}

/// A dev issuer, and a stateless products server started with `--issuer <it> --audience <its own
/// resource URL>`, so the server finds the issuer's keys by RFC 8414 discovery.
pub struct IssuerAndServer {
    /// The issuer.
    pub issuer: dev_issuer::Running,
    /// The products server.
    pub products: products::Running,
}

impl IssuerAndServer {
    /// Starts both. The products server's port is picked first, since its resource URL is the
    /// audience the issuer must put in its tokens before the server exists.
    pub async fn start() -> Self {
        let port = free_port();
        let resource = format!("http://127.0.0.1:{port}/mcp");
        let issuer = dev_issuer::start(ServeArgs::for_test(example_users_file(), &resource))
            .await
            .expect("dev issuer starts");
        let products = crate::fixtures::products(|cli| {
            cli.port = port;
            cli.issuer = Some(issuer.issuer.clone());
            cli.audience = Some(resource);
        })
        .await;
        IssuerAndServer { issuer, products }
    }

    /// A client of the issuer.
    pub fn client(&self) -> IssuerClient {
        IssuerClient::new(&self.issuer.issuer)
    }
}

/// A free loopback port (bound, then released for the caller to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One answer of the issuer.
#[derive(Debug)]
pub struct IssuerReply {
    /// HTTP status.
    pub status: u16,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// The JSON body (`Null` if it was not JSON).
    pub json: Value,
    /// The raw body.
    pub raw: String,
}

impl IssuerReply {
    /// A string field of the body; panics with the body when absent.
    pub fn field(&self, name: &str) -> String {
        self.json[name]
            .as_str()
            .unwrap_or_else(|| panic!("no `{name}` in {} {}", self.status, self.raw))
            .to_owned()
    }
}

/// A client of the issuer's endpoints.
pub struct IssuerClient {
    http: reqwest::Client,
    base: String,
}

impl IssuerClient {
    /// A client of the issuer at `base`.
    pub fn new(base: &str) -> Self {
        IssuerClient {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// A POST of raw `body` with `content_type` to `path`.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> IssuerReply {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        reply(request.send().await.expect("issuer answers")).await
    }

    /// A GET of `path`.
    pub async fn get(&self, path: &str) -> IssuerReply {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("issuer answers");
        reply(response).await
    }

    /// `POST /login`.
    pub async fn login(&self, username: &str, password: &str) -> IssuerReply {
        let body = json!({"username": username, "password": password}).to_string();
        self.post_raw("/login", "application/json", body.into_bytes())
            .await
    }

    /// `POST /refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> IssuerReply {
        let body = json!({ "refresh_token": refresh_token }).to_string();
        self.post_raw("/refresh", "application/json", body.into_bytes())
            .await
    }
}

async fn reply(response: reqwest::Response) -> IssuerReply {
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let raw = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&raw).unwrap_or(Value::Null);
    IssuerReply {
        status,
        cache_control,
        json,
        raw,
    }
}
