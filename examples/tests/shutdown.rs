//! SIGTERM to the `products` binary under load: it stops accepting, answers every request it
//! has begun (one still receiving its body when the signal comes, too), closes idle
//! connections in an orderly way (no reset), and exits within its shutdown timeout.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How a request ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A whole answer with this status.
    Answered(u16),
    /// The server closed the connection in an orderly way before answering a byte (a request
    /// sent to a connection the server was closing as idle).
    ClosedBeforeAnswer,
    /// Anything else: a reset, a cut answer.
    Broken(String),
}

fn post(host: &str, token: &str, body: &str) -> (String, String) {
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    (head, body.to_owned())
}

/// Sends `head` and, after `pause`, `body`; reads one answer.
async fn exchange(stream: &mut TcpStream, head: &str, body: &str, pause: Duration) -> Outcome {
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        stream.write_all(body.as_bytes()).await
    };
    if let Err(e) = sent.await {
        return Outcome::Broken(format!("sending: {e}"));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length {
                if buf.len() >= end + 4 + length {
                    return Outcome::Answered(head[9..12].parse().unwrap_or(0));
                }
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) if buf.is_empty() => return Outcome::ClosedBeforeAnswer,
            Ok(0) => return Outcome::Broken("answer cut short".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Outcome::Broken(format!("reading: {e}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_what_is_in_flight_and_exits_in_time() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_products"))
        .args(["--port", "0", "--stateless", "--shutdown-timeout"])
        .arg(SHUTDOWN_TIMEOUT.as_secs().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("products starts");
    let (mut url, mut token) = (String::new(), String::new());
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.expect("banner line");
        if let Some(rest) = line.strip_prefix("products MCP server listening on ") {
            url = rest.to_owned();
        }
        if let Some(rest) = line.strip_prefix("ADMIN_TOKEN=") {
            token = rest.to_owned();
            break;
        }
    }
    let host = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/mcp"))
        .expect("banner URL")
        .to_owned();
    let addr: SocketAddr = host.parse().unwrap();
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;
    let (head, body) = post(&host, &token, call);

    // 16 keep-alive clients. Once the signal is sent they open no new connection (as a load
    // balancer stops routing to a replica it stops), and go on while their connection serves.
    let stopping = Arc::new(AtomicBool::new(false));
    let answered_after_signal = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (head, body) = (head.clone(), body.clone());
        let (stopping, answered_after_signal) = (stopping.clone(), answered_after_signal.clone());
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            'connections: while !stopping.load(Ordering::SeqCst) {
                let Ok(mut stream) = TcpStream::connect(addr).await else {
                    break;
                };
                loop {
                    let outcome = exchange(&mut stream, &head, &body, Duration::ZERO).await;
                    let again = outcome == Outcome::Answered(200);
                    if again && stopping.load(Ordering::SeqCst) {
                        answered_after_signal.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.push(outcome);
                    if !again {
                        continue 'connections;
                    }
                }
            }
            outcomes
        }));
    }
    // One request whose body is still on its way when the signal comes.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let in_flight = tokio::spawn(async move {
        exchange(&mut slow, &head, &body, Duration::from_millis(1500)).await
    });

    tokio::time::sleep(Duration::from_millis(1000)).await;
    stopping.store(true, Ordering::SeqCst);
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // The process exits within its shutdown timeout (polled: the wait is blocking).
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < SHUTDOWN_TIMEOUT + Duration::from_secs(2),
            "still running {:?} after SIGTERM",
            signalled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exited_after = signalled.elapsed();
    assert!(status.success(), "exit status {status}");

    assert_eq!(
        in_flight.await.unwrap(),
        Outcome::Answered(200),
        "the request in flight"
    );
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.unwrap());
    }
    let answered = outcomes
        .iter()
        .filter(|o| **o == Outcome::Answered(200))
        .count();
    let closed = outcomes
        .iter()
        .filter(|o| **o == Outcome::ClosedBeforeAnswer)
        .count();
    let broken: Vec<_> = outcomes
        .iter()
        .filter(|o| !matches!(o, Outcome::Answered(200) | Outcome::ClosedBeforeAnswer))
        .collect();
    println!(
        "answered={answered} (after SIGTERM: {}) closed_before_answer={closed} broken={} \
         exited {exited_after:?} after SIGTERM",
        answered_after_signal.load(Ordering::SeqCst),
        broken.len()
    );
    assert!(broken.is_empty(), "{broken:?}");
    assert!(answered > 0);
}
