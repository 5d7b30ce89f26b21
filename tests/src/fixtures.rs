//! What the end-to-end tests share: the products server started with given flags, any rmcp
//! handler served behind the bearer layer, a raw HTTP/1.1 connection, a JWKS endpoint the test
//! controls, the products permission table read from the server's own manifest and role policy,
//! polling with a deadline, and a capture of every `tracing` event.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mcp_rbac::bearer::{BearerAuthLayer, StepUpLayer};
use mcp_rbac::metadata::ProtectedResource;
use mcp_rbac::verify::TokenVerifier;
use mcp_rbac::ClaimsMapping;
use mcp_rbac::{Access, Manifest, PermissionSet, RolePolicy};
use mcp_rbac_examples::products::{
    self, policy, Catalog, Cli, Counters, Products, Running, StartError,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::Layer;

// ---------------------------------------------------------------------------------------------
// The products server

/// The products server as its binary starts it, on a free loopback port, stateless unless
/// `configure` (which sees the command line after `--port 0 --stateless`) says otherwise.
pub async fn try_products(configure: impl FnOnce(&mut Cli)) -> Result<Running, StartError> {
    let mut cli = Cli::defaults();
    cli.port = 0;
    cli.stateless = true;
    configure(&mut cli);
    products::start(cli).await
}

/// [`try_products`] that must start.
pub async fn products(configure: impl FnOnce(&mut Cli)) -> Running {
    try_products(configure)
        .await
        .unwrap_or_else(|e| panic!("the products server did not start: {e}"))
}

/// The products server, stateless, trusting `issuer` (through discovery) with its own resource
/// URL `http://127.0.0.1:<port>/mcp` as the audience, `configure` setting the rest of its command
/// line. The audience names the port, so the port is probed before the server binds it; another
/// process may take it in between, and up to five ports are tried.
pub async fn products_trusting_issuer(issuer: &str, configure: impl Fn(&mut Cli)) -> Running {
    let mut last = None;
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let started = try_products(|cli| {
            cli.port = port;
            cli.issuer = Some(issuer.to_owned());
            cli.audience = Some(format!("http://127.0.0.1:{port}/mcp"));
            configure(cli);
        })
        .await;
        match started {
            Ok(running) => {
                assert_eq!(running.url, format!("http://127.0.0.1:{port}/mcp"));
                return running;
            }
            Err(e @ StartError::Bind { .. }) => last = Some(e),
            Err(e) => panic!("the products server refused {issuer}: {e}"),
        }
    }
    panic!("the products server found no free port: {last:?}");
}

/// The products server with its development issuer, stateless (`--port 0 --stateless`).
pub async fn products_stateless() -> Running {
    products(|_| {}).await
}

/// The products server with sessions and SSE answers (`--port 0`).
pub async fn products_with_sessions() -> Running {
    products(|cli| cli.stateless = false).await
}

/// This process's resident memory, in KiB (`VmRSS` of `/proc/self/status`).
pub fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// `http://<addr>/.well-known/oauth-protected-resource/mcp`: what every challenge of a server at
/// `addr` names.
pub fn metadata_url(addr: SocketAddr) -> String {
    format!("http://{addr}/.well-known/oauth-protected-resource/mcp")
}

// ---------------------------------------------------------------------------------------------
// Any handler, served

/// How [`serve_with`] serves a handler.
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// The bearer layer's verifier; `None` serves without authentication.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
    /// Sessions and SSE answers (rmcp's defaults) instead of stateless JSON.
    pub sessions: bool,
    /// `BearerAuthLayer::max_sessions`.
    pub max_sessions: Option<usize>,
    /// Step-up challenges for this manifest's tools (a `StepUpLayer` inside the bearer layer).
    pub step_up: Option<Manifest>,
    /// The metadata's `authorization_servers` entry.
    pub authorization_server: Option<String>,
}

impl ServeOptions {
    /// Stateless JSON behind the bearer layer with `verifier`.
    pub fn verified_by(verifier: Arc<dyn TokenVerifier>) -> Self {
        ServeOptions {
            verifier: Some(verifier),
            ..ServeOptions::default()
        }
    }
}

/// A server started by [`serve`] or [`serve_with`]; stops when dropped.
pub struct Served {
    /// `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    /// Where its challenges point.
    pub metadata_url: String,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Served {
    /// Stops accepting, lets open requests finish, and returns how serving ended.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.expect("the server task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves `factory`'s handler at `/mcp` on a free loopback port, stateless with JSON answers,
/// behind the bearer layer when `verifier` is given.
pub async fn serve<S, F>(factory: F, verifier: Option<Arc<dyn TokenVerifier>>) -> Served
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> S + Send + Sync + 'static,
{
    serve_with(
        factory,
        ServeOptions {
            verifier,
            ..ServeOptions::default()
        },
    )
    .await
}

/// Serves `factory`'s handler at `/mcp` on a free loopback port as `options` say, with the
/// RFC 9728 metadata routes when a verifier is given.
pub async fn serve_with<S, F>(factory: F, options: ServeOptions) -> Served
where
    S: rmcp::ServerHandler + Send + 'static,
    F: Fn() -> S + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("addr");
    let url = format!("http://{addr}/mcp");
    let stop = CancellationToken::new();
    let mut config =
        StreamableHttpServerConfig::default().with_cancellation_token(stop.child_token());
    if !options.sessions {
        config = config
            .with_legacy_session_mode(false)
            .with_json_response(true);
    }
    let mcp = StreamableHttpService::new(
        move || Ok(factory()),
        LocalSessionManager::default().into(),
        config,
    );
    let mut resource = ProtectedResource::new(url.clone()).expect("resource");
    if let Some(server) = &options.authorization_server {
        resource = resource.authorization_server(server);
    }
    if let Some(manifest) = &options.step_up {
        resource = resource.scopes_from_manifest(manifest);
    }
    let app = match options.verifier {
        Some(verifier) => {
            let mut auth = BearerAuthLayer::new(verifier, &resource);
            if let Some(max) = options.max_sessions {
                auth = auth.max_sessions(max);
            }
            let route = match &options.step_up {
                Some(manifest) => Router::new().route_service(
                    "/mcp",
                    auth.layer(StepUpLayer::new(manifest, &resource).layer(mcp)),
                ),
                None => Router::new().route_service("/mcp", auth.layer(mcp)),
            };
            route.merge(resource.router())
        }
        None => Router::new().route_service("/mcp", mcp),
    };
    let token = stop.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
    });
    Served {
        url,
        addr,
        metadata_url: resource.metadata_url(),
        stop,
        task: Some(task),
    }
}

/// The products handler over a fresh seeded catalogue, served as `options` say, and its body
/// counters: the products server with a verifier (or none) the test chose.
pub async fn serve_products(options: ServeOptions) -> (Served, Arc<Counters>) {
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let served = serve_with(move || Products::new(catalog.clone()), options).await;
    (served, counters)
}

/// The claims mapping of the products server: roles expanded by its role policy.
pub fn products_claims() -> ClaimsMapping {
    ClaimsMapping::default().with_role_policy(policy::role_policy())
}

// ---------------------------------------------------------------------------------------------
// Polling

/// How long [`eventually`] waits unless told otherwise.
pub const EVENTUALLY: Duration = Duration::from_secs(20);

/// Runs `probe` until it returns `Some`, at most until `within` has passed (then panics naming
/// `what`); between tries it waits a few milliseconds. For states a test can observe but not
/// await: a refresh interval passing, a token expiring, a log line appearing.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    let mut tries = 0u32;
    loop {
        tries += 1;
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {within:?} ({tries} tries)"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 connection

/// One HTTP/1.1 answer read off a [`RawConnection`].
#[derive(Debug)]
pub struct RawReply {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as received.
    pub head: String,
    /// The body (de-chunked).
    pub body: String,
}

impl RawReply {
    /// Whether the server closes the connection after this answer (`Connection: close`).
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// A header's value (name case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A `POST /mcp` with a JSON `body`, `Authorization: Bearer <token>` when given, and the headers
/// the streamable HTTP transport wants.
pub fn raw_post(host: &str, token: Option<&str>, body: &str) -> String {
    let authorization = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\n{authorization}content-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: {}\r\n\
         content-length: {}\r\n\r\n{body}",
        crate::PROTOCOL,
        body.len()
    )
}

/// One kept-alive HTTP/1.1 connection, written and read by hand: every byte of every answer is
/// seen (whether the server closes the connection, what follows a body), and it costs less than
/// reqwest's per-request work where a test means to load the server.
pub struct RawConnection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConnection {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> RawConnection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        RawConnection {
            stream,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Bytes received beyond the last answer (a well-behaved server sends none).
    pub fn unread(&self) -> usize {
        self.buf.len()
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn line_end(&mut self) -> std::io::Result<usize> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                return Ok(i);
            }
            self.fill().await?;
        }
    }

    /// Sends `request` and reads one answer (by `content-length`, else chunked).
    pub async fn exchange(&mut self, request: &[u8]) -> std::io::Result<RawReply> {
        self.stream.write_all(request).await?;
        self.read_reply().await
    }

    /// Sends `head` (request line and headers) and `body` in two writes, as clients such as
    /// Python's `http.client` do, and reads one answer.
    pub async fn exchange_split(&mut self, head: &[u8], body: &[u8]) -> std::io::Result<RawReply> {
        self.stream.write_all(head).await?;
        self.stream.flush().await?;
        // Let the server see the head on its own before the body arrives.
        tokio::task::yield_now().await;
        self.stream.write_all(body).await?;
        self.read_reply().await
    }

    /// Whether the server has closed the connection in an orderly way (end of file, no reset),
    /// within `within`; bytes it sends first count as not closed.
    pub async fn closed_cleanly(&mut self, within: Duration) -> bool {
        let mut chunk = [0u8; 1024];
        matches!(
            tokio::time::timeout(within, self.stream.read(&mut chunk)).await,
            Ok(Ok(0))
        )
    }

    /// Reads one answer (by `content-length`, else chunked).
    pub async fn read_reply(&mut self) -> std::io::Result<RawReply> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill().await?;
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec())
            .map_err(|_| invalid("response head is not UTF-8"))?;
        self.buf.drain(..head_end + 4);
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status code"))?;
        let mut reply = RawReply {
            status,
            head,
            body: String::new(),
        };
        let body = if let Some(length) = reply.header("content-length") {
            let length: usize = length.parse().map_err(|_| invalid("content-length"))?;
            while self.buf.len() < length {
                self.fill().await?;
            }
            self.buf.drain(..length).collect::<Vec<u8>>()
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            let mut body = Vec::new();
            loop {
                let line_end = self.line_end().await?;
                let size = std::str::from_utf8(&self.buf[..line_end])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                    .ok_or_else(|| invalid("chunk size"))?;
                while self.buf.len() < line_end + 2 + size + 2 {
                    self.fill().await?;
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            return Err(invalid("neither content-length nor chunked"));
        };
        reply.body = String::from_utf8(body).map_err(|_| invalid("body is not UTF-8"))?;
        Ok(reply)
    }
}

// ---------------------------------------------------------------------------------------------
// A JWKS endpoint the test controls

/// What the JWKS endpoint answers next.
#[derive(Clone)]
pub enum JwksMode {
    /// This JWK set.
    Keys(Value),
    /// HTTP 500.
    Status500,
    /// A 200 whose body is cut-off JSON.
    InvalidJson,
    /// A 200 with a 10 MB body.
    TenMegabytes,
    /// No answer until the endpoint is stopped (at most [`HANG_BOUND`]).
    Hang,
}

/// The longest a [`JwksMode::Hang`] answer is held back.
pub const HANG_BOUND: Duration = Duration::from_secs(30);

struct JwksState {
    mode: Mutex<JwksMode>,
    fetches: AtomicUsize,
    stop: Mutex<CancellationToken>,
}

/// A JWKS endpoint at `/jwks` that can answer badly, be stopped, and start again on its port.
pub struct JwksServer {
    state: Arc<JwksState>,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl JwksServer {
    /// Serves `keys` on a free loopback port.
    pub async fn start(keys: Value) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port for the JWKS");
        let mut server = JwksServer {
            state: Arc::new(JwksState {
                mode: Mutex::new(JwksMode::Keys(keys)),
                fetches: AtomicUsize::new(0),
                stop: Mutex::new(CancellationToken::new()),
            }),
            addr: listener.local_addr().expect("addr"),
            task: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let stop = CancellationToken::new();
        *self
            .state
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = stop.clone();
        let app = Router::new()
            .route("/jwks", get(answer_jwks))
            .with_state(self.state.clone());
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        }));
    }

    /// `http://<addr>/jwks`.
    pub fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    /// What to answer from now on.
    pub fn set(&self, mode: JwksMode) {
        *self
            .state
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Requests received so far.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Stops listening (connections are refused from now on); hanging answers end.
    pub async fn shut_down(&mut self) {
        self.state
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn start_again(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the JWKS port is free again");
        self.serve(listener);
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.state
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancel();
    }
}

async fn answer_jwks(State(state): State<Arc<JwksState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = state
        .mode
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match mode {
        JwksMode::Keys(keys) => axum::Json(keys).into_response(),
        JwksMode::Status500 => {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream broke").into_response()
        }
        JwksMode::InvalidJson => (StatusCode::OK, "{\"keys\": [ {\"kty\": ").into_response(),
        JwksMode::TenMegabytes => {
            let mut body = String::from("{\"keys\":[],\"padding\":\"");
            body.push_str(&"x".repeat(10 * 1024 * 1024));
            body.push_str("\"}");
            (StatusCode::OK, body).into_response()
        }
        JwksMode::Hang => {
            let stop = state
                .stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let _ = tokio::time::timeout(HANG_BOUND, stop.cancelled_owned()).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Who may call what on the products server

/// The products server's permission table, read from what the server itself enforces:
/// [`Products::manifest`] (each tool's and prompt's rule) and [`policy::role_policy`] (what each
/// role grants). Tests derive their expectations from it rather than from a copy.
pub struct ProductsAccess {
    manifest: Manifest,
    policy: RolePolicy,
}

impl Default for ProductsAccess {
    fn default() -> Self {
        ProductsAccess::new()
    }
}

impl ProductsAccess {
    /// The table of the products example.
    pub fn new() -> Self {
        ProductsAccess {
            manifest: Products::manifest(),
            policy: policy::role_policy(),
        }
    }

    /// Tool names, sorted.
    pub fn tools(&self) -> Vec<&str> {
        self.manifest.tools.keys().map(String::as_str).collect()
    }

    /// Prompt names, sorted.
    pub fn prompts(&self) -> Vec<&str> {
        self.manifest.prompts.keys().map(String::as_str).collect()
    }

    /// The canonical rule of a tool or prompt (`public`, `Admin.Write`, `any(A, B)`).
    ///
    /// # Panics
    /// If the products server has no such tool or prompt.
    pub fn requirement(&self, name: &str) -> &str {
        self.manifest
            .tools
            .get(name)
            .or_else(|| self.manifest.prompts.get(name))
            .unwrap_or_else(|| panic!("the products server has no tool or prompt `{name}`"))
    }

    /// Whether a caller holding exactly `permissions` may call the tool or prompt `name`.
    pub fn allows(&self, permissions: &[impl AsRef<str>], name: &str) -> bool {
        let access: Access = self
            .requirement(name)
            .parse()
            .unwrap_or_else(|e| panic!("the manifest's rule for `{name}`: {e}"));
        match access {
            Access::Public => true,
            Access::Requires(requirement) => requirement.is_met_by(&PermissionSet::from_names(
                permissions.iter().map(AsRef::as_ref),
            )),
        }
    }

    /// What `role` grants under the role policy, sorted.
    pub fn permissions_of(&self, role: &str) -> Vec<String> {
        assert!(
            self.policy.has_role(role),
            "the policy has no role `{role}`"
        );
        self.policy.permissions_of([role]).names()
    }
}

// ---------------------------------------------------------------------------------------------
// Log capture

pub mod logs {
    //! Every `tracing` event of the test binary, at TRACE, formatted into one shared buffer, and
    //! the secrets the tests used, to check that none of them was ever logged.

    use std::collections::BTreeSet;
    use std::io::Write;
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};

    use tracing_subscriber::fmt::MakeWriter;

    /// The buffer events are written into.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// The capture of this test binary.
    pub struct Capture {
        buffer: Buffer,
        secrets: Mutex<BTreeSet<String>>,
    }

    /// Installs the capture as the global `tracing` subscriber (once per process; later calls
    /// return the same capture).
    pub fn capture() -> &'static Capture {
        static CAPTURE: OnceLock<Capture> = OnceLock::new();
        CAPTURE.get_or_init(|| {
            let buffer = Buffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(buffer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global tracing subscriber in this test binary");
            Capture {
                buffer,
                secrets: Mutex::new(BTreeSet::new()),
            }
        })
    }

    impl Capture {
        /// Everything logged so far.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.buffer.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }

        /// Remembers a secret that must never be logged (shorter than 12 characters it could
        /// occur by chance, and is not remembered).
        pub fn secret(&self, secret: impl Into<String>) {
            let secret = secret.into();
            if secret.len() >= 12 {
                self.secrets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(secret);
            }
        }

        /// Remembers a compact JWS and each of its segments that could identify it: the whole
        /// token and its signature (the third segment).
        pub fn token(&self, token: &str) {
            self.secret(token);
            if let Some(signature) = token.split('.').nth(2) {
                self.secret(signature);
            }
        }

        /// Remembers the base64 lines of a PEM document (each line of the key's body).
        pub fn pem(&self, pem: &str) {
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                self.secret(line.trim());
            }
        }

        /// Remembers a JWK's key material (`x`, `y`, `n`, `d`, `k`).
        pub fn jwk(&self, jwk: &serde_json::Value) {
            for member in ["x", "y", "n", "d", "k"] {
                if let Some(value) = jwk[member].as_str() {
                    self.secret(value);
                }
            }
        }

        /// How many secrets are remembered.
        pub fn secrets(&self) -> usize {
            self.secrets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len()
        }

        /// Panics if the log holds any remembered secret; returns the log.
        pub fn assert_no_secret_logged(&self) -> String {
            let text = self.text();
            let secrets = self
                .secrets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            assert!(!secrets.is_empty(), "no secrets were remembered");
            let leaked: Vec<&String> = secrets.iter().filter(|s| text.contains(*s)).collect();
            assert!(
                leaked.is_empty(),
                "{} secret(s) logged, e.g. {:?}",
                leaked.len(),
                leaked
                    .iter()
                    .take(3)
                    .map(|s| s.chars().take(24).collect::<String>())
                    .collect::<Vec<_>>()
            );
            text
        }
    }

    /// The lines of `log` at `level` (`INFO`, `DEBUG`, …) on `target` containing every one of
    /// `fields` (e.g. `decision="deny"`, `name="delete_product"`).
    pub fn lines<'a>(log: &'a str, level: &str, target: &str, fields: &[&str]) -> Vec<&'a str> {
        let marker = format!(" {target}: ");
        log.lines()
            .filter(|line| {
                line.split_whitespace().nth(1) == Some(level)
                    && line.contains(&marker)
                    && fields.iter().all(|f| line.contains(f))
            })
            .collect()
    }
}
