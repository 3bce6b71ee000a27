//! The helping job: an instance that is not running a cycle itself joins the cycle another
//! instance on the same database runs, and checks its share of the addresses. Several
//! instances then finish a large cycle sooner than one would, and a cycle started by
//! `ipvet check` from cron gets the servers' help.

use std::time::Duration;

use crate::error::AppError;
use crate::server::check::cycle;
use crate::server::check::SharedEngine;
use crate::server::AppState;

/// How often an idle instance looks for a cycle to join.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Looks for a running cycle of another instance every second and helps with each one
/// once, for as long as the server runs.
pub async fn help_forever(state: AppState, engine: SharedEngine) {
    let mut helped: Option<i64> = None;
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let silent_for = cycle::dead_after(&state.config());
        let run = match cycle::joinable(&state.db, silent_for).await {
            Ok(Some(run)) if helped != Some(run.id) => run,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(cause = %e, "looking for a cycle to help with failed");
                continue;
            }
        };
        match cycle::help(&state, &engine, run.id).await {
            Ok(Some(claimed)) => {
                helped = Some(run.id);
                tracing::info!(
                    run = run.id,
                    claimed,
                    "helped with another instance's cycle"
                );
            }
            // This instance runs a cycle of its own; the other one waits its turn.
            Ok(None) => {}
            Err(AppError::Conflict(why)) => {
                helped = Some(run.id);
                tracing::info!(run = run.id, %why, "stopped helping");
            }
            Err(e) => {
                helped = Some(run.id);
                tracing::warn!(run = run.id, cause = ?e, "helping with a cycle failed");
            }
        }
    }
}
