//! What a monitoring system reads: health (`/healthz`, `/readyz`) and Prometheus metrics
//! (`/metrics`). Served beside the pages and the API but outside their sessions, their
//! cross-site checks and their request caller.

pub mod health;
pub mod metrics;
pub mod requests;

use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
}
