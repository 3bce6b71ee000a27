//! `GET /metrics`: Prometheus' text format, for a bearer token of any role (the numbers are
//! what a viewer sees on the pages; Prometheus sends the token with
//! `authorization: { credentials_file: … }`).
//!
//! Two kinds of numbers. What the database holds (addresses by status, cycles, zones,
//! sessions) is read at each scrape, so every instance sharing the database reports the
//! same and a restart loses nothing. What only this process sees (its checks' answers by
//! method, DNS errors by zone, HTTP requests) is counted as it happens, from the start of
//! the process, as Prometheus counters are.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QuerySelect, Statement};
use std::sync::atomic::AtomicU64;
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AddressStatus, Role, ZoneHealth};
use crate::server::alerts::events::EventKind;
use crate::server::check::{cycle, runs};
use crate::server::entities::{alert_delivery, alert_event, check_run, dnsbl_zone};
use crate::server::inventory::networks;
use crate::server::lease::{self, Standing};
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::ApiError;
use crate::server::AppState;

/// Networks with series of their own, the first in address order; the totals count
/// every network. Bounds the label set however many networks there are.
pub const NETWORKS_WITH_SERIES: usize = 500;

/// Seconds: cycles take from a second (a few addresses) to hours (a large IPv4 space
/// with slow scripts).
const CYCLE_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NetworkStatus {
    network: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabel {
    zone: String,
}

/// The metrics, for a bearer token of any role.
pub async fn metrics(bearer: Bearer, State(state): State<AppState>) -> Response {
    if let Err(refused) = bearer.require(Role::Viewer) {
        return refused.into_response();
    }
    match exposition(&state).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// How an ended cycle ended, as `ipvet_cycles_total` counts it; `None` while it runs.
pub fn outcome(run: &check_run::Model) -> Option<&'static str> {
    run.finished_at?;
    Some(if run.cancelled_by.is_some() {
        "cancelled"
    } else if run.error.as_deref() == Some(cycle::INTERRUPTED) {
        "interrupted"
    } else if run.error.is_some() {
        "failed"
    } else {
        "completed"
    })
}

/// The whole text Prometheus reads.
pub async fn exposition(state: &AppState) -> Result<String, AppError> {
    let mut registry = Registry::with_prefix("ipvet");
    addresses(&state.db, &mut registry).await?;
    cycles(&state.db, &mut registry).await?;
    zones(&state.db, &mut registry).await?;
    alert_events(&state.db, &mut registry).await?;
    instance(state, &mut registry).await?;
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry).map_err(|e| {
        tracing::error!(cause = %e, "cannot write the metrics");
        AppError::Internal
    })?;
    Ok(text)
}

/// Addresses by status over every network, and by network for the first
/// [`NETWORKS_WITH_SERIES`], as the networks list and the API count them.
async fn addresses(db: &impl ConnectionTrait, registry: &mut Registry) -> Result<(), AppError> {
    let nets = networks::list(db).await?;
    let total = Family::<StatusLabel, FloatGauge>::default();
    let by_network = Family::<NetworkStatus, FloatGauge>::default();
    for status in AddressStatus::ALL {
        // Every status has a series, none included.
        let _ = total.get_or_create(&StatusLabel {
            status: status.as_str(),
        });
    }
    for (i, net) in nets.iter().enumerate() {
        let free: f64 = net.free.parse().unwrap_or(0.0);
        let counts = std::iter::once((AddressStatus::Free, free))
            .chain(net.in_use.iter().map(|(s, n)| (*s, *n as f64)));
        for (status, n) in counts {
            let status = status.as_str();
            total.get_or_create(&StatusLabel { status }).inc_by(n);
            if i < NETWORKS_WITH_SERIES {
                by_network
                    .get_or_create(&NetworkStatus {
                        network: net.cidr.clone(),
                        status,
                    })
                    .set(n);
            }
        }
    }
    let count: Gauge = Gauge::default();
    count.set(nets.len() as i64);
    registry.register("networks", "Networks", count);
    registry.register(
        "addresses",
        "Allocatable addresses of every network by status",
        total,
    );
    registry.register(
        "network_addresses",
        "Allocatable addresses by network and status (the first 500 networks in address order)",
        by_network,
    );
    Ok(())
}

/// Cycles by how they ended, their durations, the running one and when the last ended.
async fn cycles(db: &impl ConnectionTrait, registry: &mut Registry) -> Result<(), AppError> {
    let all = check_run::Entity::find().all(db).await?;
    let ended = Family::<OutcomeLabel, Counter>::default();
    for outcome in ["completed", "failed", "cancelled", "interrupted"] {
        let _ = ended.get_or_create(&OutcomeLabel { outcome });
    }
    let durations = Histogram::new(CYCLE_BUCKETS);
    let running: Gauge = Gauge::default();
    let mut last_end: Option<OffsetDateTime> = None;
    for run in all.into_iter().map(runs::as_it_stands) {
        match (outcome(&run), run.finished_at) {
            (Some(outcome), Some(end)) => {
                ended.get_or_create(&OutcomeLabel { outcome }).inc();
                durations.observe((end - run.started_at).as_seconds_f64().max(0.0));
                last_end = last_end.max(Some(end));
            }
            _ => {
                running.inc();
            }
        }
    }
    registry.register("cycles", "Check cycles that ended, by how", ended);
    registry.register_with_unit(
        "cycle_duration",
        "How long the check cycles that ended took",
        Unit::Seconds,
        durations,
    );
    registry.register("cycles_running", "Check cycles running now", running);
    if let Some(end) = last_end {
        let at = FloatGauge::default();
        at.set(end.unix_timestamp_nanos() as f64 / 1e9);
        registry.register(
            "last_cycle_end_timestamp_seconds",
            "When the last check cycle ended, in seconds since 1970",
            at,
        );
    }
    Ok(())
}

/// Enabled DNSBL zones: whether each passed its last self-test.
async fn zones(db: &impl ConnectionTrait, registry: &mut Registry) -> Result<(), AppError> {
    let healthy = Family::<ZoneLabel, Gauge>::default();
    for zone in dnsbl_zone::Entity::find().all(db).await? {
        if zone.enabled {
            healthy
                .get_or_create(&ZoneLabel { zone: zone.zone })
                .set(i64::from(zone.health == ZoneHealth::Healthy));
        }
    }
    registry.register(
        "dnsbl_zone_healthy",
        "Enabled DNSBL zones: 1 when the zone passed its last self-test",
        healthy,
    );
    Ok(())
}

/// The alerts' outbox by kind: how many times addresses became problems, problems cleared,
/// zones or cycles failed, as recorded (each change once, whichever instance made it).
async fn alert_events(db: &impl ConnectionTrait, registry: &mut Registry) -> Result<(), AppError> {
    let counted: Vec<(String, i64)> = alert_event::Entity::find()
        .select_only()
        .column(alert_event::Column::Kind)
        .column_as(Expr::col(alert_event::Column::Id).count(), "n")
        .group_by(alert_event::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let recorded = Family::<KindLabel, Counter>::default();
    for kind in EventKind::ALL {
        let n = counted
            .iter()
            .find(|(k, _)| k == kind.as_str())
            .map_or(0, |(_, n)| *n);
        recorded
            .get_or_create(&KindLabel {
                kind: kind.as_str(),
            })
            .inc_by(n.max(0) as u64);
    }
    registry.register(
        "alert_events",
        "Changes alerts tell of, recorded so far, by kind",
        recorded,
    );
    alert_deliveries(db, registry).await
}

/// Alert deliveries by status, tests included: waiting to be (re)tried, delivered, given up.
async fn alert_deliveries(
    db: &impl ConnectionTrait,
    registry: &mut Registry,
) -> Result<(), AppError> {
    let counted: Vec<(String, i64)> = alert_delivery::Entity::find()
        .select_only()
        .column(alert_delivery::Column::Status)
        .column_as(Expr::col(alert_delivery::Column::Id).count(), "n")
        .group_by(alert_delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let deliveries = Family::<StatusLabel, Gauge>::default();
    for status in migrations::ALERT_DELIVERY_STATUSES {
        let n = counted
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        deliveries.get_or_create(&StatusLabel { status }).set(n);
    }
    registry.register(
        "alert_deliveries",
        "Alert deliveries by status: pending (waiting for a try), delivered, failed (given up)",
        deliveries,
    );
    Ok(())
}

/// This process: its checks and requests, its prober, the scheduler lease, the sessions
/// and the build.
async fn instance(state: &AppState, registry: &mut Registry) -> Result<(), AppError> {
    let checker = state.checks.checker();
    registry.register(
        "checks",
        "Answers of this process's checks, by method and outcome",
        checker.counters.checks.clone(),
    );
    registry.register(
        "dns_query_errors",
        "DNSBL queries of this process that got no usable answer, by zone",
        checker.counters.dns_errors.clone(),
    );
    let prober_ready: Gauge = Gauge::default();
    prober_ready.set(i64::from(checker.prober.problem().is_none()));
    registry.register(
        "prober_ready",
        "1 when this process's probes can work (0: no privilege for raw sockets, say)",
        prober_ready,
    );
    registry.register(
        "http_requests",
        "HTTP requests this process answered, by route template and status",
        state.requests.requests.clone(),
    );
    registry.register_with_unit(
        "http_request_duration",
        "Time until this process's HTTP answers started, by route template",
        Unit::Seconds,
        state.requests.durations.clone(),
    );
    let scheduler: Gauge = Gauge::default();
    scheduler.set(i64::from(
        lease::standing(&state.db, lease::SCHEDULER).await? == Standing::HeldHere,
    ));
    registry.register(
        "scheduler",
        "1 when this instance holds the scheduler lease and so starts the cycles",
        scheduler,
    );
    let sessions: Gauge = Gauge::default();
    sessions.set(live_sessions(&state.db).await?);
    registry.register(
        "sessions",
        "Signed-in browser sessions not expired",
        sessions,
    );
    registry.register(
        "build",
        "The running version",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );
    Ok(())
}

/// Sessions the store would still load. The two stores keep the expiry differently:
/// SQLite as text, PostgreSQL as a timestamp.
async fn live_sessions(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => "SELECT COUNT(*) AS n FROM sessions WHERE expiry_date > now()",
        _ => "SELECT COUNT(*) AS n FROM sessions WHERE datetime(expiry_date) > datetime('now')",
    };
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}
