//! Check cycles: start one now (the "run now" entry point of pages and the API).

use leptos::prelude::*;

use crate::error::AppError;

/// Starts a check cycle in the background and answers with its id; refused while one runs.
#[server(endpoint = "checks/run_now")]
pub async fn run_check_now() -> Result<i64, AppError> {
    use crate::model::Role;
    use crate::server::check::cycle::{self, Trigger};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        let state = caller.state.clone();
        let engine = state.checks.clone();
        let started = cycle::start(&state, &engine, Trigger::Manual).await?;
        let run_id = started.run_id;
        tokio::spawn(async move {
            if let Err(e) = cycle::run(&state, &engine, started, |_| {}).await {
                tracing::error!(run = run_id, cause = ?e, "check cycle failed");
            }
        });
        Ok(run_id)
    })
    .await
}
