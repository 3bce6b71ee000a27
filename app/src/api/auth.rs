//! Signing in and out, and who is signed in. These three are open to anonymous callers.

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
