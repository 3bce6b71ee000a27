//! Signing in and out, sessions, throttling and cross-site refusal.

use std::time::Duration;

use app::model::Role;
use serde_json::json;

use crate::helpers::{assert_signed_in, error_of, TestApp};

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    let wrong = error_of(app.login(&client, "alice", "not her password").await).await;
    let unknown = error_of(app.login(&client, "mallory", "not her password").await).await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.1, json!("InvalidCredentials"));
    assert_eq!(app.whoami(&client).await, None);
}

#[tokio::test]
async fn right_password_signs_in_with_a_strict_http_only_cookie() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Operator).await;
    let client = app.client();
    let res = app.login(&client, "alice", &password).await;
    assert_signed_in(&res);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("ipvet_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "SecureCookies is off in this test: {cookie}"
    );
    let me: serde_json::Value = app
        .call(&client, "/api/auth/me", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "alice");
    assert_eq!(me["role"], "operator");
}

#[tokio::test]
async fn secure_cookies_by_default() {
    let app = TestApp::spawn_with(|c| c.secure_cookies = true).await;
    let password = app.add_user("alice", Role::Viewer).await;
    let res = app.login(&app.client(), "alice", &password).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn sign_in_gets_a_new_session_id() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    let first = app.login(&client, "alice", &password).await;
    let first = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let second = app.login(&client, "alice", &password).await;
    let second = second.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(first, second, "the session id must change at sign-in");
}

#[tokio::test]
async fn logout_kills_the_old_cookie() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    let res = app.login(&client, "alice", &password).await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(app.whoami(&client).await.as_deref(), Some("alice"));

    let res = app.call(&client, "/api/auth/logout", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/login");

    // Replay the old cookie by hand, as a thief who copied it would.
    let thief = crate::helpers::http_client(&app.base).build().unwrap();
    let res = thief
        .post(format!("{}/api/dashboard/summary", app.base))
        .header("Accept", "application/json")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = TestApp::spawn_with(|c| c.session_idle_timeout = Duration::from_secs(2)).await;
    let client = app.signed_in("alice", Role::Viewer).await;
    assert_eq!(app.whoami(&client).await.as_deref(), Some("alice"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.whoami(&client).await, None);
}

#[tokio::test]
async fn sessions_end_after_their_lifetime_however_active() {
    let app = TestApp::spawn_with(|c| c.session_lifetime = Duration::from_secs(3)).await;
    let client = app.signed_in("alice", Role::Viewer).await;
    for _ in 0..3 {
        assert_eq!(app.whoami(&client).await.as_deref(), Some("alice"));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(app.whoami(&client).await, None);
}

#[tokio::test]
async fn repeated_failures_are_slowed_then_refused_for_that_name_and_address() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    for _ in 0..app::server::auth::throttle::LOCK_AFTER {
        let (status, _) = error_of(app.login(&client, "alice", "guess guess guess").await).await;
        assert_eq!(status, 401);
    }
    // Locked: even the right password is refused, with a message saying why and how long.
    let (status, body) = error_of(app.login(&client, "alice", &password).await).await;
    assert_eq!(status, 429);
    let message = body["TooManyRequests"].as_str().unwrap();
    assert!(message.contains("Too many failed sign-ins"), "{message}");
    assert!(message.contains("15 minutes"), "{message}");

    // Another client address is not locked out.
    let other = crate::helpers::http_client(&app.base)
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .cookie_store(true)
        .build()
        .unwrap();
    assert_signed_in(&app.login(&other, "alice", &password).await);
}

#[tokio::test]
async fn a_disabled_user_loses_rights_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    assert_eq!(
        app.call(&viewer, "/api/dashboard/summary", &[])
            .await
            .status(),
        200
    );

    let id = app::server::admin::users::find_by_name(&app.state.db, "vera")
        .await
        .unwrap()
        .id
        .to_string();
    let res = app
        .call(
            &admin,
            "/api/users/set_disabled",
            &[("user_id", &id), ("disabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.call(&viewer, "/api/dashboard/summary", &[])
            .await
            .status(),
        401
    );
    // And cannot sign in again.
    let (status, _) = error_of(
        app.login(&app.client(), "vera", "vera pass phrase 123")
            .await,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_demoted_admin_loses_admin_rights_at_once() {
    let app = TestApp::spawn().await;
    let root = app.signed_in("root", Role::Admin).await;
    let other = app.signed_in("second", Role::Admin).await;
    assert_eq!(app.call(&other, "/api/users/list", &[]).await.status(), 200);
    let id = app::server::admin::users::find_by_name(&app.state.db, "second")
        .await
        .unwrap()
        .id
        .to_string();
    assert_eq!(
        app.call(
            &root,
            "/api/users/set_role",
            &[("user_id", &id), ("role", "viewer")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(app.call(&other, "/api/users/list", &[]).await.status(), 403);
    assert_eq!(
        app.call(&other, "/api/dashboard/summary", &[])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = TestApp::spawn().await;
    let password = app.add_user("alice", Role::Viewer).await;
    let client = app.client();
    let post = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut req = client
            .post(format!("{}/api/auth/login", app.base))
            .header("Accept", "application/json")
            .form(&[("name", "alice"), ("password", password.as_str())]);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(s) = fetch_site {
            req = req.header("Sec-Fetch-Site", s);
        }
        req.send()
    };
    assert_eq!(
        post(Some("http://evil.example"), None)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(post(Some("null"), None).await.unwrap().status(), 403);
    assert_eq!(post(None, Some("cross-site")).await.unwrap().status(), 403);
    assert_eq!(app.whoami(&client).await, None);
    // The same origin, as the app's own pages send it, is accepted.
    let own = format!("http://{}", app.addr);
    assert_signed_in(&post(Some(&own), Some("same-origin")).await.unwrap());
    assert_eq!(app.whoami(&client).await.as_deref(), Some("alice"));
}
