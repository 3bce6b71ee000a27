//! Hostile and careless input (issue 17): whatever a client sends, the server answers, and
//! never with a dropped or hung connection.

use app::model::Role;

use crate::helpers::TestApp;

/// A day past which no date can be counted once more used to panic the audit log's
/// query, and the page that asked for it never finished.
#[tokio::test]
async fn the_last_representable_day_is_a_valid_audit_filter() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/dnsbl/add",
            &[("zone", "bl.audit.test"), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call_fn(&admin, "/api/audit/list", &[("to", "9999-12-31")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["entries"].as_array().is_some_and(|e| !e.is_empty()),
        "the zone's addition is in the log: {body}"
    );
    let res = admin
        .get(format!("{}/audit?to=9999-12-31", app.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("</html>"), "the page is whole: {html}");
    assert!(html.contains(r#"data-action="dnsbl.add""#), "{html}");
}

/// Any handler that panics (a bug) answers 500 with a message, the connection stays
/// usable, and the server goes on serving.
#[tokio::test]
async fn a_panicking_handler_answers_500() {
    let router = server::startup::outer_layers(
        axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if std::hint::black_box(true) {
                        panic!("a bug");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", axum::routing::get(|| async { "fine" })),
        false,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = crate::helpers::http_client(&base).build().unwrap();
    let res = client.get(format!("{base}/boom")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert!(res.text().await.unwrap().contains("Internal error"));
    let res = client.get(format!("{base}/fine")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "fine");
    server.abort();
}

/// Forty wrong passwords for one user sent at once used to be checked all forty (and one
/// right password among thirty wrong ones signed in): an attempt is counted from the
/// moment it is admitted, so the ninth at once is refused as the ninth in a row is.
#[tokio::test]
async fn concurrent_wrong_passwords_are_refused_past_the_lockout() {
    use app::server::auth::throttle::LOCK_AFTER;
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    let answers = futures::future::join_all((0..40).map(|_| {
        app.call_fn(
            &client,
            "/api/auth/login",
            &[("name", "alice"), ("password", "wrong wrong wrong")],
        )
    }))
    .await;
    let refused = answers.iter().filter(|(s, _)| *s == 429).count();
    let wrong = answers.iter().filter(|(s, _)| *s == 401).count();
    assert_eq!(
        (wrong, refused),
        (LOCK_AFTER as usize, 40 - LOCK_AFTER as usize),
        "{answers:?}"
    );
    let (status, body) = app
        .call_fn(
            &client,
            "/api/auth/login",
            &[("name", "alice"), ("password", &password)],
        )
        .await;
    assert_eq!(
        status, 429,
        "the right password is refused while locked: {body}"
    );
}

/// A 4 MiB user name used to be looked up, logged whole and kept as a throttle key; an
/// over-long password reached Argon2.
#[tokio::test]
async fn over_long_sign_in_input_is_refused_before_anything_else() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let long_name = "n".repeat(4 << 20);
    let (status, body) = app
        .call_fn(
            &client,
            "/api/auth/login",
            &[("name", &long_name), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("at most 64 characters"), "{body}");
    let long_password = "p".repeat(2000);
    let (status, body) = app
        .call_fn(
            &client,
            "/api/auth/login",
            &[("name", "alice"), ("password", &long_password)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("at most 1024 characters"),
        "{body}"
    );
}

/// Each Argon2 job holds 19 MiB: a burst of sign-ins runs a few at once, and what cannot
/// even wait its turn is refused at once instead of queueing.
#[tokio::test]
async fn a_burst_of_sign_ins_runs_a_bounded_number_of_argon2_jobs() {
    use app::server::auth::password::VERIFY_AT_ONCE;
    let app = TestApp::spawn().await;
    let client = app.client();
    let names: Vec<String> = (0..150).map(|i| format!("nobody{i}")).collect();
    let answers = futures::future::join_all(names.iter().map(|name| async {
        app.call_fn(
            &client,
            "/api/auth/login",
            &[("name", name), ("password", "wrong wrong wrong")],
        )
        .await
    }))
    .await;
    let busy = answers
        .iter()
        .filter(|(s, b)| *s == 429 && b.to_string().contains("busy checking other passwords"))
        .count();
    let wrong = answers.iter().filter(|(s, _)| *s == 401).count();
    assert_eq!(busy + wrong, names.len(), "{answers:?}");
    assert!(busy > 0, "150 at once overflow the queue of 64");
    let peak = app.state.password_checks.peak_at_once();
    assert!(
        (1..=VERIFY_AT_ONCE).contains(&peak),
        "{peak} Argon2 verifications ran at once"
    );
}

/// A note a user typed as `=HYPERLINK(…)` ran as a formula when a viewer opened the export
/// in a spreadsheet: the export guards it with a `'`, and the import takes the guard off.
#[tokio::test]
async fn csv_cells_that_look_like_formulas_are_exported_as_text_and_read_back() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    let formula = r#"=HYPERLINK("http://198.18.9.9/","click")"#;
    let csv = format!(
        "address,status,owner,hostname,note\n198.18.0.7,reserved,@owner,,\"{}\"\n",
        formula.replace('"', "\"\"")
    );
    app.import_csv(&admin, &net, &csv).await;
    let export = app.export_csv(&admin, &net).await;
    let line = export
        .lines()
        .find(|l| l.starts_with("198.18.0.7,"))
        .unwrap_or_else(|| panic!("{export}"));
    assert!(line.contains(",'@owner,"), "{line}");
    assert!(line.contains(r#""'=HYPERLINK(""http"#), "{line}");
    let copy = app.new_network(&admin, "198.18.1.0/24").await;
    let (status, report) = app
        .call_fn(
            &admin,
            "/api/addresses/import",
            &[
                ("network_id", &copy),
                ("csv", &export.replace("198.18.0.", "198.18.1.")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let (_, detail) = app
        .call_fn(
            &admin,
            "/api/addresses/detail",
            &[("address", "198.18.1.7")],
        )
        .await;
    assert_eq!(detail["address"]["owner"], "@owner", "{detail}");
    assert_eq!(detail["address"]["note"], formula, "{detail}");
}

/// A search past SQLite's LIKE pattern limit answered 500: every list that searches caps
/// the text, with the same clear 400 on every entry point.
#[tokio::test]
async fn over_long_searches_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    let long = "w".repeat(60_000);
    for (path, form) in [
        (
            "/api/addresses/page",
            vec![("network_id", net.as_str()), ("q", long.as_str())],
        ),
        ("/api/problems/page", vec![("q", long.as_str())]),
    ] {
        let (status, body) = app.call_fn(&admin, path, &form).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.to_string().contains("at most 256 characters"),
            "{path}: {body}"
        );
    }
    // Just within the cap, the same search is an ordinary one.
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/page",
            &[("network_id", &net), ("q", &"w".repeat(256))],
        )
        .await;
    assert_eq!(
        (status, body["rows"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    let secret = app.token_of("root").await;
    let res = crate::helpers::http_client(&app.base)
        .build()
        .unwrap()
        .get(format!(
            "{}/api/v1/problems?q={}",
            app.base,
            "w".repeat(5000)
        ))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at most 256 characters"));
}

/// Every response carries the security headers; pages and answers that hold a user's data
/// are never cached, the site's bundle may be; HSTS only where the site is on HTTPS.
#[tokio::test]
async fn responses_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    for path in [
        "/login".to_string(),
        "/".to_string(),
        format!("/networks/{net}/addresses.csv"),
        "/api/v1/openapi.json".to_string(),
    ] {
        let res = admin
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "{path}");
    }
    // A server function's answer, as the hydrated pages get it.
    let res = app.call(&admin, "/api/auth/me", &[]).await;
    assert_eq!(res.headers()["cache-control"], "no-store");

    let https = TestApp::spawn_with(|c| c.secure_cookies = true).await;
    let res = crate::helpers::http_client(&https.base)
        .build()
        .unwrap()
        .get(format!("{}/login", https.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

/// The broadcast and network address of a /30 could be reserved or allocated through
/// change operations, and the counts then said 3 allocated + 1 reserved of 2 allocatable.
/// Every operation refuses an address that is not allocatable in its network; tiny IPv4
/// and IPv6 networks fill exactly to their size, and the counts match the rows.
#[tokio::test]
async fn tiny_networks_fill_to_their_size_through_every_operation() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let act = |what: &'static str, form: Vec<(&'static str, String)>| {
        let (app, admin) = (&app, &admin);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_fn(admin, &format!("/api/addresses/{what}"), &form)
                .await
        }
    };
    // (network, addresses that are not allocatable, addresses that are)
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "198.18.0.0/30",
            &["198.18.0.0", "198.18.0.3"],
            &["198.18.0.1", "198.18.0.2"],
        ),
        ("198.18.1.0/31", &[], &["198.18.1.0", "198.18.1.1"]),
        ("198.18.2.7/32", &[], &["198.18.2.7"]),
        ("2001:2::/127", &[], &["2001:2::", "2001:2::1"]),
    ];
    for (cidr, never, usable) in cases {
        let net = app.new_network(&admin, cidr).await;
        for ip in never {
            let ip = ip.to_string();
            for (what, form) in [
                (
                    "reserve",
                    vec![("address", ip.clone()), ("note", "x".to_string())],
                ),
                ("release", vec![("address", ip.clone())]),
                ("unreserve", vec![("address", ip.clone())]),
                (
                    "force_free",
                    vec![("address", ip.clone()), ("reason", "x".to_string())],
                ),
                ("bulk_release", vec![("addresses[]", ip.clone())]),
                (
                    "allocate",
                    vec![
                        ("network_id", net.clone()),
                        ("address", ip.clone()),
                        ("owner", "o".to_string()),
                        ("hostname", String::new()),
                        ("note", String::new()),
                    ],
                ),
            ] {
                let (status, body) = act(what, form).await;
                assert!(
                    status == 400 || status == 409,
                    "{cidr} {what} {ip}: {status} {body}"
                );
            }
        }
        // Half reserved, the rest allocated: exactly the network's size.
        for (i, ip) in usable.iter().enumerate() {
            let (status, body) = if i % 2 == 0 {
                act(
                    "reserve",
                    vec![("address", ip.to_string()), ("note", "kept".into())],
                )
                .await
            } else {
                act(
                    "allocate",
                    vec![
                        ("network_id", net.clone()),
                        ("address", ip.to_string()),
                        ("owner", "o".into()),
                        ("hostname", String::new()),
                        ("note", String::new()),
                    ],
                )
                .await
            };
            assert_eq!(status, 200, "{cidr} {ip}: {body}");
        }
        let (status, body) = act(
            "allocate",
            vec![
                ("network_id", net.clone()),
                ("owner", "o".into()),
                ("hostname", String::new()),
                ("note", String::new()),
            ],
        )
        .await;
        assert_eq!(status, 409, "{cidr} is full: {body}");
        let (_, got) = app
            .call_fn(&admin, "/api/networks/get", &[("network_id", &net)])
            .await;
        assert_eq!(
            got["allocatable"],
            usable.len().to_string(),
            "{cidr}: {got}"
        );
        assert_eq!(got["free"], "0", "{cidr}: {got}");
        assert_eq!(got["used_percent"], 100.0, "{cidr}: {got}");
    }
    crate::helpers::assert_counts_match_rows(&app.state.db).await;
}

/// `::/0` was accepted and showed 0 allocatable and "NaN" % used: its 2^128 addresses do
/// not fit any counter. It is refused; the largest networks that do fit count right.
#[tokio::test]
async fn the_largest_networks_count_right_and_the_whole_ipv6_space_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let (status, body) = app.create_network(&admin, "::/0").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("whole IPv6 address space"),
        "{body}"
    );
    // One after the other: IPv4 addresses are stored as IPv4-mapped IPv6, inside ::/1.
    for (cidr, allocatable) in [
        ("::/1", (1u128 << 127).to_string()),
        ("0.0.0.0/0", ((1u128 << 32) - 2).to_string()),
    ] {
        let (status, net) = app.create_network(&admin, cidr).await;
        assert_eq!(status, 200, "{cidr}: {net}");
        assert_eq!(net["allocatable"], allocatable, "{cidr}: {net}");
        assert_eq!(net["free"], allocatable, "{cidr}: {net}");
        assert_eq!(net["used_percent"], 0.0, "{cidr}: {net}");
        let id = net["id"].to_string();
        let (status, body) = app
            .call_fn(&admin, "/api/networks/delete", &[("network_id", &id)])
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A connection sending one header line every few seconds stayed open for as long as it
/// kept sending: a client gets a bounded time for its headers and is then cut off, while
/// ordinary clients are served all along.
#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    use server::startup::HEADER_READ_TIMEOUT;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let others = app.client();
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /login HTTP/1.1\r\nHost: ipvet\r\n")
        .await
        .unwrap();
    // A line every half second, for up to four times the limit.
    let most = 8 * HEADER_READ_TIMEOUT.as_secs();
    let mut cut = false;
    for i in 0..most {
        let res = others
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "an ordinary client is served");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut buf = [0u8; 256];
        // The server's side: closed (end of stream, or a reset), or an error answer.
        match tokio::time::timeout(std::time::Duration::from_millis(10), slow.read(&mut buf)).await
        {
            Ok(Ok(_)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            Err(_still_open) => {}
        }
        if slow
            .write_all(format!("X-Trickle-{i}: still here\r\n").as_bytes())
            .await
            .is_err()
        {
            cut = true;
            break;
        }
    }
    assert!(cut, "the trickling client was never cut off");
}

/// A 10 MiB network description, a 100,000-character reserve note through the page and a
/// million-character force-free reason were all stored: one set of limits holds on every
/// entry point, the page's and the API's numbers the same, each refusal naming its field.
#[tokio::test]
async fn free_text_is_bounded_alike_on_every_entry_point() {
    use app::server::limits::{DESCRIPTION, NOTE, REASON};
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let huge = "d".repeat(10 << 20);
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/networks/create",
            &[
                ("cidr", "198.18.0.0/24"),
                ("name", "n"),
                ("description", &huge),
            ],
        )
        .await;
    assert_eq!(
        status,
        400,
        "{}",
        &body.to_string()[..200.min(body.to_string().len())]
    );
    assert!(body
        .to_string()
        .contains("description may have at most 2000"));
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/networks/edit",
            &[
                ("network_id", &net),
                ("name", "n"),
                ("description", &"d".repeat(DESCRIPTION + 1)),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");

    let too_long_note = "n".repeat(100_000);
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/reserve",
            &[("address", "198.18.0.5"), ("note", &too_long_note)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("note may have at most 2000"),
        "{body}"
    );
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/reserve",
            &[("address", "198.18.0.5"), ("note", &"n".repeat(NOTE))],
        )
        .await;
    assert_eq!(status, 200, "exactly at the limit: {body}");
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[
                ("address", "198.18.0.5"),
                ("reason", &"r".repeat(1_000_000)),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body.to_string().contains("reason may have at most 2000"),
        "{body}"
    );

    // The API: the same numbers, the field named.
    let secret = app.token_of("root").await;
    let api = crate::helpers::http_client(&app.base).build().unwrap();
    for (path, body, field) in [
        (
            "198.18.0.6/reserve",
            serde_json::json!({"note": "n".repeat(NOTE + 1)}),
            "note",
        ),
        (
            "198.18.0.5/force-free",
            serde_json::json!({"reason": "r".repeat(REASON + 1)}),
            "reason",
        ),
    ] {
        let res = api
            .post(format!("{}/api/v1/addresses/{path}", app.base))
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let answer: serde_json::Value = res.json().await.unwrap();
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains("at most 2000"),
            "{path}: {answer}"
        );
    }
}

/// Behind a reverse proxy every client had the proxy's address: 8 bad tries locked the
/// account for everyone, and the audit log named the proxy. With `TrustedProxies`, the
/// address the proxy forwards for is the client's; without, the headers are ignored.
#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_an_untrusted_one_does_not() {
    use app::server::auth::throttle::LOCK_AFTER;
    use app::server::config::{ConfigValue, NetworkList};
    let attempt = |app: &TestApp, from: &'static str, password: String| {
        let client = app.client();
        let url = format!("{}/api/auth/login", app.base);
        async move {
            client
                .post(url)
                .header("Accept", "application/json")
                .header("X-Forwarded-For", from)
                .form(&[("name", "alice"), ("password", password.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let proxied = TestApp::spawn_with(|c| {
        c.trusted_proxies = NetworkList::parse_value("127.0.0.1").unwrap();
    })
    .await;
    let password = proxied.add_user("alice", Role::Viewer).await;
    for _ in 0..LOCK_AFTER {
        assert_eq!(
            attempt(&proxied, "198.18.0.9", "wrong wrong wrong".into()).await,
            401
        );
    }
    assert_eq!(attempt(&proxied, "198.18.0.9", password.clone()).await, 429);
    // Another client behind the same proxy is not locked out.
    assert_eq!(
        attempt(&proxied, "198.18.0.10", password.clone()).await,
        200
    );
    // The audit log names the client, not the proxy.
    let admin = proxied.client();
    let root = proxied.add_user("root", Role::Admin).await;
    let res = admin
        .post(format!("{}/api/auth/login", proxied.base))
        .header("Accept", "application/json")
        .header("X-Forwarded-For", "198.18.0.20")
        .form(&[("name", "root"), ("password", root.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = admin
        .post(format!("{}/api/dnsbl/add", proxied.base))
        .header("Accept", "application/json")
        .header("X-Forwarded-For", "198.18.0.20")
        .form(&[("zone", "bl.proxy.test"), ("disabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, audit) = proxied
        .call_fn(&admin, "/api/audit/list", &[("action", "dnsbl.add")])
        .await;
    assert_eq!(audit["entries"][0]["client_addr"], "198.18.0.20", "{audit}");

    // Without TrustedProxies the header is anyone's word, and ignored.
    let direct = TestApp::spawn().await;
    let password = direct.add_user("alice", Role::Viewer).await;
    for _ in 0..LOCK_AFTER {
        assert_eq!(
            attempt(&direct, "198.18.0.9", "wrong wrong wrong".into()).await,
            401
        );
    }
    assert_eq!(attempt(&direct, "198.18.0.10", password).await, 429);
}
