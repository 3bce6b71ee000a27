//! The answer to a request that outlived `RequestTimeout`. tower-http's `TimeoutLayer`
//! (added in the server's router) drops the request's work and answers a bare status;
//! this gives that answer a message in the shape its caller reads: the REST API's JSON
//! error, a server function's [`AppError`], or text for a browser.

use std::time::Duration;

use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

use crate::error::AppError;
use crate::server::rest::{self, error::ApiError};

/// What the `TimeoutLayer` answers: 503, the server failed to answer in time. Not 408,
/// which says the client was too slow to send its request, and which browsers may resend
/// on their own.
pub const STATUS: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

/// The middleware around the `TimeoutLayer`; `limit` is its timeout, for the message.
pub async fn explain(limit: Duration, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let res = next.run(req).await;
    // Every other answer has a type and a body; the layer's own has neither.
    let bare = res.status() == STATUS
        && !res.headers().contains_key(header::CONTENT_TYPE)
        && res.body().size_hint().exact() == Some(0);
    if !bare {
        return res;
    }
    tracing::warn!(path = %path, limit = %humantime::format_duration(limit), "a request took longer than RequestTimeout and was cut off");
    let err = AppError::TimedOut(format!(
        "The server did not finish this request within {} (RequestTimeout) and stopped \
         working on it. Try again; if it keeps happening, an admin finds the request in the \
         server's log.",
        humantime::format_duration(limit)
    ));
    let under = |base: &str| {
        path.strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under(rest::BASE) {
        ApiError::from(err).into_response()
    } else if under("/api") && !wants_html {
        // As a server function answers its errors, so the hydrated page shows the message.
        let body = serde_json::to_string(&err).unwrap_or_default();
        (
            STATUS,
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    http::HeaderName::from_static(leptos::server_fn::error::SERVER_FN_ERROR_HEADER),
                    path.as_str(),
                ),
            ],
            body,
        )
            .into_response()
    } else {
        (STATUS, err.to_string()).into_response()
    }
}
