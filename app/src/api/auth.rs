//! Signing in and out, who is signed in, changing one's own password, and the notice a page
//! shows after a form post without JavaScript. All but the password change are open to
//! anonymous callers.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::CurrentUser;

#[server(endpoint = "auth/login")]
pub async fn login(name: String, password: String) -> Result<CurrentUser, AppError> {
    use crate::server::{auth::sign_in, respond};
    respond(async {
        // Anyone may try to sign in; throttling lives in sign_in.
        let user = sign_in::sign_in(&name, password).await?;
        leptos_axum::redirect("/");
        Ok(user)
    })
    .await
}

#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{auth::sign_in, respond};
    respond(async {
        // Anyone may sign out, signed in or not.
        sign_in::sign_out().await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

#[server(endpoint = "auth/me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use crate::server::{auth::guard, respond};
    respond(async {
        // Open to anonymous callers: the answer for them is `None`.
        Ok(guard::current().await?.map(|c| c.view()))
    })
    .await
}

/// The signed-in user changes their own password: every other session of theirs ends, this
/// one stays, their API tokens keep working.
#[server(endpoint = "auth/change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    repeat_password: String,
) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::auth::account::{self, PasswordChange};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        // Any signed-in user, whatever their role, may change their own password.
        let caller = require(Role::Viewer).await?;
        account::change_own_password(
            &caller,
            PasswordChange {
                current: current_password,
                new: new_password,
                repeated: repeat_password,
            },
        )
        .await
    })
    .await
}

/// What a refused form post without JavaScript sent, for the page that shows its refusal
/// to fill its fields again ([`crate::model::FormDraft`]), from the caller's own session.
#[server(endpoint = "auth/draft")]
pub async fn refused_draft() -> Result<Option<crate::model::FormDraft>, AppError> {
    use crate::server::{notice, respond};
    respond(async {
        // Open to anyone: it reads the caller's own session only.
        notice::draft_for_this_page().await
    })
    .await
}

/// The notice a form post without JavaScript left for this page ([`crate::model::Notice`]),
/// taken from the caller's own session.
#[server(endpoint = "auth/notice")]
pub async fn take_notice() -> Result<Option<crate::model::Notice>, AppError> {
    use crate::server::{notice, respond};
    respond(async {
        // Open to anyone: it reads and clears the caller's own session only.
        notice::take().await
    })
    .await
}
