//! The one error type of the server-function boundary. The browser sees a clear message;
//! the server logs the full cause of anything unexpected and never sends it out.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("Wrong user name or password.")]
    InvalidCredentials,
    #[error("Your role does not allow this.")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The target's state forbids the request, or changed while it ran.
    #[error("{0}")]
    Conflict(String),
    /// The network has no free address left to hand out.
    #[error("{0}")]
    NetworkFull(String),
    /// No candidate address passed the check before allocation.
    #[error("{0}")]
    CheckFailed(String),
    /// The checks before allocation took longer than `AllocationTimeout`; nothing was
    /// allocated, and a retry may pass.
    #[error("{0}")]
    CheckTimedOut(String),
    /// Well-formed, but cannot be applied as sent (an idempotency key reused for a
    /// different request).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The request took longer than `RequestTimeout` and was cut off: a transaction it
    /// had not committed was rolled back, one it had committed stands.
    #[error("{0}")]
    TimedOut(String),
    #[error("The server could not complete this request. The cause has been logged.")]
    Internal,
    /// The request did not reach a server function, or its answer could not be read.
    #[error("The request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) => {
                AppError::BadRequest(format!("Malformed request: {msg}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
