//! Dashboard figures.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::DashboardSummary;

#[server(endpoint = "dashboard/summary")]
pub async fn load_dashboard() -> Result<DashboardSummary, AppError> {
    use crate::model::Role;
    use crate::server::{admin::dashboard, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        crate::server::request_memo::once("dashboard".into(), || dashboard::summary(&caller.state))
            .await
    })
    .await
}
