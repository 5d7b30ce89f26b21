//! Connections that close without a reset.
//!
//! When a server closes a TCP connection whose receive buffer still holds bytes the client
//! sent (the rest of a refused request's body, say), the kernel answers with a reset instead of
//! an orderly close, and a reset can destroy the answer the client has not read yet. Web servers
//! have long closed "lingering": send the close (`shutdown(SHUT_WR)`), then read and discard what
//! still arrives until the client closes its side or a short deadline passes, and only then
//! release the socket. [`Lingering`] gives every connection of an axum listener that close;
//! [`ServerBuilder::start`](super::ServerBuilder::start) serves through it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How long a closing connection waits for the client to close its side.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(2);

/// An axum [`Listener`](axum::serve::Listener) whose connections close lingering (see the
/// [module documentation](self)).
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// axum::serve(mcp_rbac::server::Lingering::new(listener), app).await
/// # }
/// ```
#[derive(Debug)]
pub struct Lingering<L> {
    inner: L,
    linger: Duration,
}

impl<L> Lingering<L> {
    /// `listener`'s connections, closed lingering for up to [`DEFAULT_LINGER`].
    pub fn new(listener: L) -> Self {
        Lingering {
            inner: listener,
            linger: DEFAULT_LINGER,
        }
    }

    /// How long a closing connection waits for the client's close.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Lingering<L> {
    type Io = LingeringStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        (LingeringStream::new(io, self.linger), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection whose shutdown sends the close, then discards what the client still sends until
/// it closes too (or the linger deadline passes).
#[derive(Debug)]
pub struct LingeringStream<T> {
    io: T,
    linger: Duration,
    /// Set once the close is sent: the end of the wait for the client's.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> LingeringStream<T> {
    fn new(io: T, linger: Duration) -> Self {
        LingeringStream {
            io,
            linger,
            deadline: None,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for LingeringStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for LingeringStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.deadline.is_none() {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.deadline = Some(Box::pin(tokio::time::sleep(this.linger)));
        }
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                // The client closed its side (or the connection failed): nothing left to lose.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => continue,
                Poll::Pending => {
                    let deadline = this.deadline.as_mut().expect("set above");
                    ready!(deadline.as_mut().poll(cx));
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn pair(linger: Duration) -> (LingeringStream<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (LingeringStream::new(server, linger), client)
    }

    #[tokio::test]
    async fn a_client_still_sending_after_the_close_is_not_reset() {
        let (mut server, mut client) = pair(Duration::from_secs(5)).await;
        // The server answers and closes before the client has sent all of its request (a
        // refusal of a large body); the client goes on sending, then reads the answer.
        server
            .write_all(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
            .await
            .unwrap();
        let closing = tokio::spawn(async move { server.shutdown().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..16 {
            // Into a socket already released, these writes fail with a reset or a broken pipe.
            client
                .write_all(&chunk)
                .await
                .expect("the server is still reading");
        }
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"HTTP/1.1 401 Unauthorized\r\n\r\n");
        drop(client);
        let closed = tokio::time::timeout(Duration::from_secs(4), closing).await;
        assert!(
            matches!(closed, Ok(Ok(Ok(())))),
            "the close ends when the client's does"
        );
    }

    #[tokio::test]
    async fn the_close_ends_at_the_client_close_or_the_deadline() {
        let (mut server, client) = pair(Duration::from_secs(30)).await;
        drop(client);
        let started = std::time::Instant::now();
        server.shutdown().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited for a client that closed"
        );

        let (mut server, _client) = pair(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        server.shutdown().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}
