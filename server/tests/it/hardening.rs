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
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = crate::helpers::http_client().build().unwrap();
    let res = client.get(format!("{base}/boom")).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert!(res.text().await.unwrap().contains("Internal error"));
    let res = client.get(format!("{base}/fine")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "fine");
    server.abort();
}
