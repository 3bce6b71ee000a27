//! Headers every response carries so a browser treats ipvet's pages as they are meant:
//! never sniffed into another type, never framed by another site, never leaking their
//! address to another site, where they hold anything of a user's never cached, and never
//! running a script the server did not send for them (`Content-Security-Policy`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};

/// A page's policy. Its scripts are the site's own files and the inline ones carrying this
/// response's `nonce` (the hydration script and the data Leptos hands the hydrating app);
/// the wasm module needs `'wasm-unsafe-eval'` to be compiled. Styles are the site's
/// stylesheet only: no page has an inline style, so an injected `style` attribute or
/// element does nothing.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of everything that is not a page (REST and server-function JSON, CSV,
/// static files, redirects, errors): nothing may load or run in it, should a browser
/// ever render one as a document.
pub const STRICT_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Gives the page being rendered its policy, with the nonce Leptos made for this response
/// and put on its scripts. Called from the shell, the one place every page is rendered;
/// a response that does not come through it gets [`STRICT_POLICY`].
pub fn set_page_policy() {
    let nonce = leptos::nonce::use_nonce();
    let options = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(options)) = (nonce, options) {
        match HeaderValue::from_str(&page_policy(&nonce)) {
            Ok(policy) => options.insert_header(header::CONTENT_SECURITY_POLICY, policy),
            // A nonce is base64: this cannot happen, and the strict policy stands if it does.
            Err(e) => tracing::error!(cause = %e, "a page's nonce is not a header value"),
        }
    }
}

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
    set(header::CONTENT_SECURITY_POLICY, STRICT_POLICY);
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
    fn a_page_policy_names_its_nonce_and_frames_nothing() {
        let policy = page_policy("abc_123-X");
        assert!(
            policy.contains("script-src 'self' 'nonce-abc_123-X' 'wasm-unsafe-eval';"),
            "{policy}"
        );
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(policy.contains(directive), "{directive}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(HeaderValue::from_str(&policy).is_ok());
    }

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
