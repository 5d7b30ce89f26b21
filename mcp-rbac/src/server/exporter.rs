//! `GET /metrics` on a listener of its own (feature `metrics`): the Prometheus text exposition of
//! every metric the process records, the `mcp_rbac_*` ones included. It sits outside the bearer
//! layer, so bind it where only the scraper reaches (loopback, or a private network).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ServerError;

/// How often histogram samples are folded into their buckets when nothing scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The media type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process's Prometheus recorder: the first server that serves metrics installs it, every
/// later one renders the same (a process has one global recorder).
fn recorder() -> Result<PrometheusHandle, ServerError> {
    static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    RECORDER
        .get_or_init(install)
        .clone()
        .map_err(ServerError::Config)
}

fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".to_owned()),
            &crate::metrics::BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| {
            format!(
                "metrics: cannot install the Prometheus recorder ({e}); a process has one \
                 metrics recorder, so serve that one's output instead of calling .metrics(addr)"
            )
        })?;
    crate::metrics::describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("mcp-rbac-metrics-upkeep".to_owned())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            upkeep.run_upkeep();
        })
        .map_err(|e| format!("metrics: cannot start the upkeep thread: {e}"))?;
    Ok(handle)
}

/// The metrics endpoint, bound and not yet serving.
pub(super) struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    handle: PrometheusHandle,
}

/// The metrics endpoint, serving until the server stops.
pub(super) struct Serving {
    pub(super) addr: SocketAddr,
    pub(super) task: JoinHandle<()>,
}

/// Installs the recorder (once per process) and binds `addr` (port 0 picks a free one).
pub(super) async fn bind(addr: SocketAddr) -> Result<Bound, ServerError> {
    let handle = recorder()?;
    let (listener, addr) = super::bind_listener(addr).await?;
    Ok(Bound {
        listener,
        addr,
        handle,
    })
}

impl Bound {
    /// Serves `GET /metrics` until `stop` is cancelled.
    pub(super) fn serve(self, stop: CancellationToken) -> Serving {
        let handle = self.handle;
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let text = handle.render();
                async move { ([(CONTENT_TYPE, TEXT_FORMAT)], text) }
            }),
        );
        let task = tokio::spawn(async move {
            let served = axum::serve(self.listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(target: "mcp_rbac::server", "metrics endpoint stopped: {e}");
            }
        });
        Serving {
            addr: self.addr,
            task,
        }
    }
}
