//! Cross-site request refusal for the cookie-authenticated pages and server functions.
//! Session cookies are SameSite=Strict already; this also refuses state-changing requests
//! that do not prove they come from ipvet's own pages, for browsers or proxies that do not
//! honour SameSite. Every browser sends `Origin` on a POST (a form posted without
//! JavaScript included) and `Sec-Fetch-Site` on every request, so a request with neither
//! did not come from a browser showing ipvet's pages; programs use the REST API, which
//! reads no cookie and is not behind this check.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, Method, StatusCode};

use crate::server::config::PublicUrl;
use crate::server::AppState;

/// Why a request was refused; each answer says what the request lacked.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Neither `Origin` nor `Sec-Fetch-Site`.
    Unproven,
    /// The browser says the request comes from another site.
    CrossSite,
    /// `Origin` names another origin than ipvet's own (or `null`).
    ForeignOrigin,
}

impl Refusal {
    fn message(&self) -> &'static str {
        match self {
            Refusal::Unproven => {
                "Refused: this request carries neither an Origin nor a Sec-Fetch-Site header, \
                 which browsers send from ipvet's own pages. Programs use the REST API \
                 (/api/v1) with a token."
            }
            Refusal::CrossSite => "Refused: cross-site requests are not accepted.",
            Refusal::ForeignOrigin => {
                "Refused: the request's Origin is not this site's address (PublicUrl, or the \
                 Host the request names when PublicUrl is not set)."
            }
        }
    }
}

/// Decides whether a request may change state. `public` is the configured public
/// address; unset, the request's own `Host` header stands in for it (behind a proxy that
/// rewrites Host, set `PublicUrl`).
pub fn check(
    method: &Method,
    headers: &HeaderMap,
    public: Option<&PublicUrl>,
) -> Result<(), Refusal> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = text("sec-fetch-site");
    // `same-site` is a sibling subdomain, another site as far as ipvet is concerned.
    if fetch_site.is_some_and(|v| !v.eq_ignore_ascii_case("same-origin")) {
        return Err(Refusal::CrossSite);
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let origin = origin.to_str().unwrap_or_default();
            let ours = match public {
                Some(public) => public.is_origin(origin),
                None => PublicUrl::parse_origin(origin)
                    .zip(text("host"))
                    .is_some_and(|(origin, host)| origin.is_host(host)),
            };
            if ours {
                Ok(())
            } else {
                Err(Refusal::ForeignOrigin)
            }
        }
        None if fetch_site.is_some() => Ok(()),
        None => Err(Refusal::Unproven),
    }
}

/// The middleware in front of the pages and server functions.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let public = state.config().public_url.clone();
    if let Err(refusal) = check(req.method(), req.headers(), public.as_ref()) {
        tracing::warn!(
            method = %req.method(),
            path = %req.uri().path(),
            why = ?refusal,
            "refused a cross-site request"
        );
        return (StatusCode::FORBIDDEN, refusal.message()).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ConfigValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn post(pairs: &[(&'static str, &str)], public: Option<&str>) -> Result<(), Refusal> {
        let public = public.map(|p| PublicUrl::parse_value(p).unwrap());
        check(&Method::POST, &headers(pairs), public.as_ref())
    }

    #[test]
    fn reads_are_never_refused() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(check(&method, &HeaderMap::new(), None), Ok(()));
        }
    }

    #[test]
    fn a_state_change_must_prove_its_origin() {
        let host = ("host", "ipam.example.net:3000");
        assert_eq!(post(&[host], None), Err(Refusal::Unproven));
        assert_eq!(
            post(&[host, ("sec-fetch-site", "same-origin")], None),
            Ok(())
        );
        for site in ["cross-site", "same-site", "none"] {
            assert_eq!(
                post(&[host, ("sec-fetch-site", site)], None),
                Err(Refusal::CrossSite),
                "{site}"
            );
        }
        assert_eq!(
            post(&[host, ("origin", "http://ipam.example.net:3000")], None),
            Ok(())
        );
        for origin in [
            "http://evil.example:3000",
            "http://ipam.example.net",
            "null",
            "ipam.example.net:3000",
        ] {
            assert_eq!(
                post(&[host, ("origin", origin)], None),
                Err(Refusal::ForeignOrigin),
                "{origin}"
            );
        }
        // No Host to compare with: not provably ours.
        assert_eq!(
            post(&[("origin", "http://ipam.example.net:3000")], None),
            Err(Refusal::ForeignOrigin)
        );
    }

    #[test]
    fn the_public_url_decides_over_the_host_header() {
        let public = Some("https://ipam.example.net");
        // Behind a proxy, Host is the backend's address; the browser's Origin is public.
        let host = ("host", "127.0.0.1:3000");
        assert_eq!(
            post(&[host, ("origin", "https://ipam.example.net")], public),
            Ok(())
        );
        assert_eq!(
            post(&[host, ("origin", "http://127.0.0.1:3000")], public),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            post(&[host, ("origin", "http://ipam.example.net")], public),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(post(&[host], public), Err(Refusal::Unproven));
    }
}
