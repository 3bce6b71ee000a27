//! Transport hardening (issue 17): a request that takes too long is answered, not left
//! hanging; state changes through the pages must come from the site's own origin; pages
//! run only the scripts the server sent them.

use std::time::Duration;

use app::model::Role;
use app::server::config::{Config, ConfigValue, PublicUrl};
use serde_json::json;

use crate::helpers::{error_of, poll, script, TestApp, REQUEST_TIMEOUT};

/// An allocation whose checker takes far longer than `RequestTimeout`, through a server
/// function and through the API: each caller gets the timeout's answer in its own shape,
/// the server serves others meanwhile, and nothing is allocated.
#[tokio::test]
async fn a_request_longer_than_the_request_timeout_is_answered() {
    let started = tempfile::tempdir().unwrap();
    let marker = started.path().join("started");
    let checker = script(&format!(
        "touch '{}'; sleep 29.75; echo OK",
        marker.display()
    ));
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.check_timeout = Duration::from_secs(60);
        // The loader refuses these together (the request timeout must outlast the
        // allocation's, whose own error is the clearer one); set here directly, they make
        // an allocation that outlives its request.
        c.allocation_timeout = Duration::from_secs(60);
        c.request_timeout = Duration::from_secs(2);
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    let form = [
        ("network_id", net.as_str()),
        ("owner", "o"),
        ("hostname", ""),
        ("note", ""),
    ];
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let (slow, served) = tokio::join!(
        app.call_fn(&admin, "/api/addresses/allocate", &form),
        async {
            let running = poll(REQUEST_TIMEOUT, Duration::from_millis(50), async || {
                marker.exists().then_some(())
            })
            .await;
            assert!(running.is_some(), "the checker never ran");
            app.whoami(&viewer).await
        }
    );
    assert_eq!(served.as_deref(), Some("vera"), "another request is served");
    let (status, body) = slow;
    assert_eq!(status, 503, "{body}");
    let message = body["TimedOut"].as_str().unwrap_or_default();
    assert!(message.contains("RequestTimeout"), "{body}");
    assert!(message.contains("2s"), "{body}");

    let secret = app.token_of("root").await;
    let res = crate::helpers::http_client(&app.base)
        .build()
        .unwrap()
        .post(format!("{}/api/v1/networks/{net}/allocations", app.base))
        .bearer_auth(&secret)
        .json(&json!({"owner": "o"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(res).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("RequestTimeout")),
        "{body}"
    );

    app.assert_cut_off_cleanly(&admin, &net, "6", "sleep 29.75", Duration::from_secs(10))
        .await;
}

/// The timeout's answer for each kind of caller, around a handler that never answers: a
/// browser reads text, a server function's caller its error, the API its JSON error.
#[tokio::test]
async fn the_timeout_answer_takes_the_callers_shape() {
    let never = || async { std::future::pending::<&'static str>().await };
    let router = server::startup::with_request_timeout(
        axum::Router::new()
            .route("/slow", axum::routing::get(never))
            .route("/api/slow", axum::routing::post(never))
            .route("/api/v1/slow", axum::routing::get(never))
            .route("/fine", axum::routing::get(|| async { "fine" })),
        Duration::from_secs(2),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = crate::helpers::http_client(&base).build().unwrap();
    let get = |path: &str| client.get(format!("{base}{path}"));

    let (page, fine) = tokio::join!(
        get("/slow").header("Accept", "text/html").send(),
        get("/fine").send()
    );
    assert_eq!(fine.unwrap().text().await.unwrap(), "fine");
    let page = page.unwrap();
    assert_eq!(page.status(), 503);
    let text = page.text().await.unwrap();
    assert!(text.contains("within 2s (RequestTimeout)"), "{text}");

    let call = client
        .post(format!("{base}/api/slow"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(call.headers().contains_key("serverfnerror"));
    let (status, body) = error_of(call).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["TimedOut"].is_string(), "{body}");

    let (status, body) = error_of(get("/api/v1/slow").send().await.unwrap()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    server.abort();
}

/// A client that is not a browser: no `Origin`, no `Sec-Fetch-Site`, unless a test adds
/// them.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Signs in as `name` with `headers` added; the answer.
async fn sign_in_with(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client
        .post(format!("{}/api/auth/login", app.base))
        .header("Accept", "application/json")
        .form(&[("name", name), ("password", password)]);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

/// Who the server thinks `client` is, asked with `header` (every server function, reading
/// ones included, is a POST, and `client` sends no `Origin` of its own).
async fn whoami_with(
    app: &TestApp,
    client: &reqwest::Client,
    header: (&str, &str),
) -> Option<String> {
    let res = client
        .post(format!("{}/api/auth/me", app.base))
        .header("Accept", "application/json")
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(res).await;
    assert_eq!(status, 200, "{body}");
    body["name"].as_str().map(str::to_string)
}

#[tokio::test]
async fn a_state_change_without_origin_or_fetch_site_is_refused() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Admin).await;
    let client = bare_client();

    let res = sign_in_with(&app, &client, "alice", &password, &[]).await;
    assert_eq!(res.status(), 403);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("neither an Origin nor a Sec-Fetch-Site header"),
        "{text}"
    );
    let res = sign_in_with(
        &app,
        &client,
        "alice",
        &password,
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Origin"));
    let same_origin = ("Sec-Fetch-Site", "same-origin");
    assert_eq!(whoami_with(&app, &client, same_origin).await, None);

    // Sec-Fetch-Site alone is the browser vouching that the request is the site's own.
    let res = sign_in_with(
        &app,
        &client,
        "alice",
        &password,
        &[("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    crate::helpers::assert_signed_in(&res);
    assert_eq!(
        whoami_with(&app, &client, same_origin).await.as_deref(),
        Some("alice")
    );
    // Signed in, a server function is refused the same way without the headers.
    let res = client
        .post(format!("{}/api/networks/create", app.base))
        .header("Accept", "application/json")
        .form(&[
            ("cidr", "198.18.0.0/24"),
            ("name", "n"),
            ("description", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // The API reads no cookie and is not behind the check: a program sends neither.
    let secret = app.token_of("alice").await;
    let res = client
        .post(format!("{}/api/v1/networks", app.base))
        .bearer_auth(&secret)
        .json(&json!({"cidr": "198.18.1.0/24", "name": "api"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// Behind a proxy the Host header names the backend; with `PublicUrl` set, the origin the
/// browser saw is the one that counts.
#[tokio::test]
async fn with_a_public_url_only_its_origin_may_change_state() {
    let public = "http://ipam.example.test";
    let app = TestApp::spawn_with(|c: &mut Config| {
        c.public_url = Some(PublicUrl::parse_value(public).unwrap());
    })
    .await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = bare_client();
    // The request's own Host would have matched before PublicUrl was set.
    let own = app.base.clone();
    let res = sign_in_with(&app, &client, "alice", &password, &[("Origin", &own)]).await;
    assert_eq!(res.status(), 403);
    let res = sign_in_with(
        &app,
        &client,
        "alice",
        &password,
        &[("Origin", "https://ipam.example.test")],
    )
    .await;
    assert_eq!(res.status(), 403, "another scheme is another origin");
    let res = sign_in_with(&app, &client, "alice", &password, &[("Origin", public)]).await;
    crate::helpers::assert_signed_in(&res);
    assert_eq!(
        whoami_with(&app, &client, ("Origin", public))
            .await
            .as_deref(),
        Some("alice")
    );
}

/// The `nonce` of each `<script>` tag in `html`, `None` for a tag without one.
fn script_nonces(html: &str) -> Vec<Option<String>> {
    html.match_indices("<script")
        .map(|(at, _)| {
            let tag = &html[at..at + html[at..].find('>').unwrap_or(html.len() - at)];
            tag.split_once("nonce=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(nonce, _)| nonce.to_string())
        })
        .collect()
}

/// The nonce a page's `Content-Security-Policy` allows scripts with.
fn policy_nonce(res: &reqwest::Response) -> String {
    let policy = res.headers()["content-security-policy"].to_str().unwrap();
    let nonce = policy
        .split_once("'nonce-")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(nonce, _)| nonce.to_string());
    nonce.unwrap_or_else(|| panic!("no nonce in {policy}"))
}

#[tokio::test]
async fn each_page_allows_only_its_own_scripts_by_a_fresh_nonce() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    let mut seen = Vec::new();
    for path in [
        "/login",
        "/networks",
        "/networks",
        &format!("/networks/{net}"),
    ] {
        let res = admin
            .get(format!("{}{path}", app.base))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let policy = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        for directive in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        let nonce = policy_nonce(&res);
        let html = res.text().await.unwrap();
        let scripts = script_nonces(&html);
        assert!(!scripts.is_empty(), "{path} has its hydration script");
        for script in scripts {
            assert_eq!(script.as_deref(), Some(nonce.as_str()), "{path}");
        }
        assert!(!html.contains("style=\""), "{path} has an inline style");
        seen.push(nonce);
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "a nonce was used twice: {seen:?}"
    );

    // What is not a page runs nothing, should a browser render it.
    let csv = admin
        .get(format!("{}/networks/{net}/addresses.csv", app.base))
        .send()
        .await
        .unwrap();
    let res = app.call(&admin, "/api/auth/me", &[]).await;
    for res in [csv, res] {
        assert_eq!(
            res.headers()["content-security-policy"],
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
    }
}

/// Answers go out compressed as the client accepts (brotli or gzip), and smaller for it,
/// except the one that carries a secret beside text its caller chose: a new token's.
#[tokio::test]
async fn answers_are_compressed_except_a_new_tokens_secret() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let get = |path: &'static str, encoding: Option<&'static str>| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let mut req = admin.get(format!("{}{path}", app.base));
            if let Some(e) = encoding {
                req = req.header("Accept-Encoding", e);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let used = res
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            (used, res.bytes().await.unwrap().len())
        }
    };
    let (plain_encoding, plain) = get("/api/v1/openapi.json", None).await;
    assert_eq!(plain_encoding, None);
    let (gzip_encoding, gzipped) = get("/api/v1/openapi.json", Some("gzip")).await;
    assert_eq!(gzip_encoding.as_deref(), Some("gzip"));
    assert!(gzipped * 3 < plain, "{gzipped} of {plain} bytes");
    let (br_encoding, _) = get("/networks", Some("br, gzip")).await;
    assert_eq!(br_encoding.as_deref(), Some("br"));

    // A page goes out as brotli over a window of 2^16 bytes, not brotli's default 2^22
    // (whose buffer cost each answer more than compressing it), and reads back whole.
    let res = admin
        .get(format!("{}/networks", app.base))
        .header("Accept-Encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert!(res.headers().get("content-length").is_none());
    let vary: Vec<_> = res.headers().get_all("vary").iter().collect();
    assert_eq!(vary, ["accept-encoding"], "one Vary naming it once");
    let body = res.bytes().await.unwrap();
    assert_eq!(
        brotli_window_bits(body[0]),
        app::server::compression::BROTLI_WINDOW_BITS
    );
    let mut page = String::new();
    std::io::Read::read_to_string(
        &mut brotli_decompressor::Decompressor::new(&body[..], 4096),
        &mut page,
    )
    .unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page:.80}");
    // Whole: the stream decodes to its end, past the page's last tag to the data the
    // page streams after it.
    assert!(page.contains("</html>"), "{page:.80}");
    assert!(page.contains("Networks"), "{page:.80}");
    assert!(
        body.len() * 2 < page.len(),
        "{} of {}",
        body.len(),
        page.len()
    );

    let res = admin
        .post(format!("{}/api/tokens/create", app.base))
        .header("Accept", "application/json")
        .header("Accept-Encoding", "br, gzip")
        .form(&[("name", "billing")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    let made: serde_json::Value = res.json().await.unwrap();
    assert!(
        made["secret"].as_str().unwrap().starts_with("ipvet_"),
        "{made}"
    );
}

/// The window a brotli stream declares in its first bits (RFC 7932, 9.1), as a power of
/// two; only the sizes 16 to 24 an encoder chooses from are read.
fn brotli_window_bits(first: u8) -> i32 {
    if first & 1 == 0 {
        return 16;
    }
    match ((first >> 1) & 7, (first >> 4) & 7) {
        (0, 0) => 17,
        (0, m) => 8 + i32::from(m),
        (n, _) => 17 + i32::from(n),
    }
}

/// The site's bundle: a file named by its content is kept a year and sent precompressed
/// to a client that accepts it; any other file is revalidated, and answered 304 when
/// unchanged.
#[tokio::test]
async fn the_bundle_is_sent_precompressed_and_cached_by_its_content_name() {
    let root = tempfile::tempdir().unwrap();
    let pkg = root.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        root.path().join("hash.txt"),
        "js: Ab-9_c\nwasm: Zz0\ncss: Qq1\nmanifest: Mf2\n",
    )
    .unwrap();
    // A split build's chunks are named by content in its manifest.
    std::fs::write(
        pkg.join("__wasm_split_manifest.Mf2.json"),
        r#"{"__page_view": ["chunk_3.Ch4", "split___page_view_9.Pg5"]}"#,
    )
    .unwrap();
    std::fs::write(pkg.join("chunk_3.Ch4.wasm"), b"chunk").unwrap();
    std::fs::write(pkg.join("chunk_4.wasm"), b"unnamed chunk").unwrap();
    let wasm = vec![7u8; 4096];
    std::fs::write(pkg.join("ipvet.Zz0.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("ipvet.Zz0.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("ipvet.Zz0.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(pkg.join("ipvet.css"), "body{}").unwrap();
    let site: axum::Router = app::server::site::bundle(root.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, site).await });
    let client = reqwest::Client::new();
    let get = |path: &str, encoding: &str| {
        client
            .get(format!("{base}{path}"))
            .header("Accept-Encoding", encoding)
            .send()
    };

    for (encoding, body) in [("br", &b"brotli bytes"[..]), ("gzip", &b"gzip bytes"[..])] {
        let res = get("/pkg/ipvet.Zz0.wasm", encoding).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-encoding"], encoding);
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(&res.bytes().await.unwrap()[..], body);
    }
    let res = get("/pkg/ipvet.Zz0.wasm", "identity").await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.bytes().await.unwrap().to_vec(), wasm);

    let res = get("/pkg/ipvet.css", "br").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let modified = res.headers()["last-modified"].clone();
    let again = client
        .get(format!("{base}/pkg/ipvet.css"))
        .header("If-Modified-Since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["cache-control"], "no-cache");

    for (path, policy) in [
        (
            "/pkg/chunk_3.Ch4.wasm",
            "public, max-age=31536000, immutable",
        ),
        ("/pkg/chunk_4.wasm", "no-cache"),
    ] {
        let res = get(path, "identity").await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], policy, "{path}");
    }

    let missing = get("/pkg/ipvet.Old1.wasm", "br").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("cache-control").is_none());
    server.abort();
}
