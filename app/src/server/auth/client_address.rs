//! Who the client is when ipvet sits behind a reverse proxy: every connection then comes
//! from the proxy, so 8 bad tries locked an account for everyone and the audit log named the
//! proxy. Only a proxy listed in `TrustedProxies` is believed about the client it forwards
//! for; anyone else could write any address into those headers.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;

use crate::server::config::NetworkList;
use crate::server::AppState;

/// Hops read from the headers at most: a longer chain is someone's invention.
const MOST_HOPS: usize = 64;

/// The middleware: where the connection comes from a trusted proxy, the address it forwards
/// for becomes the request's client address (`ConnectInfo`), which the throttle, the audit
/// log and the sessions read.
pub async fn behind_proxies(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let trusted = &state.config().trusted_proxies;
    if !trusted.0.is_empty() {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        if let Some(client) = peer.and_then(|p| forwarded_client(p.ip(), req.headers(), trusted)) {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, 0)));
        }
    }
    next.run(req).await
}

/// The client a request from `peer` is for, when `peer` is a trusted proxy and says so:
/// from the nearest hop back, the first address that is not itself a trusted proxy.
pub fn forwarded_client(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &NetworkList,
) -> Option<IpAddr> {
    if !trusted.contains(peer) {
        return None;
    }
    let hops = forwarded_for(headers);
    hops.iter()
        .rev()
        .find(|hop| !trusted.contains(**hop))
        .or(hops.first())
        .map(|hop| hop.to_canonical())
}

/// The hops a request went through, the client first: RFC 7239's `Forwarded: for=…` where
/// present, else `X-Forwarded-For`.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .take(MOST_HOPS)
            .map(str::to_string)
            .collect()
    };
    let forwarded: Vec<IpAddr> = values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node(value))
                    .flatten()
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    values("x-forwarded-for")
        .iter()
        .filter_map(|hop| node(hop))
        .collect()
}

/// One hop's address: `192.0.2.60`, `192.0.2.60:8080`, `"[2001:db8::1]:4711"` or
/// `2001:db8::1`; obfuscated names (`_hidden`, `unknown`) are none.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ConfigValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let trusted = NetworkList::parse_value("127.0.0.1 10.0.0.0/8").unwrap();
        let xff = headers(&[("x-forwarded-for", "198.18.0.9")]);
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &xff, &trusted),
            Some(ip("198.18.0.9"))
        );
        assert_eq!(forwarded_client(ip("198.18.0.66"), &xff, &trusted), None);
        // A client that writes its own header gets the proxy's next hop, not its invention.
        let chain = headers(&[("x-forwarded-for", "203.0.113.1, 198.18.0.9, 10.1.2.3")]);
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &chain, &trusted),
            Some(ip("198.18.0.9"))
        );
        // RFC 7239 wins over X-Forwarded-For.
        let both = headers(&[
            (
                "forwarded",
                r#"for="[2001:2::7]:4711";proto=https, for=10.0.0.5"#,
            ),
            ("x-forwarded-for", "198.18.0.9"),
        ]);
        assert_eq!(
            forwarded_client(ip("10.9.9.9"), &both, &trusted),
            Some(ip("2001:2::7"))
        );
        // IPv4 behind an IPv4-mapped peer address.
        assert_eq!(
            forwarded_client(ip("::ffff:127.0.0.1"), &xff, &trusted),
            Some(ip("198.18.0.9"))
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn any_forwarding_header_is_read_without_a_panic(v in "[ -~]{0,200}") {
            let trusted = NetworkList::parse_value("127.0.0.1").unwrap();
            if let Ok(value) = http::HeaderValue::from_str(&v) {
                for name in ["forwarded", "x-forwarded-for"] {
                    let mut h = HeaderMap::new();
                    h.insert(name, value.clone());
                    let _ = forwarded_client(ip("127.0.0.1"), &h, &trusted);
                }
            }
        }
    }
}
