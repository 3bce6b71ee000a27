//! Health for load balancers, orchestrators and monitors, without authentication:
//! `/healthz` says the process answers; `/readyz` whether it can do its work (the database
//! answers and its schema is this version's) and who schedules the cycles. Neither says
//! more: no error text, no host or instance names, no versions.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::server::lease;
use crate::server::AppState;

/// The process is up and serving requests.
pub async fn healthz() -> Response {
    ([(header::CACHE_CONTROL, "no-store")], "ok\n").into_response()
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// `reachable` or `unreachable`.
    pub database: &'static str,
    /// `current`, `pending` (this binary is newer than the schema) or `unknown`.
    pub migrations: &'static str,
    /// Which instance schedules the check cycles: `this_instance`, `another_instance`,
    /// `none` or `unknown`. Informative only: an instance that does not schedule is as
    /// ready to serve.
    pub scheduler: &'static str,
}

/// Reads what [`Readiness`] reports: a ping, the migrations table and the lease, each
/// failure logged in full here and only named in the answer.
pub async fn readiness(db: &DatabaseConnection) -> Readiness {
    let database = match db.ping().await {
        Ok(_) => "reachable",
        Err(e) => {
            tracing::warn!(cause = %e, "readiness: the database does not answer");
            "unreachable"
        }
    };
    let migrations = match Migrator::get_pending_migrations(db).await {
        Ok(pending) if pending.is_empty() => "current",
        Ok(pending) => {
            tracing::warn!(pending = pending.len(), "readiness: migrations pending");
            "pending"
        }
        Err(e) => {
            tracing::warn!(cause = %e, "readiness: cannot read the migrations");
            "unknown"
        }
    };
    let scheduler = match lease::standing(db, lease::SCHEDULER).await {
        Ok(standing) => standing.as_str(),
        Err(e) => {
            tracing::warn!(cause = %e, "readiness: cannot read the scheduler lease");
            "unknown"
        }
    };
    Readiness {
        ready: database == "reachable" && migrations == "current",
        database,
        migrations,
        scheduler,
    }
}

/// 200 when ready, 503 when not, with [`Readiness`] as JSON either way.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = readiness(&state.db).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(readiness),
    )
        .into_response()
}
