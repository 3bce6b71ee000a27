//! Check cycles: start one now (the "run now" entry point of pages and the API).

use leptos::prelude::*;

use crate::error::AppError;

/// Starts a check cycle in the background and answers with its id; refused while one runs.
#[server(endpoint = "checks/run_now")]
pub async fn run_check_now() -> Result<i64, AppError> {
    use crate::model::Role;
    use crate::model::Trigger;
    use crate::server::check::cycle;
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        cycle::start_in_background(&caller.state, Trigger::Manual).await
    })
    .await
}

/// Check cycles, newest first (50 a page).
#[server(endpoint = "checks/list")]
pub async fn list_check_runs(before: Option<i64>) -> Result<crate::model::CheckRunList, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::runs, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        runs::list(&caller.state, before).await
    })
    .await
}

/// One cycle's counts: what the pages poll while it runs.
#[server(endpoint = "checks/get")]
pub async fn get_check_run(run_id: i64) -> Result<crate::model::CheckRunView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::runs, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        runs::get(&caller.state.db, run_id).await
    })
    .await
}

/// One cycle with a page of its verdicts.
#[server(endpoint = "checks/detail")]
pub async fn check_run_detail(
    run_id: i64,
    after: Option<String>,
) -> Result<crate::model::CheckRunDetail, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::runs, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        runs::detail(&caller.state.db, run_id, after.as_deref()).await
    })
    .await
}

/// Asks a running cycle to stop.
#[server(endpoint = "checks/cancel")]
pub async fn cancel_check_run(run_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::check::cycle;
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        cycle::cancel(&caller, run_id).await
    })
    .await
}

/// The id of the newest check cycle, or none: what an idle page polls to notice a cycle
/// started elsewhere, one indexed read.
#[server(endpoint = "checks/latest_id")]
pub async fn latest_check_run_id() -> Result<Option<i64>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::runs, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        runs::latest_id(&caller.state.db).await
    })
    .await
}
