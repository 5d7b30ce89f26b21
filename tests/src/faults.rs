//! A fault suite for any MCP server behind mcp-rbac's server builder, over loopback or a LAN:
//! refusals of large bodies, bodies that trickle in, and bursts past the concurrency limit. Each
//! scenario is bounded in connections and time, checks every answer, and returns what it saw;
//! the tests run it against the products server, and `fault_suite` (this crate's binary) runs
//! it against a server of your own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server under test: its address, the MCP endpoint's `Host` and path, a token it accepts,
/// and a JSON-RPC request that token may send.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
    /// The MCP endpoint's path.
    pub path: String,
    /// A token the server accepts.
    pub token: String,
    /// A JSON-RPC request the token may send (answered without a session in stateless mode).
    pub request: String,
}

impl Target {
    /// The server at `url` (`http://127.0.0.1:8000/mcp`), with `token`, asking `tools/list`.
    pub fn new(url: &str, token: impl Into<String>) -> Result<Target, String> {
        let uri: http::Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let ip = match host {
            "localhost" => std::net::IpAddr::from([127, 0, 0, 1]),
            host => host
                .parse()
                .map_err(|_| format!("`{host}` is not an IP address"))?,
        };
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            host: authority.as_str().to_owned(),
            path: uri.path().to_owned(),
            token: token.into(),
            request: r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_owned(),
        })
    }

    /// The head of a POST to the endpoint with `content_length` bytes of body to follow.
    pub fn head(&self, token: Option<&str>, content_length: usize) -> String {
        let authorization = token
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\n{authorization}content-type: application/json\r\n\
             accept: application/json, text/event-stream\r\nmcp-protocol-version: {}\r\n\
             content-length: {content_length}\r\n\r\n",
            self.path,
            self.host,
            crate::PROTOCOL
        )
    }
}

/// An answer read whole, up to the end of the connection or of its `content-length`.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The head (status line and headers).
    pub head: String,
    /// Whether it says `Connection: close`.
    pub closes: bool,
}

impl Answer {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads one answer with a `content-length` body off `stream`.
async fn read_answer(stream: &mut TcpStream) -> std::io::Result<Answer> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).map_err(|_| invalid("head"))?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("status"))?;
    let mut answer = Answer {
        status,
        closes: false,
        head,
    };
    answer.closes = answer
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let length: usize = answer
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid("no content-length"))?;
    while buf.len() < head_end + 4 + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(answer)
}

/// Waits for the server's orderly close (end of file); a reset or more bytes are errors.
async fn read_close(stream: &mut TcpStream, within: Duration) -> Result<(), String> {
    let mut chunk = [0u8; 1024];
    match tokio::time::timeout(within, stream.read(&mut chunk)).await {
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(n)) => Err(format!("{n} bytes after the answer")),
        Ok(Err(e)) => Err(format!("no orderly close: {e}")),
        Err(_) => Err(format!("not closed within {within:?}")),
    }
}

/// What [`oversized_refusals`] saw.
#[derive(Debug, Default)]
pub struct Refusals {
    /// 401s read whole, with `Connection: close`, followed by an orderly close.
    pub clean: usize,
    /// Everything else, described (at most ten kept).
    pub failures: Vec<String>,
    /// Tries that failed.
    pub failed: usize,
}

/// `tries` requests without a token whose `body_len`-byte body is past the bound a refusal reads,
/// each on a new connection, head and body in two writes: each must get the whole 401 with
/// `Connection: close` and then an orderly close, never a reset.
pub async fn oversized_refusals(target: &Target, tries: usize, body_len: usize) -> Refusals {
    let body = vec![b' '; body_len];
    let mut seen = Refusals::default();
    for _ in 0..tries {
        let result: Result<(), String> = async {
            let mut stream = TcpStream::connect(target.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            stream
                .write_all(target.head(None, body_len).as_bytes())
                .await
                .map_err(|e| format!("writing the head: {e}"))?;
            stream
                .write_all(&body)
                .await
                .map_err(|e| format!("writing the body: {e}"))?;
            let answer = read_answer(&mut stream)
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            if answer.status != 401 || !answer.closes {
                return Err(format!(
                    "expected 401 with Connection: close, got {}",
                    answer.head
                ));
            }
            read_close(&mut stream, Duration::from_secs(5)).await
        }
        .await;
        match result {
            Ok(()) => seen.clean += 1,
            Err(why) => {
                seen.failed += 1;
                if seen.failures.len() < 10 {
                    seen.failures.push(why);
                }
            }
        }
    }
    seen
}

/// What [`slow_bodies`] saw.
#[derive(Debug, Default)]
pub struct SlowBodies {
    /// Trickling connections answered `408` with `Connection: close`.
    pub cut: usize,
    /// When each was cut, from the start of its request.
    pub cut_after: Vec<Duration>,
    /// Normal requests sent during the trickle and answered (not 5xx).
    pub normal_answered: usize,
    /// How long each normal request took.
    pub normal_latencies: Vec<Duration>,
    /// Everything else, described.
    pub failures: Vec<String>,
}

/// `connections` connections each send an authenticated head announcing `target.request` padded
/// to 64 KiB, then trickle the body a byte every 250 ms; while they do, `normal` requests are sent
/// one after another on a connection of their own. Every trickling connection must be cut with
/// `408` and `Connection: close` within `cut_within`.
pub async fn slow_bodies(
    target: &Target,
    connections: usize,
    normal: usize,
    cut_within: Duration,
) -> SlowBodies {
    let announced = 64 * 1024;
    let target = Arc::new(target.clone());
    let mut tricklers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let target = target.clone();
        tricklers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut stream = TcpStream::connect(target.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            stream
                .write_all(target.head(Some(&target.token), announced).as_bytes())
                .await
                .map_err(|e| format!("writing the head: {e}"))?;
            let (mut reader, mut writer) = stream.into_split();
            let trickle = tokio::spawn(async move {
                for _ in 0..announced {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    if writer.write_all(b" ").await.is_err() {
                        break;
                    }
                }
                writer
            });
            let stream_answer = async {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        return Ok(String::from_utf8_lossy(&buf).into_owned());
                    }
                    let n = reader.read(&mut chunk).await?;
                    if n == 0 {
                        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            };
            let answer = tokio::time::timeout(cut_within, stream_answer).await;
            trickle.abort();
            let elapsed = started.elapsed();
            match answer {
                Ok(Ok(head)) => {
                    let closes = head.to_ascii_lowercase().contains("\r\nconnection: close");
                    if head.starts_with("HTTP/1.1 408") && closes {
                        Ok(elapsed)
                    } else {
                        Err(format!("expected 408 with Connection: close, got {head}"))
                    }
                }
                Ok(Err(e)) => Err(format!("reading the answer: {e}")),
                Err(_) => Err(format!("not cut within {cut_within:?}")),
            }
        }));
    }
    let mut seen = SlowBodies::default();
    // Normal requests while the tricklers hold their connections open.
    tokio::time::sleep(Duration::from_millis(500)).await;
    match TcpStream::connect(target.addr).await {
        Ok(mut stream) => {
            for _ in 0..normal {
                let started = Instant::now();
                let request = format!(
                    "{}{}",
                    target.head(Some(&target.token), target.request.len()),
                    target.request
                );
                let answered = async {
                    stream.write_all(request.as_bytes()).await?;
                    read_answer(&mut stream).await
                };
                match answered.await {
                    Ok(answer) if answer.status < 500 => {
                        seen.normal_answered += 1;
                        seen.normal_latencies.push(started.elapsed());
                    }
                    Ok(answer) => seen
                        .failures
                        .push(format!("normal request: {}", answer.head)),
                    Err(e) => {
                        seen.failures.push(format!("normal request: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => seen.failures.push(format!("connect: {e}")),
    }
    for trickler in tricklers {
        match trickler.await {
            Ok(Ok(after)) => {
                seen.cut += 1;
                seen.cut_after.push(after);
            }
            Ok(Err(why)) => seen.failures.push(why),
            Err(e) => seen.failures.push(format!("trickler: {e}")),
        }
    }
    seen
}

/// What [`burst`] saw.
#[derive(Debug, Default)]
pub struct Burst {
    /// Answers below 500.
    pub answered: usize,
    /// `503` answers with `Retry-After`.
    pub shed: usize,
    /// Everything else, described.
    pub failures: Vec<String>,
}

/// `requests` authenticated requests at once, each on its own connection: each must be answered
/// within `within`, below 500 or with `503` and `Retry-After`. `shed_seen` is called with the
/// number shed so far each time one is (the tests release held requests once enough are).
pub async fn burst(
    target: &Target,
    requests: usize,
    within: Duration,
    shed_seen: impl Fn(usize) + Send + Sync + 'static,
) -> Burst {
    let target = Arc::new(target.clone());
    let shed_seen = Arc::new(shed_seen);
    let shed_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(requests);
    for _ in 0..requests {
        let (target, shed_seen, shed_count) =
            (target.clone(), shed_seen.clone(), shed_count.clone());
        tasks.push(tokio::spawn(async move {
            let request = format!(
                "{}{}",
                target.head(Some(&target.token), target.request.len()),
                target.request
            );
            let answered = tokio::time::timeout(within, async {
                let mut stream = TcpStream::connect(target.addr).await?;
                stream.write_all(request.as_bytes()).await?;
                read_answer(&mut stream).await
            })
            .await;
            match answered {
                Ok(Ok(answer))
                    if answer.status == 503 && answer.header("retry-after").is_some() =>
                {
                    let n = shed_count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    shed_seen(n);
                    Ok(true)
                }
                Ok(Ok(answer)) if answer.status < 500 => Ok(false),
                Ok(Ok(answer)) => Err(format!("unexpected answer: {}", answer.head)),
                Ok(Err(e)) => Err(format!("transport error: {e}")),
                Err(_) => Err(format!("no answer within {within:?}")),
            }
        }));
    }
    let mut seen = Burst::default();
    for task in tasks {
        match task.await {
            Ok(Ok(true)) => seen.shed += 1,
            Ok(Ok(false)) => seen.answered += 1,
            Ok(Err(why)) => seen.failures.push(why),
            Err(e) => seen.failures.push(format!("request task: {e}")),
        }
    }
    seen
}
