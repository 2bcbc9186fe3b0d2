//! The HTTP endpoint of `sgsync run`: `/healthz`, `/readyz` and `/metrics`, plain
//! HTTP on the `[metrics] listen` address, bound before the schedule loop starts so a
//! port in use stops the service at once.

use super::health::{Health, Verdict};
use super::metrics::{CLASSIC_CONTENT_TYPE, CONTENT_TYPE, Metrics};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The endpoint could not be opened. The OS's reason is part of the message (and so not
/// also a `source`, which would print it twice).
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ([metrics] listen): {error}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub error: std::io::Error,
}

/// A running endpoint; [`Server::shutdown`] stops it.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

impl Server {
    /// Binds `addr` and serves in the background.
    pub async fn bind(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
    ) -> Result<Server, BindError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|error| BindError { addr, error })?;
        let bound = listener
            .local_addr()
            .map_err(|error| BindError { addr, error })?;
        if !bound.ip().is_loopback() {
            tracing::warn!(
                %bound,
                "the health and metrics endpoint listens beyond loopback, without authentication"
            );
        }
        tracing::info!(%bound, "serving /healthz, /readyz and /metrics");
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(scrape))
            .with_state(Shared { metrics, health });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::error!("the health and metrics endpoint stopped: {e}");
            }
        });
        Ok(Server {
            addr: bound,
            stop: Some(stop),
            task,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn probe(v: Verdict) -> Response {
    let status = if v.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{}\n", v.text)).into_response()
}

async fn healthz(State(s): State<Shared>) -> Response {
    probe(s.health.liveness())
}

async fn readyz(State(s): State<Shared>) -> Response {
    probe(s.health.readiness())
}

/// OpenMetrics to a client that accepts it (Prometheus says so in `Accept`), the
/// classic text format 0.0.4 to every other one (curl, `promtool check metrics`).
async fn scrape(State(s): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(wants_openmetrics);
    if openmetrics {
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], s.metrics.render()).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, CLASSIC_CONTENT_TYPE)],
            s.metrics.render_classic(),
        )
            .into_response()
    }
}

/// One media range of an `Accept` header asks for OpenMetrics (and not with `q=0`).
fn wants_openmetrics(media: &str) -> bool {
    let mut parts = media.split(';').map(str::trim);
    let kind = parts.next().unwrap_or_default();
    if !kind.eq_ignore_ascii_case("application/openmetrics-text") {
        return false;
    }
    !parts.any(|p| {
        p.strip_prefix("q=")
            .and_then(|q| q.parse::<f64>().ok())
            .is_some_and(|q| q <= 0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::wants_openmetrics;

    #[test]
    fn openmetrics_only_for_a_client_that_asks_for_it() {
        assert!(wants_openmetrics(
            "application/openmetrics-text;version=1.0.0"
        ));
        assert!(wants_openmetrics(
            " application/openmetrics-text; version=0.0.1; q=0.75"
        ));
        assert!(!wants_openmetrics("application/openmetrics-text; q=0"));
        assert!(!wants_openmetrics("text/plain;version=0.0.4"));
        assert!(!wants_openmetrics("*/*"));
    }
}
