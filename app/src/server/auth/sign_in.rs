//! Signing in and out.

use std::net::{IpAddr, Ipv4Addr};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::CurrentUser;
use crate::server::auth::guard::{self, SEEN_AT, SIGNED_IN_AT, USER_ID};
use crate::server::auth::password;
use crate::server::auth::throttle::Admission;
use crate::server::entities::user;
use crate::server::error::internal;

/// Checks the credentials and, on success, starts a fresh session (new id, so a session id
/// planted before sign-in is worthless). Unknown user, disabled user and wrong password all
/// answer the same, in the same time.
pub async fn sign_in(name: &str, password: String) -> Result<CurrentUser, AppError> {
    let state = guard::state()?;
    let session = guard::session().await?;
    let client = guard::client_addr()
        .await
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let name = name.trim();

    match state.throttle.admit(name, client) {
        Admission::Go => {}
        Admission::Slow(delay) => tokio::time::sleep(delay).await,
        Admission::Refuse(left) => {
            let minutes = left.as_secs().div_ceil(60).max(1);
            return Err(AppError::TooManyRequests(format!(
                "Too many failed sign-ins for this user from your address. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )));
        }
    }

    let user = user::Entity::find()
        .filter(user::Column::Name.eq(name))
        .one(&state.db)
        .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = password::verify(password, stored).await?;
    let user = match user {
        Some(user) if matches && !user.disabled => user,
        _ => {
            state.throttle.failed(name, client);
            tracing::info!(user = name, client = %client, "sign-in refused");
            return Err(AppError::InvalidCredentials);
        }
    };
    state.throttle.succeeded(name, client);

    session.cycle_id().await.map_err(internal)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    session.insert(USER_ID, user.id).await.map_err(internal)?;
    session.insert(SIGNED_IN_AT, now).await.map_err(internal)?;
    session.insert(SEEN_AT, now).await.map_err(internal)?;
    tracing::info!(user = %user.name, client = %client, "signed in");
    Ok(CurrentUser {
        id: user.id,
        name: user.name,
        role: user.role,
    })
}

/// Ends the session: its record is deleted, so the old cookie is dead.
pub async fn sign_out() -> Result<(), AppError> {
    guard::session().await?.flush().await.map_err(internal)
}
