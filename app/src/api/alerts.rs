//! The Alerts page: alert targets, their filters and delivery logs (admin only: a target
//! holds a secret and decides where the inventory's news goes).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AlertDeliveryView, AlertTargetForm, AlertTargetView, NewAlertTargetView};

#[server(endpoint = "alerts/list")]
pub async fn list_alert_targets() -> Result<Vec<AlertTargetView>, AppError> {
    use crate::model::Role;
    use crate::server::{alerts::targets, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        targets::views(&caller.state.db).await
    })
    .await
}

/// Adds a target from the page's form. The answer carries the signing secret ipvet made,
/// shown this once.
#[server(endpoint = "alerts/add")]
pub async fn add_alert_target(target: AlertTargetForm) -> Result<NewAlertTargetView, AppError> {
    use crate::model::Role;
    use crate::server::{alerts::targets, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let (row, secret) = targets::add(&caller, &target).await?;
        Ok(NewAlertTargetView {
            target: targets::view_of(&caller.state.db, &row).await?,
            secret,
        })
    })
    .await
}

#[server(endpoint = "alerts/set_enabled")]
pub async fn set_alert_target_enabled(target_id: i64, enabled: bool) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{alerts::targets, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        targets::set_enabled(&caller, target_id, enabled).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "alerts/delete")]
pub async fn delete_alert_target(target_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{alerts::targets, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        targets::delete(&caller, target_id).await
    })
    .await
}

/// Sends a test message to the target now; the answer is the logged delivery.
#[server(endpoint = "alerts/test")]
pub async fn test_alert_target(target_id: i64) -> Result<AlertDeliveryView, AppError> {
    use crate::model::Role;
    use crate::server::{alerts::delivery, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let tried = delivery::send_test(&caller, target_id).await?;
        Ok(crate::server::alerts::targets::delivery_view(tried))
    })
    .await
}
