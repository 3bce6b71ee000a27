//! Signing in and out.

use std::net::{IpAddr, Ipv4Addr};

use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::CurrentUser;
use crate::server::admin::users;
use crate::server::auth::guard::{self, SEEN_AT, SESSION_EPOCH, SIGNED_IN_AT, USER_ID};
use crate::server::auth::password;
use crate::server::auth::throttle::Refusal;
use crate::server::error::internal;
use crate::server::AppState;

/// "in 1 minute", "in 12 minutes".
fn in_minutes(left: std::time::Duration) -> String {
    let minutes = left.as_secs().div_ceil(60).max(1);
    format!("in {minutes} minute{}", if minutes == 1 { "" } else { "s" })
}

/// Checks the credentials and, on success, starts a fresh session (new id, so a session id
/// planted before sign-in is worthless). Unknown user, disabled user and wrong password all
/// answer the same, in the same time.
pub async fn sign_in(name: &str, password: String) -> Result<CurrentUser, AppError> {
    // Bounded before anything else: an over-long name is never looked up, logged or kept
    // as a throttle key, and an over-long password never reaches Argon2.
    let name = name.trim();
    if name.len() > users::MAX_NAME_LEN {
        return Err(AppError::BadRequest(format!(
            "A user name has at most {} characters.",
            users::MAX_NAME_LEN
        )));
    }
    password::bounded_for_check(&password)?;
    let state = guard::state()?;
    let session = guard::session().await?;
    let client = guard::client_addr()
        .await
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());

    admit(&state, name, client).await?;

    // The attempt counts as a failure from here until it succeeds, whatever happens.
    let user = users::by_name(&state.db, name).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = state.password_checks.verify(password, stored).await?;
    let user = match user {
        Some(user) if matches && !user.disabled => user,
        _ => {
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
    session
        .insert(SESSION_EPOCH, user.session_epoch)
        .await
        .map_err(internal)?;
    tracing::info!(user = %user.name, client = %client, "signed in");
    Ok(CurrentUser {
        id: user.id,
        name: user.name,
        role: user.role,
    })
}

/// Lets an attempt to prove `name`'s password from `client` go ahead, after the throttle's
/// delay, or refuses it. From here the attempt counts as a failure until the caller reports
/// success, so concurrent guesses cannot slip past the limit. Sign-in and a user's own
/// password change share it: a stolen session must not guess the password it lacks.
pub(crate) async fn admit(state: &AppState, name: &str, client: IpAddr) -> Result<(), AppError> {
    match state.throttle.reserve(name, client) {
        Ok(delay) if delay.is_zero() => Ok(()),
        Ok(delay) => {
            tokio::time::sleep(delay).await;
            Ok(())
        }
        Err(Refusal::Pair(left)) => Err(AppError::TooManyRequests(format!(
            "Too many failed sign-ins for this user from your address. Try again {}.",
            in_minutes(left)
        ))),
        Err(Refusal::Name(left)) => {
            tracing::warn!(user = name, client = %client, "sign-in refused: the name is locked");
            Err(AppError::TooManyRequests(format!(
                "Too many failed sign-ins for this user. Try again {}.",
                in_minutes(left)
            )))
        }
    }
}

/// Ends the session: its record is deleted, so the old cookie is dead.
pub async fn sign_out() -> Result<(), AppError> {
    guard::session().await?.flush().await.map_err(internal)
}
