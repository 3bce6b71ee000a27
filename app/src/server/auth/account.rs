//! A user's own account: changing one's own password. Unlike an admin's reset, the user
//! proves the current password, keeps the session they are using and keeps their API
//! tokens (the programs they run did nothing wrong); every other session of theirs ends,
//! since whoever signed in with the old password elsewhere may not be them.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::AppError;
use crate::server::admin::{audit, users};
use crate::server::auth::guard::{self, Caller, SESSION_EPOCH};
use crate::server::auth::{password, sign_in};
use crate::server::error::internal;

/// What a password change asks for; all three come straight from the form.
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub repeated: String,
}

/// Checks the change, proves the current password, then stores the new one and moves the
/// user's session epoch on in one conditional update with its audit entry. Returns the
/// new epoch, which the caller's own session must carry to stay signed in.
pub async fn change_password(caller: &Caller, change: PasswordChange) -> Result<i64, AppError> {
    // Bounded before Argon2 sees anything, as at sign-in.
    password::bounded_for_check(&change.current)?;
    password::validate_new(&change.new)?;
    if change.new != change.repeated {
        return Err(AppError::BadRequest(
            "The new password and its repetition differ.".into(),
        ));
    }
    if change.new == change.current {
        return Err(AppError::BadRequest(
            "The new password is the current one; choose another.".into(),
        ));
    }
    let state = &caller.state;
    let before = &caller.user;
    let client = caller
        .client_addr
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    sign_in::admit(state, &before.name, client).await?;
    let matches = state
        .password_checks
        .verify(change.current, Some(before.password_hash.clone()))
        .await?;
    if !matches {
        tracing::info!(user = %before.name, client = %client, "password change refused: wrong current password");
        return Err(AppError::BadRequest(
            "The current password is wrong.".into(),
        ));
    }
    state.throttle.succeeded(&before.name, client);

    let hash = password::hash(change.new).await?;
    let txn = crate::server::db::begin_write(&state.db).await?;
    // Conditional on the row read when this request was authorised, whose password was
    // just proved: a reset or another change meanwhile wins and this one is refused.
    users::set_password_ending_sessions(&txn, before, hash).await?;
    audit::record(
        &txn,
        caller,
        "user.change_password",
        &before.name,
        None,
        Some("other sessions ended, API tokens kept".into()),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(user = %before.name, client = %client, "password changed by its user");
    Ok(before.session_epoch + 1)
}

/// [`change_password`] for the signed-in user of this request: their session carries the
/// new epoch, under a new id, so it alone of their sessions lives on.
pub async fn change_own_password(caller: &Caller, change: PasswordChange) -> Result<(), AppError> {
    let epoch = change_password(caller, change).await?;
    let session = guard::session().await?;
    session
        .insert(SESSION_EPOCH, epoch)
        .await
        .map_err(internal)?;
    session.cycle_id().await.map_err(internal)
}
