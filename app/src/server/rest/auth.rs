//! Bearer-token authentication of API requests: users' API tokens, and agents' tokens,
//! each accepted only where it belongs. Only the `Authorization` header counts:
//! session cookies are ignored here, so a browser cannot be led into calling the API (no
//! CSRF surface).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::header;
use http::request::Parts;

use http::StatusCode;

use crate::model::Role;
use crate::server::agents::registry;
use crate::server::auth::guard::{at_least, Caller};
use crate::server::entities::agent;
use crate::server::rest::error::ApiError;
use crate::server::{auth::tokens, AppState};

/// Who a request's token names, not yet checked against a role: each handler does that
/// first thing with [`Bearer::require`].
pub struct Bearer(Result<Option<Caller>, ApiError>);

impl Bearer {
    /// The caller if the token is live and its user's role is at least `min`: 401 without
    /// a live token, 403 when the role is too low or the token is an agent's.
    pub fn require(self, min: Role) -> Result<Caller, ApiError> {
        Ok(at_least(self.0?, min)?)
    }
}

/// The secret a request's `Authorization: Bearer` header carries.
fn bearer_secret(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, secret) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
        })
}

fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_default()
}

/// 403 for a live agent token on an endpoint that is not the agents'.
fn agent_token_elsewhere() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "An agent token opens only the agent endpoints (/api/v1/agent/...).",
    )
}

/// The agent a request's agent token names: the agent endpoints check it first thing with
/// [`AgentBearer::require`].
pub struct AgentBearer(Result<Option<agent::Model>, ApiError>);

impl AgentBearer {
    /// The agent if its token is live: 401 without a live agent token, 403 for a user's
    /// API token.
    pub fn require(self) -> Result<agent::Model, ApiError> {
        self.0?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Send a live agent token: `Authorization: Bearer <token>`. Agent tokens are made on the Sites page or with `ipvet token create --agent SITE`.",
            )
        })
    }
}

impl FromRequestParts<AppState> for AgentBearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = bearer_secret(parts) else {
            return Ok(AgentBearer(Ok(None)));
        };
        if !registry::is_agent_secret(secret) {
            let user_token = tokens::authenticate(&state.db, secret).await;
            return Ok(AgentBearer(match user_token {
                Ok(Some(_)) => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "The agent endpoints take an agent token, not a user's API token.",
                )),
                Ok(None) => Ok(None),
                Err(e) => Err(e.into()),
            }));
        }
        let found = registry::authenticate(&state.db, secret, &client_addr(parts)).await;
        Ok(AgentBearer(found.map_err(ApiError::from)))
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = bearer_secret(parts) else {
            return Ok(Bearer(Ok(None)));
        };
        let client_addr = client_addr(parts);
        if registry::is_agent_secret(secret) {
            let agent = registry::lookup(&state.db, secret).await;
            return Ok(Bearer(match agent {
                Ok(Some(_)) => Err(agent_token_elsewhere()),
                Ok(None) => Ok(None),
                Err(e) => Err(e.into()),
            }));
        }
        let found = tokens::authenticate(&state.db, secret).await.map(|found| {
            found.map(|(user, _token)| Caller {
                user,
                state: state.clone(),
                client_addr,
            })
        });
        Ok(Bearer(found.map_err(ApiError::from)))
    }
}
