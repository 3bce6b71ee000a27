//! Bearer-token authentication of API requests. Only the `Authorization` header counts:
//! session cookies are ignored here, so a browser cannot be led into calling the API (no
//! CSRF surface).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::header;
use http::request::Parts;

use crate::error::AppError;
use crate::model::Role;
use crate::server::auth::guard::{at_least, Caller};
use crate::server::{auth::tokens, AppState};

/// Who a request's token names, not yet checked against a role: each handler does that
/// first thing with [`Bearer::require`].
pub struct Bearer(Result<Option<Caller>, AppError>);

impl Bearer {
    /// The caller if the token is live and its user's role is at least `min`: 401 without
    /// a live token, 403 when the role is too low.
    pub fn require(self, min: Role) -> Result<Caller, AppError> {
        at_least(self.0?, min)
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, secret) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
            });
        let Some(secret) = secret else {
            return Ok(Bearer(Ok(None)));
        };
        let client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
            .unwrap_or_default();
        let found = tokens::authenticate(&state.db, secret).await.map(|found| {
            found.map(|(user, _token)| Caller {
                user,
                state: state.clone(),
                client_addr,
            })
        });
        Ok(Bearer(found))
    }
}
