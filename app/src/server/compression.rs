//! Compressed answers, for admins far away: pages, server functions, the API, CSV exports
//! and the site's files go out with brotli or gzip when the client accepts it.
//!
//! Compression lets an attacker who can put text of their choosing into an answer learn a
//! secret in the same answer from its compressed length (BREACH). ipvet's pages and
//! answers hold no secret (no CSRF token; the session cookie travels in a header, which is
//! not compressed) with one exception: the answer that shows a new API token's secret,
//! beside the token's name. That answer is never compressed.

use std::io;

use async_compression::brotli::EncoderParams;
use async_compression::tokio::bufread::BrotliEncoder;
use async_compression::Level;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures::TryStreamExt;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, VARY,
};
use http::{HeaderMap, HeaderValue};
use tokio_util::io::{ReaderStream, StreamReader};
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
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

/// Brotli's window for answers compressed as they are sent, as a power of two: 64 KB. Each
/// answer's encoder clears a ring buffer of twice its window and 64 KB more, as the
/// answer's second piece of markup comes; at brotli's default window (4 MB) that clearing
/// was most of what brotli cost: the benchmark's network page served 542-564 requests/s
/// with brotli against 833-848 without, 711-735 at this window, for 6,758 bytes instead of
/// 6,731 (docs/benchmarks.md). A longer answer, a CSV export say, finds repeats 64 KB back.
pub const BROTLI_WINDOW_BITS: i32 = 16;

/// Brotli or gzip (the encodings built in), as the client accepts, at [`LEVEL`]; small
/// answers, images and the like as they are (tower-http's default predicate). Inside it,
/// [`brotli_in_a_small_window`] answers the clients that choose brotli, and this layer
/// passes what that compressed on as it is.
pub fn layer() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(LEVEL))
}

/// Inside [`layer`]: an answer to a client that prefers brotli goes out as brotli at
/// [`LEVEL`] over a [`BROTLI_WINDOW_BITS`] window, which tower-http's layer offers no way to
/// choose. It compresses what that layer would (its default predicate; nothing already
/// compressed, such as the site's precompressed files, nor a range) and marks the answer
/// as varying by `Accept-Encoding`, as that layer does.
pub async fn brotli_in_a_small_window(req: Request, next: Next) -> Response {
    let brotli = prefers_brotli(req.headers());
    let res = next.run(req).await;
    if !brotli
        || res.headers().contains_key(CONTENT_ENCODING)
        || res.headers().contains_key(CONTENT_RANGE)
        || !DefaultPredicate::new().should_compress(&res)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(ACCEPT_RANGES);
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
    let varies = parts.headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
        })
    });
    if !varies {
        parts
            .headers
            .append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    let params = EncoderParams::default()
        .quality(Level::Precise(LEVEL))
        .window_size(BROTLI_WINDOW_BITS);
    let markup = StreamReader::new(body.into_data_stream().map_err(io::Error::other));
    let encoded = ReaderStream::new(BrotliEncoder::with_params(markup, params));
    Response::from_parts(parts, Body::from_stream(encoded))
}

/// Whether the client's `Accept-Encoding` makes brotli its choice among what ipvet sends:
/// accepted (a q-value above 0), and valued at least as much as gzip and as the answer
/// unencoded (`identity`). The rule tower-http's layer chooses by, brotli first on a tie; a
/// token or q-value that does not parse is left out, as there.
pub fn prefers_brotli(headers: &HeaderMap) -> bool {
    let (mut br, mut others) = (0u16, 0u16);
    let offers = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for offer in offers {
        let (name, q) = match offer.split_once(';') {
            Some((name, q)) => match q_value(q.trim()) {
                Some(q) => (name.trim(), q),
                None => continue,
            },
            None => (offer.trim(), 1000),
        };
        if name.eq_ignore_ascii_case("br") {
            br = br.max(q);
        } else if ["gzip", "x-gzip", "identity"]
            .iter()
            .any(|known| name.eq_ignore_ascii_case(known))
        {
            others = others.max(q);
        }
    }
    br > 0 && br >= others
}

/// A q-value (`q=0.5`) in thousandths; `None` unless it is one (RFC 9110 12.4.2: 0 to 1, at
/// most three decimals).
fn q_value(text: &str) -> Option<u16> {
    let value = text
        .strip_prefix("q=")
        .or_else(|| text.strip_prefix("Q="))?;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'));
    match (whole, thousandths) {
        ("0", n) => Some(n),
        ("1", 0) => Some(1000),
        _ => None,
    }
}

/// Outside [`layer`]: a request for an answer that carries a secret is handled as if the
/// client accepted no compression.
pub async fn keep_secrets_uncompressed(mut req: Request, next: Next) -> Response {
    if NEVER_COMPRESSED.contains(&req.uri().path()) {
        req.headers_mut().remove(ACCEPT_ENCODING);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn brotli_is_chosen_as_tower_http_would_choose_it() {
        for (offer, chosen) in [
            ("gzip, deflate, br, zstd", true),
            ("br", true),
            ("BR;q=0.5, gzip;q=0.5", true),
            ("gzip", false),
            ("", false),
            ("br;q=0", false),
            ("br;q=0.4, gzip;q=0.5", false),
            ("identity, br;q=0.9", false),
            ("br;q=0.001", true),
            ("br;q=1.0, gzip", true),
            // Not a q-value: the offer is left out.
            ("br;q=2, gzip", false),
            ("br;q=0.5000", false),
            ("br;level=1", false),
            ("*", false),
        ] {
            assert_eq!(prefers_brotli(&accepting(offer)), chosen, "{offer}");
        }
        assert!(!prefers_brotli(&HeaderMap::new()));
    }

    #[test]
    fn q_values_read_as_thousandths() {
        assert_eq!(q_value("q=0"), Some(0));
        assert_eq!(q_value("q=0.25"), Some(250));
        assert_eq!(q_value("Q=1.000"), Some(1000));
        assert_eq!(q_value("q=1.001"), None);
        assert_eq!(q_value("q=0.-1"), None);
        assert_eq!(q_value("q="), None);
        assert_eq!(q_value("q=.5"), None);
    }

    proptest::proptest! {
        /// Whatever a client sends, the choice is made without a panic, and brotli is
        /// chosen only when the header names it.
        #[test]
        fn any_accept_encoding_is_read(offer in "[ -~]{0,80}") {
            let Ok(value) = HeaderValue::from_str(&offer) else { return Ok(()) };
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT_ENCODING, value);
            if prefers_brotli(&headers) {
                proptest::prop_assert!(offer.to_ascii_lowercase().contains("br"));
            }
        }

        #[test]
        fn any_q_value_is_read(text in "[qQ=0-9.]{0,8}") {
            if let Some(q) = q_value(&text) {
                proptest::prop_assert!(q <= 1000);
            }
        }
    }
}
