//! Server side of [`AppError`]: its HTTP status, logging of unexpected causes, and the
//! wrapper every server function runs its body in.

use std::future::Future;

use http::StatusCode;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::error::AppError;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::NetworkFull(_) | AppError::CheckFailed(_) => {
                StatusCode::CONFLICT
            }
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::CheckTimedOut(_) | AppError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Logs the whole cause chain of an unexpected failure and returns the generic error the
/// client may see.
pub fn internal(err: impl std::error::Error) -> AppError {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(cause = %chain, "request failed");
    AppError::Internal
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        internal(err)
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        internal(err)
    }
}

/// Runs a server function's body and gives a failure its HTTP status. A plain HTML form
/// post (no JavaScript) keeps the redirect back to its page instead: Leptos carries the
/// error there in the URL, and a 4xx status would stop the browser from following it.
///
/// A panic in the body is a bug, answered as an internal error and logged. Left to
/// unwind, it would drop the connection of a direct call and, worse, leave a page that
/// rendered the call on the server waiting for it forever.
pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    use futures::FutureExt;
    let result = match std::panic::AssertUnwindSafe(body).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            tracing::error!(panic = panic_text(&*panic), "a server function panicked");
            Err(AppError::Internal)
        }
    };
    if let Err(err) = &result {
        if !html_form_post() {
            if let Some(options) = use_context::<ResponseOptions>() {
                options.set_status(err.status());
            }
        }
    }
    result
}

/// Whether this server function was called by a plain HTML form post, from a browser
/// without JavaScript: it is answered with a redirect back to the page, not with a value.
pub(crate) fn html_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// What a panic said, when it said it with a string.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Errors raised before a server function's body runs (its arguments failed to decode)
/// leave Leptos' fixed 500. This gives them the status of the [`AppError`] they carry, so
/// malformed input answers 400 like any other bad input.
pub async fn status_from_error_body(res: axum::response::Response) -> axum::response::Response {
    const MAX_ERROR_BODY: usize = 64 * 1024;
    let is_fn_error = res
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER);
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !is_fn_error {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(cause = %e, "reading a server function's error body failed");
            return axum::response::Response::from_parts(parts, axum::body::Body::empty());
        }
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = err.status();
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page renders its server functions on the server: one that unwound instead of
    /// answering left the page waiting for it until the client gave up.
    #[tokio::test]
    async fn a_panicking_server_function_answers_an_internal_error() {
        let answer: Result<(), AppError> = respond(async {
            if std::hint::black_box(true) {
                panic!("a bug");
            }
            Ok(())
        })
        .await;
        assert!(matches!(answer, Err(AppError::Internal)), "{answer:?}");
    }
}
