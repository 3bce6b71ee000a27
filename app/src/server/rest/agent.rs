//! `/api/v1/agent/...`: the endpoints probe agents (`ipvet agent`) call, with an agent
//! token, and nothing else does. An agent says hello when it starts, asks for work (held
//! open until there is some), and posts what its probes found.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;

use crate::server::agents::{wire, work};
use crate::server::rest::auth::AgentBearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::AppState;

/// An agent introduces itself.
///
/// Agent token only. The agent says what it can probe with; the answer names it and its
/// site.
#[utoipa::path(post, path = "/api/v1/agent/hello", operation_id = "agentHello", tag = "agent",
    request_body = wire::Hello,
    responses(
        (status = 200, description = "Who the server takes the agent for", body = wire::Welcome),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No live agent token", body = ErrorBody),
        (status = 403, description = "A user's API token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn hello(
    agent: AgentBearer,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Welcome>, ApiError> {
    let agent = agent.require()?;
    let hello: wire::Hello = input::json(body)?;
    Ok(Json(work::hello(&state, &agent, hello).await?))
}

/// An agent asks for addresses to probe.
///
/// Agent token only. Answers at once when the running check cycle has addresses of the
/// agent's site left, claimed for this agent (`claim` is the fencing token its results
/// carry); otherwise the request is held open until some come or `wait_ms` passes, and
/// the answer is empty.
#[utoipa::path(post, path = "/api/v1/agent/work", operation_id = "agentWork", tag = "agent",
    request_body = wire::WorkRequest,
    responses(
        (status = 200, description = "Addresses to probe, or none", body = wire::Work),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No live agent token", body = ErrorBody),
        (status = 403, description = "A user's API token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn take_work(
    agent: AgentBearer,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Work>, ApiError> {
    let agent = agent.require()?;
    let asked: wire::WorkRequest = input::json(body)?;
    // Answered well before RequestTimeout would cut the request off.
    let longest = state.config().request_timeout / 2;
    let wait = asked
        .wait_ms
        .map_or(longest, Duration::from_millis)
        .min(longest);
    Ok(Json(
        work::take(&state, &agent, asked.max, wait, asked.claim).await?,
    ))
}

/// An agent posts what its probes found.
///
/// Agent token only. The server adds the DNSBL half and writes each verdict while the
/// address still carries the claim; results for addresses the claim lost are dropped.
#[utoipa::path(post, path = "/api/v1/agent/results", operation_id = "agentResults", tag = "agent",
    request_body = wire::Results,
    responses(
        (status = 200, description = "What was written", body = wire::Written),
        (status = 400, description = "Bad body", body = ErrorBody),
        (status = 401, description = "No live agent token", body = ErrorBody),
        (status = 403, description = "A user's API token, or another agent's claim", body = ErrorBody),
        (status = 409, description = "The claim lapsed, or its cycle ended; nothing was written", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn results(
    agent: AgentBearer,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<wire::Written>, ApiError> {
    let agent = agent.require()?;
    let results: wire::Results = input::json(body)?;
    Ok(Json(work::report(&state, &agent, results).await?))
}
