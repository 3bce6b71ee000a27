//! Background jobs' work told apart from requests': statements a job runs are not what
//! any request costs, so [`AppState::statements`](crate::server::AppState) leaves them out
//! and a test counting what a request costs is not disturbed by a job that ran meanwhile.

tokio::task_local! {
    static BACKGROUND: ();
}

/// Runs `work` (a background job's) marked as such. Tasks it spawns are not marked unless
/// they call this too.
pub async fn in_background<F: std::future::Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

/// Whether the current task is a background job's.
pub fn running() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}
