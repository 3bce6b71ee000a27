//! The config page (admin): the effective configuration with each value's source, and the
//! check settings that may be changed here.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SettingView;

#[server(endpoint = "settings/list")]
pub async fn list_settings() -> Result<Vec<SettingView>, AppError> {
    use crate::model::Role;
    use crate::server::{admin::settings, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        Ok(settings::views(&caller.state.config()))
    })
    .await
}

/// Saves one setting; it takes effect at once.
#[server(endpoint = "settings/save")]
pub async fn save_setting(key: String, value: String) -> Result<Vec<SettingView>, AppError> {
    use crate::model::Role;
    use crate::server::{admin::settings, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        settings::save(&caller, &key, &value).await
    })
    .await
}

/// Drops a saved setting, so its default applies again.
#[server(endpoint = "settings/reset")]
pub async fn reset_setting(key: String) -> Result<Vec<SettingView>, AppError> {
    use crate::model::Role;
    use crate::server::{admin::settings, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        settings::reset(&caller, &key).await
    })
    .await
}
