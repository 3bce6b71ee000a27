//! Headers every response carries so a browser treats ipvet's pages as they are meant:
//! never sniffed into another type, never framed by another site, never leaking their
//! address to another site, and, where they hold anything of a user's, never cached.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};

/// The site's static files (the wasm bundle, its script, the stylesheet, icons), which hold
/// nothing of any user's and may be cached; everything else may.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

/// The middleware: sets each header the handler did not set itself. `hsts` when the site is
/// served over HTTPS (`SecureCookies on`): a browser that saw it once never tries plain
/// HTTP again.
pub async fn security_headers(hsts: bool, req: Request, next: Next) -> Response {
    let cacheable = is_static(req.uri().path());
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Same-origin requests keep their Referer: a form posted without JavaScript is sent
    // back to the page it came from by it.
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    if !cacheable {
        // Pages, server functions, API answers, CSV exports and token secrets alike.
        set(header::CACHE_CONTROL, "no-store");
    }
    if hsts {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_site_bundle_is_cacheable() {
        assert!(is_static("/pkg/ipvet.wasm"));
        assert!(is_static("/pkg/ipvet.css"));
        assert!(!is_static("/"));
        assert!(!is_static("/networks/1/addresses.csv"));
        assert!(!is_static("/api/v1/tokens"));
        assert!(!is_static("/pkgx"));
    }
}
