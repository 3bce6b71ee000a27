//! Compressed answers, for admins far away: pages, server functions, the API, CSV exports
//! and the site's files go out with brotli or gzip when the client accepts it.
//!
//! Compression lets an attacker who can put text of their choosing into an answer learn a
//! secret in the same answer from its compressed length (BREACH). ipvet's pages and
//! answers hold no secret (no CSRF token; the session cookie travels in a header, which is
//! not compressed) with one exception: the answer that shows a new API token's secret,
//! beside the token's name. That answer is never compressed.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::ACCEPT_ENCODING;
use tower_http::compression::CompressionLayer;
use tower_http::CompressionLevel;

/// Paths whose answers carry a secret and are never compressed.
pub const NEVER_COMPRESSED: [&str; 1] = ["/api/tokens/create"];

/// How hard answers are compressed as they are sent: brotli's default (its best, 11) took
/// 370 ms of the server's time for a network page of 100 rows, for 5.6 KB. At 4 a browser's
/// view of a network page still served little more than half as many requests as one asking
/// for no compression (377 against 652 a second, docs/benchmarks.md); at 2 brotli uses its
/// fast hashers (for the page measured apart: 6.8 KB in 0.23 ms against 6.2 KB in 0.54 ms at
/// 4). The site's files are compressed at their best once, when they are built.
pub const LEVEL: i32 = 2;

/// Brotli or gzip (the encodings built in), as the client accepts, at [`LEVEL`]; small
/// answers, images and the like as they are (tower-http's default predicate).
pub fn layer() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(LEVEL))
}

/// Outside [`layer`]: a request for an answer that carries a secret is handled as if the
/// client accepted no compression.
pub async fn keep_secrets_uncompressed(mut req: Request, next: Next) -> Response {
    if NEVER_COMPRESSED.contains(&req.uri().path()) {
        req.headers_mut().remove(ACCEPT_ENCODING);
    }
    next.run(req).await
}
