//! Serving an axum app in the background until a cancellation token fires, as every example
//! server does (the binaries wait for Ctrl-C, the tests stop servers they started).

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves `app` on `listener` until `stop` is cancelled, then lets open requests finish. A
/// serving error is logged under `name`; the task never panics.
pub(crate) fn spawn_until(
    listener: TcpListener,
    app: Router,
    stop: CancellationToken,
    name: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!("{name} stopped: {e}");
        }
    })
}
