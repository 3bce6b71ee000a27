//! `/api/v1/checks`: start a check cycle and follow it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::Role;
use crate::model::Trigger;
use crate::server::check::cycle;
use crate::server::check::runs;
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{CheckPath, CheckRun};
use crate::server::AppState;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StartCheck {}

async fn run(state: &AppState, id: i64) -> Result<CheckRun, ApiError> {
    Ok(runs::find(&state.db, id).await?.into())
}

/// Start a check cycle now.
///
/// Role: operator. Every address being checked or with a problem is checked; the answer
/// comes at once, and `GET /api/v1/checks/{id}` follows the cycle.
#[utoipa::path(post, path = "/api/v1/checks", operation_id = "startCheck", tag = "checks",
    request_body(content = Option<StartCheck>, description = "No fields; the body may be empty"),
    responses(
        (status = 202, description = "Started", body = CheckRun),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Role below operator", body = ErrorBody),
        (status = 409, description = "A cycle runs already", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn start(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CheckRun>), ApiError> {
    let caller = bearer.require(Role::Operator)?;
    let StartCheck {} = input::json(body)?;
    let id = cycle::start_in_background(&caller.state, Trigger::Api).await?;
    Ok((StatusCode::ACCEPTED, Json(run(&caller.state, id).await?)))
}

/// Get a check cycle: its progress and counts.
///
/// Role: viewer. `finished_at` is null while it runs.
#[utoipa::path(get, path = "/api/v1/checks/{id}", operation_id = "getCheck", tag = "checks",
    params(CheckPath),
    responses(
        (status = 200, description = "The cycle", body = CheckRun),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 404, description = "No such cycle", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckRun>, ApiError> {
    bearer.require(Role::Viewer)?;
    let id = input::id(&id, "id")?;
    Ok(Json(run(&state, id).await?))
}
