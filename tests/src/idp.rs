//! Real identity providers for the end-to-end tests, run as child processes: `oauth2-mock-server`
//! (an OIDC issuer whose tokens carry the claims a test asks for) and `oidc-provider` (RFC 8707
//! resource-bound `at+jwt` access tokens through the client credentials grant).
//!
//! Both are npm packages, run by a Node 22 that is itself an npm package, all from the npm project
//! in `tests/idp/` (launchers `mock-server.mjs` and `oidc-provider.mjs`), which the first test
//! that needs it installs (`npm ci`, see [`crate::kits`]). The same project holds a DPoP client
//! built on `oauth4webapi` ([`OidcProvider::dpop_client`], `dpop-client.mjs`).
//!
//! Each provider listens on a free loopback port, is waited for until its discovery document
//! answers, and is killed when its handle drops (and exits by itself when the test process goes
//! away, since its stdin closes).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::time::Instant;

/// How long a provider may take to answer its discovery document.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The npm project holding the providers and their launchers.
pub fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp")
}

/// The Node 22 binary of the npm project, installed on first use (see [`crate::kits`]); panics
/// with the reason when it cannot be installed.
pub fn node() -> PathBuf {
    crate::kits::npm_project(
        &idp_dir(),
        &[
            "node/bin/node",
            "oauth2-mock-server/package.json",
            "oauth4webapi/package.json",
            "oidc-provider/package.json",
        ],
    )
    .join("node/bin/node")
}

/// A launcher script running under Node, killed on drop.
struct NodeProcess {
    name: &'static str,
    child: Child,
    stderr: Arc<Mutex<String>>,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    /// Held open: the launcher exits when it closes.
    _stdin: ChildStdin,
}

impl NodeProcess {
    /// Starts `script` with `args` and reads the JSON line it prints once it listens.
    async fn start(name: &'static str, script: &str, args: &[&str]) -> (NodeProcess, Value) {
        // First, as it may install the kit: the start timeout counts from the launch.
        let node = node();
        let deadline = Instant::now() + START_TIMEOUT;
        let mut child = Command::new(node)
            .arg(script)
            .args(args)
            .current_dir(idp_dir())
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({script}): {e}"));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf).await {
                let mut text = sink.lock().unwrap_or_else(PoisonError::into_inner);
                if text.len() < 64 * 1024 {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let mut process = NodeProcess {
            name,
            child,
            stderr,
            stderr_task: Some(stderr_task),
            _stdin: stdin,
        };

        let mut lines = BufReader::new(stdout).lines();
        let ready = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => serde_json::from_str::<Value>(&line).ok(),
            Ok(_) => None,
            Err(_) => panic!(
                "{}",
                process.failure("did not start listening in time").await
            ),
        };
        let Some(ready) = ready else {
            let status =
                match tokio::time::timeout(Duration::from_secs(5), process.child.wait()).await {
                    Ok(Ok(status)) => status.to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "closed its stdout".to_owned(),
                };
            let what = format!("exited before listening ({status})");
            panic!("{}", process.failure(&what).await);
        };
        // Nothing more is expected on stdout; keep draining it so the launcher never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let issuer = ready["issuer"].as_str().unwrap_or_default().to_owned();
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let http = reqwest::Client::new();
        loop {
            if let Ok(response) = http.get(&discovery).send().await {
                if response.status().is_success() {
                    if let Ok(doc) = response.json::<Value>().await {
                        if doc["issuer"] == issuer.as_str() {
                            break;
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                let what = format!("{discovery} did not answer its issuer `{issuer}`");
                panic!("{}", process.failure(&what).await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (process, ready)
    }

    /// Stops the launcher and describes why it failed, with what it wrote on stderr.
    async fn failure(&mut self, what: &str) -> String {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        format!(
            "{} {what} (within {} s). Its stderr:\n{}",
            self.name,
            START_TIMEOUT.as_secs(),
            self.stderr()
        )
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // By PID (SIGKILL); tokio reaps the child.
        let _ = self.child.start_kill();
    }
}

/// `oauth2-mock-server` (npm): an OIDC issuer at `http://localhost:<port>` signing RS256 tokens,
/// JWKS at `/jwks`, discovery at `/.well-known/openid-configuration`.
pub struct MockServer {
    process: NodeProcess,
    /// `http://localhost:<port>` (the library names its issuer so even when bound to 127.0.0.1).
    pub issuer: String,
    http: reqwest::Client,
}

impl MockServer {
    /// Starts one on a free loopback port and waits for its discovery document.
    pub async fn start() -> MockServer {
        let (process, ready) =
            NodeProcess::start("oauth2-mock-server", "mock-server.mjs", &["0"]).await;
        MockServer {
            process,
            issuer: ready["issuer"].as_str().unwrap_or_default().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Its JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// An access token from its token endpoint (client credentials grant). `fields` are form
    /// fields the launcher copies into the token: `aud`, `sub`, `scope`, and the space-separated
    /// lists `roles` and `permissions` (as arrays).
    pub async fn token(&self, fields: &[(&str, &str)]) -> String {
        let body = form(&[&[("grant_type", "client_credentials")], fields].concat());
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("oauth2-mock-server token endpoint");
        let status = response.status();
        let json: Value = response.json().await.unwrap_or_default();
        match json["access_token"].as_str() {
            Some(token) if status.is_success() => token.to_owned(),
            _ => panic!(
                "oauth2-mock-server issued no token: HTTP {status}, error {}; stderr:\n{}",
                json["error"],
                self.process.stderr()
            ),
        }
    }

    /// Rotates its signing key: a new RS256 key is published beside the old ones and signs every
    /// later token. Returns the new key's `kid`.
    pub async fn rotate(&self) -> String {
        let json: Value = self
            .http
            .post(format!("{}/test/rotate", self.issuer))
            .send()
            .await
            .expect("oauth2-mock-server rotate route")
            .json()
            .await
            .expect("rotate answer");
        json["kid"].as_str().expect("new kid").to_owned()
    }
}

/// `oidc-provider` (npm): an authorization server at `http://127.0.0.1:<port>` issuing RFC 8707
/// resource-bound JWT access tokens (`typ: at+jwt`) to confidential clients through the client
/// credentials grant, and user tokens through a test grant ([`user_token`](Self::user_token)).
/// Any absolute resource URL is a resource server with the scopes
/// `Guest.Read User.Read User.Write Admin.Read Admin.Write` and that URL as audience. Its clients
/// are `mcp-rbac-tests` ([`client_id`](Self::client_id)) and [`AGENT_CLIENT`].
pub struct OidcProvider {
    process: NodeProcess,
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
    /// The token endpoint, from discovery.
    pub token_endpoint: String,
    /// The RFC 7662 introspection endpoint, from discovery.
    pub introspection_endpoint: String,
    client_id: String,
    client_secret: String,
    /// Every registered client's id and secret.
    clients: std::collections::HashMap<String, String>,
    http: reqwest::Client,
}

/// The second client `oidc-provider.mjs` registers, standing for an AI agent a deployment caps.
pub const AGENT_CLIENT: &str = "readonly-agent";

impl OidcProvider {
    /// Starts one whose access tokens are signed with `alg` (`ES256` or `RS256`; its JWKS has a key
    /// of each) and waits for its discovery document.
    pub async fn start(alg: &str) -> OidcProvider {
        Self::start_issuing(alg, "jwt").await
    }

    /// Starts one whose access tokens are opaque strings, checked at its RFC 7662
    /// [`introspection_endpoint`](Self::introspection_endpoint) with this client's credentials.
    pub async fn start_opaque() -> OidcProvider {
        Self::start_issuing("ES256", "opaque").await
    }

    async fn start_issuing(alg: &str, format: &str) -> OidcProvider {
        let (process, ready) =
            NodeProcess::start("oidc-provider", "oidc-provider.mjs", &["0", alg, format]).await;
        let issuer = ready["issuer"].as_str().unwrap_or_default().to_owned();
        let http = reqwest::Client::new();
        let discovery: Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("oidc-provider discovery")
            .json()
            .await
            .expect("oidc-provider discovery document");
        OidcProvider {
            issuer,
            token_endpoint: discovery["token_endpoint"]
                .as_str()
                .expect("token_endpoint")
                .to_owned(),
            introspection_endpoint: discovery["introspection_endpoint"]
                .as_str()
                .expect("introspection_endpoint")
                .to_owned(),
            client_id: ready["client_id"].as_str().unwrap_or_default().to_owned(),
            client_secret: ready["client_secret"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            clients: ready["clients"]
                .as_object()
                .map(|clients| {
                    clients
                        .iter()
                        .map(|(id, secret)| {
                            (id.clone(), secret.as_str().unwrap_or_default().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            process,
            http,
        }
    }

    /// The client's id (the `sub` and `client_id` of its tokens).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client's secret (what a resource server authenticates to introspection with).
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// A client credentials access token for `resource` with `scope`, or the HTTP status and
    /// error body the token endpoint answered.
    pub async fn client_credentials(
        &self,
        resource: &str,
        scope: &str,
    ) -> Result<String, (u16, Value)> {
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]);
        self.token_request(&self.client_id, &self.client_secret, body)
            .await
    }

    /// An access token for user `username` holding `roles` (space-separated, in the `roles`
    /// claim), signed in through client `client_id` (one of the registered clients): `sub` is the
    /// user, `client_id` the client. With `actor` (`(sub, client_id)`), the token also carries
    /// `act: {"sub", "client_id"}`, as after an RFC 8693 token exchange.
    pub async fn user_token(
        &self,
        client_id: &str,
        username: &str,
        roles: &str,
        resource: &str,
        actor: Option<(&str, &str)>,
    ) -> Result<String, (u16, Value)> {
        let secret = self
            .clients
            .get(client_id)
            .unwrap_or_else(|| panic!("oidc-provider registers no client {client_id}"));
        let mut fields = vec![
            (
                "grant_type",
                "urn:mcp-rbac:params:oauth:grant-type:test-user",
            ),
            ("username", username),
            ("roles", roles),
            ("resource", resource),
        ];
        if let Some((sub, client)) = actor {
            fields.push(("actor", sub));
            fields.push(("actor_client_id", client));
        }
        self.token_request(client_id, secret, form(&fields)).await
    }

    async fn token_request(
        &self,
        client_id: &str,
        secret: &str,
        body: String,
    ) -> Result<String, (u16, Value)> {
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(client_id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "oidc-provider token endpoint: {e}; stderr:\n{}",
                    self.process.stderr()
                )
            });
        let status = response.status().as_u16();
        let json: Value = response.json().await.unwrap_or_default();
        match json["access_token"].as_str() {
            Some(token) if status == 200 => Ok(token.to_owned()),
            _ => Err((status, json)),
        }
    }
}

/// How long [`OidcProvider::dpop_client`] may take, token and requests included.
pub const DPOP_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

impl OidcProvider {
    /// Runs `dpop-client.mjs`: an `oauth4webapi` client of this provider with a fresh ES256 DPoP
    /// key obtains a DPoP-bound client credentials token for `resource` (the MCP endpoint URL)
    /// with `scope`, then sends `initialize`, `notifications/initialized` and each of `requests`
    /// (JSON-RPC `{"method", "params"}`) to `resource` with a proof per request, and last the
    /// same token as `Bearer` without a proof. Returns the JSON lines it printed (steps `token`,
    /// `request`, `bearer`; see the script); panics with its output when it fails.
    pub async fn dpop_client(&self, resource: &str, scope: &str, requests: &[Value]) -> Vec<Value> {
        use tokio::io::AsyncWriteExt;
        let config = serde_json::json!({
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "resource": resource,
            "scope": scope,
            "requests": requests,
        });
        let mut child = Command::new(node())
            .arg("dpop-client.mjs")
            .current_dir(idp_dir())
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dpop-client.mjs: {e}"));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(config.to_string().as_bytes())
            .await
            .expect("dpop-client.mjs stdin");
        // Closed: the script reads its configuration to the end.
        drop(stdin);
        let output = tokio::time::timeout(DPOP_CLIENT_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "dpop-client.mjs did not finish within {} s",
                    DPOP_CLIENT_TIMEOUT.as_secs()
                )
            })
            .expect("dpop-client.mjs output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<Value> = stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("dpop-client.mjs printed non-JSON ({e}): {line}"))
            })
            .collect();
        assert!(
            output.status.success(),
            "dpop-client.mjs failed ({}): {stdout}\nits stderr:\n{}\noidc-provider's stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.process.stderr()
        );
        lines
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The decoded header and payload of a JWT (no verification), for assertions.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let mut parts = token.split('.').map(|p| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .expect("base64url JWT segment");
        serde_json::from_slice::<Value>(&bytes).expect("JSON JWT segment")
    });
    let header = parts.next().expect("header");
    let payload = parts.next().expect("payload");
    (header, payload)
}

/// `token` with its payload replaced by `payload` and its signature kept (so it no longer verifies).
pub fn with_payload(token: &str, payload: &Value) -> String {
    use base64::Engine;
    let mut parts = token.split('.');
    let header = parts.next().expect("header");
    let _ = parts.next();
    let signature = parts.next().expect("signature");
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes());
    format!("{header}.{payload}.{signature}")
}
