//! HTTP requests this process answered, for `/metrics`: how many by route and status, and
//! how long they took by route. Routes are the router's templates
//! (`/api/v1/networks/{id}`), never the paths asked for, so a client cannot grow the label
//! set; whatever no route matched (site files, unknown paths) counts as `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub route: String,
}

/// Seconds: from a page or API answer of a few milliseconds to the request timeout.
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Cheap to clone: every clone counts into the same numbers.
#[derive(Clone, Debug)]
pub struct RequestCounters {
    pub requests: Family<RouteStatus, Counter>,
    pub durations: Family<Route, Histogram, fn() -> Histogram>,
}

impl Default for RequestCounters {
    fn default() -> Self {
        RequestCounters {
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
        }
    }
}

/// The label of routes no template matched.
pub const UNMATCHED: &str = "unmatched";

impl RequestCounters {
    /// Counts the request and its answer. Outside every other layer, so answers made by
    /// the layers (a timeout, a refused cross-site post, a caught panic) count as sent.
    pub async fn count(self, req: Request, next: Next) -> Response {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
        let started = Instant::now();
        let res = next.run(req).await;
        self.durations
            .get_or_create(&Route {
                route: route.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        self.requests
            .get_or_create(&RouteStatus {
                route,
                status: res.status().as_u16(),
            })
            .inc();
        res
    }
}
