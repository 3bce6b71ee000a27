//! Cross-site request refusal. Session cookies are SameSite=Strict already; this also
//! refuses state-changing requests that a browser marks as cross-site or that carry a
//! foreign `Origin`, for browsers or proxies that do not honour SameSite.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, Method, StatusCode};

pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let foreign_origin = headers.get(header::ORIGIN).is_some_and(|origin| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin.to_str().ok().and_then(|o| {
            o.split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/'))
        });
        match (origin_host, host) {
            (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
            // `Origin: null` (sandboxed frames, some redirects) or no Host: not provably ours.
            _ => true,
        }
    });
    if cross_site || foreign_origin {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-site request");
        return (StatusCode::FORBIDDEN, "Cross-site requests are refused.").into_response();
    }
    next.run(req).await
}
